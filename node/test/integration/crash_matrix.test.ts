/**
 * The crash matrix (issue 11, reliability campaign): metro-pd and county-da run as real node
 * processes over real mutual TLS; in each case one of them is restarted with a crash point
 * armed (`CASEWAY_CRASH_POINT=<point>:<n>`, `node/src/operations/crash_points.ts`), an exchange
 * is started — a share, a live revision, an import or a revocation — and the armed node kills
 * itself with SIGKILL at the n-th time it reaches the point. Then it is started again, the
 * exchange is driven to its end, and the invariants are checked:
 *
 * - no receipted share lost: every share delivered so far is still delivered on metro-pd and
 *   complete (or revoked, if it was) on county-da, and the new one's bytes are the bytes sent;
 * - no chunk or job done twice: a chunk county-da recorded as delivered at the crash is not pulled again nor
 *   written again; each arrival, completion, receipt, revision, revocation, import and
 *   notification is on the audit trail exactly once, and the e-mail goes out once (twice, with
 *   one Message-ID, only when the crash fell between the SMTP answer and its record);
 * - no evidence visible before it is complete: at the crash, every external case county-da
 *   shows as complete has all its chunks, and one still receiving refuses downloads;
 * - nothing accepted after a revocation: a revoked share refuses downloads on county-da and
 *   makes no more revisions on metro-pd;
 * - every audit chain verifies (read in-process after each case; `caseway audit verify`, the
 *   command, on both node directories at the end of each group).
 *
 * Cases run in groups, each on one pair of node directories reused from case to case, the
 * groups in parallel (`CASEWAY_CRASH_MATRIX_GROUPS`, default 2). The list of points is
 * `CRASH_POINTS`; the cases are below.
 */
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { LocalApiError, LocalClient } from '../../../client/local_client.ts'
import { generatedContent } from '../../../testkit/content.ts'
import { startSmtpServer, type SmtpReceiver } from '../../../testkit/smtp_receiver.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { caseway } from '../../../test/support/cli.ts'
import { CRASH_POINT_VARIABLE, CRASH_POINTS, type CrashPointName } from '../../src/operations/crash_points.ts'
import { verifyStoredAuditChain } from '../../src/audit/audit_trail.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'
import { blobFiles, chunkRequests, pair, startOrg, type BlobFile, type OrgProcess, type StartOrgOptions } from '../support/processes.ts'

type Side = 'sender' | 'receiver'
type Scenario = 'share' | 'revise' | 'import' | 'revoke'

interface CrashCase {
  scenario: Scenario
  side: Side
  point: CrashPointName
  nth: number
  /** The other node is stopped while the armed one works (its calls fail and are retried). */
  partnerDown?: boolean
}

// The whole matrix is one bounded run (see the file comment); tap's default per-file limit is 2 minutes.
t.setTimeout(30 * 60_000)

const transfers = { chunkSize: 65_536 as const, parallelChunks: 2, retryBaseMs: 100, retryMaxMs: 400 }
const CHUNKS = 4
const FILE_SIZE = CHUNKS * 65_536 - 1000
const RECIPIENT = 'intake@county-da.example'
const GROUPS = Number(process.env['CASEWAY_CRASH_MATRIX_GROUPS'] ?? 2)
const WAIT = { timeoutMs: 90_000, intervalMs: 100 }
/** A node start on a busy machine can take far longer than on a quiet one: a bound, not a target. */
const START_TIMEOUT_MS = 120_000

/** `points` × `nths` on `side` in `scenario`. */
function cases(scenario: Scenario, side: Side, points: readonly CrashPointName[], nths: readonly number[] = [1], extra: Partial<CrashCase> = {}): CrashCase[] {
  return points.flatMap((point) => nths.map((nth) => ({ scenario, side, point, nth, ...extra })))
}

/** The matrix. Points reached more than once in a scenario are crashed at several occurrences. */
const MATRIX: CrashCase[] = [
  // A new share: upload, share, offer, pull, verify, receipt, notification.
  ...cases('share', 'sender', [
    'evidence.chunks-stored',
    'share.created',
    'offer.before-send',
    'offer.answered',
    'offer.recorded',
    'receipt.verified',
    'receipt.recorded',
  ]),
  ...cases('share', 'sender', ['chunk.opened', 'chunk.served'], [1, 2, 4]),
  ...cases('share', 'sender', ['blob.written', 'blob.renamed'], [1, 3]),
  ...cases('share', 'sender', ['job.claimed', 'job.handled', 'job.completed', 'outbox.after-consumer'], [1]),
  ...cases('share', 'sender', ['store.before-commit', 'store.after-commit', 'outbox.after-commit', 'audit.appended'], [1, 2, 3]),
  ...cases('share', 'sender', ['job.failed'], [1], { partnerDown: true }),
  ...cases('share', 'receiver', [
    'offer.verified',
    'offer.stored',
    'fetch.started',
    'fetch.chunks-pulled',
    'verify.checked',
    'receipt.signed',
    'fetch.completed',
    'receipt.before-send',
    'receipt.sent',
    'notification.queued',
    'notification.before-send',
    'notification.delivered',
    'notification.recorded',
  ]),
  ...cases('share', 'receiver', ['fetch.chunk-stored', 'blob.written', 'blob.renamed'], [1, 2, 4]),
  ...cases('share', 'receiver', ['pull.batch-stored']),
  ...cases('share', 'receiver', ['job.claimed', 'job.handled', 'job.completed'], [1, 2, 3]),
  ...cases('share', 'receiver', ['store.before-commit', 'store.after-commit', 'outbox.after-commit', 'audit.appended', 'outbox.after-consumer'], [1, 2, 3]),
  // A live revision: evidence added to a shared case is offered as the next revision.
  ...cases('revise', 'sender', [
    'evidence.chunks-stored',
    'revision.consumer-revised',
    'revision.stored',
    'offer.before-send',
    'offer.answered',
    'receipt.recorded',
  ]),
  ...cases('revise', 'sender', ['chunk.served'], [1, 2]),
  ...cases('revise', 'receiver', ['offer.stored', 'revision-fetch.checked', 'revision-fetch.verified', 'revision-fetch.receipt-sent']),
  ...cases('revise', 'receiver', ['revision-fetch.chunk-stored'], [1, 2]),
  // Import of a complete external case.
  ...cases('import', 'receiver', ['import.checked', 'import.committed', 'store.before-commit', 'audit.appended']),
  // Revocation: stored, sent, taken.
  ...cases('revoke', 'sender', ['revocation.stored', 'revocation.before-send', 'revocation.sent']),
  ...cases('revoke', 'receiver', ['revocation.verified', 'revocation.accepted']),
]

/** What a group knows of its latest share. */
interface Current {
  caseId: string
  shareId: string
  externalId: string
  revision: number
  /** Evidence names uploaded to the case, and the bytes' digests. */
  evidence: Map<string, string>
  imported: boolean
}

interface Delivered {
  shareId: string
  externalId: string
  revoked: boolean
}

interface Group {
  index: number
  metro: OrgProcess
  county: OrgProcess
  /** County-da's intake user (the recipient of every share), who imports. */
  intake: LocalClient
  smtp: SmtpReceiver
  current?: Current
  delivered: Delivered[]
  serial: number
}

/** The audit chains of `org` that do not verify, as `caseway audit verify` reads them. */
async function brokenChains(org: OrgProcess): Promise<string[]> {
  return inStore(org, async (store) => {
    const broken: string[] = []
    for (const caseId of await store.audit.listCaseIds()) {
      const result = await verifyStoredAuditChain(store, caseId)
      if (!result.ok) broken.push(`${org.org} ${result.caseId} ${result.seq} ${result.reason}`)
    }
    return broken
  })
}

/** `promise`, or 'timeout' once `ms` have passed (a bound, not a timed assertion). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** Reads `org`'s database read-only (next to its running process, or after it died). */
async function inStore<T>(org: OrgProcess, read: (store: Awaited<ReturnType<typeof openSqliteMetadataStore>>) => Promise<T>): Promise<T> {
  const store = await openSqliteMetadataStore(join(org.node.config.dir, org.node.config.storage.database), { readOnly: true })
  try {
    return await read(store)
  } finally {
    await store.close()
  }
}

/** Runs `fn`, ignoring a failure when `armed` is the node it talks to (the request may die with it). */
async function tolerate<T>(armed: boolean, fn: () => Promise<T>): Promise<T | undefined> {
  if (!armed) return fn()
  return fn().catch(() => undefined)
}

async function startGroup(t: Test, index: number): Promise<Group> {
  const smtp = await startSmtpServer(t)
  const countySettings = {
    transfers,
    notifications: { smtp: { host: smtp.host, port: smtp.port, from: 'Caseway <caseway@county-da.example>' }, allowedDomains: ['county-da.example'] },
  } as StartOrgOptions['settings']
  const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers }, startTimeoutMs: START_TIMEOUT_MS })
  const county = await startOrg(t, { org: 'county-da', name: 'County DA', settings: countySettings, startTimeoutMs: START_TIMEOUT_MS })
  await pair(metro, county)
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)
  // Only a recipient may import (an admin sees an external case's metadata only, CW-LOC-001).
  await county.api.createUser({ id: 'intake', name: 'Intake', email: RECIPIENT })
  const { token } = await county.api.createToken('intake', 'member')
  const intake = new LocalClient({ baseUrl: county.process.localUrl, token })
  return { index, metro, county, intake, smtp, delivered: [], serial: 0 }
}

/** Steps of each scenario, re-entrant: run once against the armed node, then again after its restart. */
interface Drive {
  /** Starts (or resumes) the exchange; `armedSide` is the node that may die under the requests. */
  step(armedSide: Side | undefined): Promise<void>
  /** Resolves once the exchange has finished on both sides. */
  finished(): Promise<void>
}

function driveShare(group: Group, label: string): Drive & { state: Partial<Current> } {
  const { metro, county } = group
  const state: Partial<Current> & { evidence: Map<string, string> } = { evidence: new Map(), revision: 1, imported: false }
  const name = `${label}.mp4`
  const bytes = () => generatedContent(FILE_SIZE, label)
  return {
    state,
    async step(armed) {
      const onMetro = armed === 'sender'
      state.caseId ??= (await tolerate(onMetro, () => metro.api.createCase({ caseNumber: label, title: `Case ${label}` })))?.id
      if (state.caseId === undefined) return
      const caseId = state.caseId
      const listed = await tolerate(onMetro, () => metro.api.listEvidence(caseId))
      if (listed === undefined) return
      if (!listed.some((e) => e.name === name)) {
        const uploaded = await tolerate(onMetro, () => metro.api.uploadEvidence(caseId, { name, category: 'video', mediaType: 'video/mp4' }, bytes()))
        if (uploaded === undefined) return
        state.evidence.set(name, uploaded.digest)
      } else {
        state.evidence.set(name, listed.find((e) => e.name === name)!.digest)
      }
      const shares = await tolerate(onMetro, () => metro.api.listShares(caseId))
      if (shares === undefined) return
      if (shares.length === 0) {
        const share = await tolerate(onMetro, () =>
          metro.api.createShare({ caseId, partnerOrg: 'county-da', scope: 'case', message: `token ${label}`, recipients: [{ kind: 'email', id: RECIPIENT }] }),
        )
        if (share !== undefined) state.shareId = share.id
      } else {
        state.shareId = shares[0]!.id
      }
    },
    async finished() {
      const shareId = await waitFor('the share id', async () => state.shareId, WAIT)
      await waitFor(
        `${label}: delivered on metro-pd`,
        async (seen) => {
          const share = await metro.api.getShare(shareId)
          seen(`${share.status} ${share.statusCode ?? ''}`)
          return share.status === 'delivered' ? true : undefined
        },
        WAIT,
      )
      const external = await waitFor(
        `${label}: complete on county-da`,
        async (seen) => {
          const found = (await county.api.listExternalCases()).find((c) => c.shareId === shareId)
          seen(String(found?.status))
          return found?.status === 'complete' ? found : undefined
        },
        WAIT,
      )
      state.externalId = external.id
      await waitFor(`${label}: the e-mail`, () => (group.smtp.received.some((m) => m.text.includes(`token ${label}`)) ? true : undefined), WAIT)
    },
  }
}

function driveRevise(group: Group, current: Current, label: string): Drive {
  const { metro, county } = group
  const name = `${label}.mp4`
  const target = current.revision + 1
  return {
    async step(armed) {
      const onMetro = armed === 'sender'
      const listed = await tolerate(onMetro, () => metro.api.listEvidence(current.caseId))
      if (listed === undefined) return
      const found = listed.find((e) => e.name === name)
      if (found !== undefined) {
        current.evidence.set(name, found.digest)
        return
      }
      const uploaded = await tolerate(onMetro, () =>
        metro.api.uploadEvidence(current.caseId, { name, category: 'video', mediaType: 'video/mp4' }, generatedContent(FILE_SIZE, label)),
      )
      if (uploaded !== undefined) current.evidence.set(name, uploaded.digest)
    },
    async finished() {
      await waitFor(
        `${label}: revision ${target} delivered on metro-pd`,
        async (seen) => {
          const share = await metro.api.getShare(current.shareId)
          seen(`${share.status} revision ${share.revision}`)
          return share.revision === target && share.status === 'delivered' ? true : undefined
        },
        WAIT,
      )
      await waitFor(
        `${label}: revision ${target} verified and receipted on county-da`,
        async () => {
          const revisions = await inStore(county, (store) => store.inboundShares.listRevisions(current.externalId))
          return revisions.some((r) => r.revision === target && r.transfer === 'verified' && r.receiptSent) ? true : undefined
        },
        WAIT,
      )
      current.revision = target
    },
  }
}

function driveImport(group: Group, current: Current): Drive {
  const { intake } = group
  return {
    async step(armed) {
      await tolerate(armed === 'receiver', () => intake.importExternalCase(current.externalId))
    },
    async finished() {
      // Importing again returns the imported case: exactly one, whatever happened before.
      const imported = await intake.importExternalCase(current.externalId)
      current.imported = imported.importedFrom === current.externalId
    },
  }
}

function driveRevoke(group: Group, current: Current, label: string): Drive {
  const { metro, county } = group
  return {
    async step(armed) {
      await tolerate(armed === 'sender', () => metro.api.revokeShare(current.shareId, `revoked in ${label}`))
    },
    async finished() {
      await waitFor(
        `${label}: revoked on both sides`,
        async (seen) => {
          const [share, external] = await Promise.all([metro.api.getShare(current.shareId), county.api.getExternalCase(current.externalId)])
          seen(`${share.status} / ${external.status}`)
          return share.status === 'revoked' && external.status === 'revoked' ? true : undefined
        },
        WAIT,
      )
    },
  }
}

/** An exchange from start to end with nothing armed (to set up what a case needs). */
async function runClean(drive: Drive): Promise<void> {
  await drive.step(undefined)
  await drive.finished()
}

async function newShare(group: Group, label: string): Promise<Current> {
  const drive = driveShare(group, label)
  await runClean(drive)
  return finishedShare(group, drive.state)
}

function finishedShare(group: Group, state: Partial<Current>): Current {
  const current = { ...state, revision: 1, imported: false } as Current
  group.current = current
  group.delivered.push({ shareId: current.shareId, externalId: current.externalId, revoked: false })
  return current
}

/** Audit entries of `type` with `revision` (any when undefined). */
function count(entries: ReadonlyArray<{ type: string; data?: unknown }>, type: string, revision?: number): number {
  return entries.filter((e) => e.type === type && (revision === undefined || (e.data as { revision?: unknown } | undefined)?.revision === revision)).length
}

/** Runs one case on `group`; returns the failures of its invariants (empty: passed). */
async function runCase(t: Test, group: Group, crash: CrashCase): Promise<string[]> {
  const label = `g${group.index}-c${++group.serial}`
  const failures: string[] = []
  // Where the time goes (reported, never asserted).
  const phases: string[] = []
  let phaseStart = Date.now()
  const phase = (name: string) => {
    phases.push(`${name} ${((Date.now() - phaseStart) / 1000).toFixed(1)}s`)
    phaseStart = Date.now()
  }
  const check = (ok: boolean, message: string) => {
    if (!ok) failures.push(message)
  }
  const { metro, county } = group

  // What the case needs first, with nothing armed.
  let current = group.current
  if (crash.scenario !== 'share' && (current === undefined || (crash.scenario === 'import' && current.imported)))
    current = await newShare(group, `${label}-setup`)
  const shareDrive = crash.scenario === 'share' ? driveShare(group, label) : undefined
  const drive: Drive =
    shareDrive ??
    (crash.scenario === 'revise'
      ? driveRevise(group, current!, label)
      : crash.scenario === 'import'
        ? driveImport(group, current!)
        : driveRevoke(group, current!, label))

  phase('setup')
  // Arm: the node of `side` restarted with the crash point set.
  const armed = crash.side === 'sender' ? metro : county
  const other = crash.side === 'sender' ? county : metro
  await armed.stop()
  if (crash.partnerDown === true) await other.stop()
  const armedProcess = await armed
    .start({ env: { [CRASH_POINT_VARIABLE]: `${crash.point}:${crash.nth}` }, timeoutMs: START_TIMEOUT_MS })
    .catch((error: unknown) => error)
  if (armedProcess instanceof Error) {
    check(
      /crash point .* reached/.test(armedProcess.message) || /exited during start-up/.test(armedProcess.message),
      `armed start failed: ${armedProcess.message}`,
    )
  } else {
    // The exchange runs until the point kills the node; the exit is awaited (bounded).
    const stepping = drive.step(crash.side).catch((error: unknown) => failures.push(`step: ${(error as Error).message}`))
    const exit = await within(armed.process.exited, WAIT.timeoutMs)
    await stepping
    if (exit === 'timeout') {
      failures.push(`crash point ${crash.point}:${crash.nth} was never reached`)
      await armed.kill()
    } else {
      check(exit.signal === 'SIGKILL', `the armed node exited with ${JSON.stringify(exit)}`)
      check(armed.process.stderr().includes(`crash point ${crash.point} reached`), 'the crash came from the point')
    }
  }
  const crashedAt = Date.now()
  phase('armed run')

  // At the crash: nothing county-da shows as complete lacks a chunk. The shares are read before
  // the blobs are listed: county-da may still be receiving, and a share it completes in between
  // had all its chunks stored before it was complete.
  const completeChunks = await inStore(county, async (store) => {
    const chunks: string[] = []
    for (const inbound of await store.inboundShares.list()) {
      if (inbound.status !== 'complete') continue
      for (const item of inbound.manifest.evidence) for (const chunk of item.chunks) chunks.push(`${inbound.shareId} ${chunk}`)
    }
    return chunks
  })
  const held = await blobFiles(county.node)
  const incomplete = completeChunks.filter((entry) => !held.has(entry.slice(entry.indexOf(' ') + 1)))
  check(incomplete.length === 0, `complete before its chunks: ${incomplete.join(', ')}`)
  // Which of the held chunks metro-pd's delivery was recorded for (CW-POS-005): a chunk stored but
  // not yet recorded when the node died (a pull in flight beside the crash) is asked for again by
  // rule (CW-POS-003); a recorded one never is.
  const recorded = await inStore(county, (store) => store.chunks.delivered('metro-pd', [...held.keys()]))
  if (county.running) {
    for (const external of await county.api.listExternalCases()) {
      if (external.status !== 'receiving') continue
      const detail = await county.api.getExternalCase(external.id)
      for (const item of detail.evidence ?? []) {
        const refused = await county.api.downloadExternalEvidence(external.id, item.id).then(
          () => undefined,
          (error: unknown) => error,
        )
        check(refused instanceof LocalApiError, `evidence of a receiving external case was downloadable (${external.id})`)
      }
    }
  }

  // Restart whatever is down, and finish the exchange.
  if (!armed.running) await armed.start({ timeoutMs: START_TIMEOUT_MS })
  if (!other.running) await other.start({ timeoutMs: START_TIMEOUT_MS })
  phase('restart')
  try {
    await drive.step(undefined)
    await drive.finished()
  } catch (error) {
    failures.push(`did not finish: ${(error as Error).message}`)
    return failures
  }
  phase('finish')

  // The share of this case, and every one before it.
  if (shareDrive !== undefined) current = finishedShare(group, shareDrive.state)
  if (crash.scenario === 'revoke') {
    group.delivered.find((d) => d.shareId === current!.shareId)!.revoked = true
    group.current = undefined
  }
  for (const delivered of group.delivered) {
    const [share, external] = await Promise.all([metro.api.getShare(delivered.shareId), county.api.getExternalCase(delivered.externalId)])
    const expected = delivered.revoked ? ['revoked', 'revoked'] : ['delivered', 'complete']
    check(
      share.status === expected[0] && external.status === expected[1],
      `share ${delivered.shareId}: ${share.status} / ${external.status}, expected ${expected.join(' / ')}`,
    )
  }

  // No chunk pulled or written again: what county-da held at the crash stays as it was.
  const metroLogs = await metro.logs()
  // Read from metro-pd's debug lines: without them the next check would hold vacuously.
  check(
    metroLogs.some((line) => line['msg'] === 'chunk request answered' || line['msg'] === 'chunk batch answered'),
    'metro-pd logs the chunk requests it answers',
  )
  const requests = chunkRequests(
    metroLogs.filter((line) => Number(line['time']) > crashedAt),
    current!.shareId,
  )
  const again = [...requests.keys()].filter((digest) => recorded.has(digest))
  check(again.length === 0, `chunks recorded as delivered at the crash were pulled again: ${again.length}`)
  const after = await blobFiles(county.node)
  const rewritten = [...held].filter(([digest, file]: [string, BlobFile]) => after.get(digest)?.ino !== file.ino)
  check(rewritten.length === 0, `blobs written again: ${rewritten.length}`)

  // Nothing done twice: each step of the exchange on the record once.
  // The e-mail has arrived (finished()); its record reaches county-da's trail through the outbox
  // a moment later. Waited for (bounded), so the count below is of what was recorded, not a race.
  await waitFor(
    `${label}: notification.sent on county-da's trail`,
    async () => (count(await county.api.listExternalCaseAudit(current!.externalId), 'notification.sent') > 0 ? true : undefined),
    WAIT,
  ).catch(() => undefined)
  const [sent, received] = await Promise.all([metro.api.listCaseAudit(current!.caseId), county.api.listExternalCaseAudit(current!.externalId)])
  const revision = crash.scenario === 'revise' ? current!.revision : 1
  check(count(sent, 'share.created') === 1, `share.created ×${count(sent, 'share.created')}`)
  check(count(sent, 'share.delivered', revision) === 1, `share.delivered r${revision} ×${count(sent, 'share.delivered', revision)}`)
  check(count(sent, 'receipt.verified', revision) === 1, `receipt.verified r${revision} ×${count(sent, 'receipt.verified', revision)}`)
  check(count(received, 'inbound.received', revision) === 1, `inbound.received r${revision} ×${count(received, 'inbound.received', revision)}`)
  check(count(received, 'inbound.completed', revision) === 1, `inbound.completed r${revision} ×${count(received, 'inbound.completed', revision)}`)
  for (let r = 2; r <= current!.revision; r++) check(count(sent, 'share.revised', r) === 1, `share.revised r${r} ×${count(sent, 'share.revised', r)}`)
  check(count(received, 'notification.sent') === 1, `notification.sent ×${count(received, 'notification.sent')}`)
  if (crash.scenario === 'share') {
    // At least once: a crash (at any point: jobs run side by side) between the SMTP server's
    // answer and the notification's record sends it again, with the same Message-ID, so the
    // recipient's mail system can drop the copy. Never more than that one repeat.
    const mails = group.smtp.received.filter((m) => m.text.includes(`token ${label}`))
    const ids = new Set(mails.map((m) => m.headers.get('message-id')))
    check(mails.length >= 1 && mails.length <= 2 && ids.size === 1, `${mails.length} e-mails with ${ids.size} Message-IDs`)
  }
  if (crash.scenario === 'import') check(count(received, 'case.imported') === 1, `case.imported ×${count(received, 'case.imported')}`)
  if (crash.scenario === 'revoke') {
    check(count(sent, 'share.revoked') === 1, `share.revoked ×${count(sent, 'share.revoked')}`)
    check(count(received, 'inbound.revoked') === 1, `inbound.revoked ×${count(received, 'inbound.revoked')}`)
    // Nothing accepted after the revocation: no download there, no new revision here.
    const detail = await county.api.getExternalCase(current!.externalId)
    for (const item of detail.evidence ?? []) {
      const refused = await county.api.downloadExternalEvidence(current!.externalId, item.id).then(
        () => undefined,
        (error: unknown) => error,
      )
      check(refused instanceof LocalApiError, 'a revoked share still downloads')
    }
    const refusedRevision = await metro.api.updateShare(current!.shareId).then(
      () => undefined,
      (error: unknown) => error,
    )
    check(refusedRevision instanceof LocalApiError, 'a revoked share still makes revisions')
  } else if (crash.scenario !== 'import') {
    // The bytes county-da serves are the bytes metro-pd was given.
    const detail = await county.api.getExternalCase(current!.externalId)
    if (crash.scenario === 'share') {
      for (const item of detail.evidence ?? []) {
        const download = await county.api.downloadExternalEvidence(current!.externalId, item.id)
        check(download.digest === current!.evidence.get(item.name), `${item.name}: served ${download.digest}`)
      }
    }
  }
  const dead = (await Promise.all([inStore(metro, (s) => s.jobs.list()), inStore(county, (s) => s.jobs.list())])).flat().filter((job) => job.state === 'dead')
  check(dead.length === 0, `jobs failed for good: ${dead.map((j) => `${j.kind} ${j.lastError ?? ''}`).join('; ')}`)

  phase('checks')
  // Every audit chain verifies (what `caseway audit verify` checks, read in this process; the
  // command itself runs at the end of each group: two more processes per case cost too much).
  const broken = (await Promise.all([metro, county].map((org) => brokenChains(org)))).flat()
  check(broken.length === 0, `audit chains broken: ${broken.join('; ')}`)
  phase('audit verify')
  t.comment(
    `${label} ${crash.scenario} ${crash.side} ${crash.point}:${crash.nth}${crash.partnerDown === true ? ' (partner down)' : ''}: ${failures.length === 0 ? 'ok' : failures.join(' | ')} (${phases.join(', ')})`,
  )
  return failures
}

// spec: CW-AUD-001, CW-FED-007, CW-FED-008, CW-FED-009, CW-REC-001, CW-REV-003, CW-REVN-003
t.test('the crash matrix: killed at each point, restarted, nothing lost or done twice', { timeout: 3_600_000 }, async (t) => {
  const started = Date.now()
  const distinct = new Set(MATRIX.map((c) => `${c.scenario} ${c.side} ${c.point}:${c.nth}`))
  t.equal(distinct.size, MATRIX.length, 'every case is distinct')
  t.ok(MATRIX.length >= 100, `${MATRIX.length} cases`)
  const covered = new Set(MATRIX.map((c) => c.point))
  t.same(
    CRASH_POINTS.filter((point) => !covered.has(point)),
    [],
    'every crash point is in the matrix',
  )
  // Scenarios in the order that lets one case's share serve the next: share, revise, import, revoke.
  const order: Record<Scenario, number> = { share: 0, revise: 1, import: 2, revoke: 3 }
  // CASEWAY_CRASH_MATRIX_ONLY=<regular expression>: only the matching cases (to replay one).
  const only = process.env['CASEWAY_CRASH_MATRIX_ONLY']
  const selected = MATRIX.filter((c) => only === undefined || new RegExp(only).test(`${c.scenario} ${c.side} ${c.point}:${c.nth}`))
  const queues: CrashCase[][] = Array.from({ length: Math.min(GROUPS, selected.length) }, () => [])
  selected.forEach((crash, index) => queues[index % queues.length]!.push(crash))
  const results: Array<{ crash: CrashCase; failures: string[] }> = []
  // The pairs start one after the other (start-up is bounded), then run their cases at once.
  const groups: Group[] = []
  for (let index = 0; index < queues.length; index++) groups.push(await startGroup(t, index))
  await Promise.all(
    queues.map(async (queue, index) => {
      const byScenario = new Map<Scenario, CrashCase[]>()
      for (const crash of queue) byScenario.set(crash.scenario, [...(byScenario.get(crash.scenario) ?? []), crash])
      const ordered: CrashCase[] = []
      while ([...byScenario.values()].some((list) => list.length > 0)) {
        for (const scenario of Object.keys(order) as Scenario[]) {
          const next = byScenario.get(scenario)?.shift()
          if (next !== undefined) ordered.push(next)
        }
      }
      const group = groups[index]!
      for (const crash of ordered) {
        const failures = await runCase(t, group, crash).catch((error: unknown) => [`case threw: ${(error as Error).stack ?? String(error)}`])
        results.push({ crash, failures })
      }
      // The operator's tool on what the group's cases left.
      for (const org of [group.metro, group.county]) {
        const result = await caseway(['audit', 'verify', '--dir', org.node.dir])
        t.equal(result.code, 0, `caseway audit verify on group ${index}'s ${org.org}: ${result.stderr.trim()}`)
      }
    }),
  )
  for (const { crash, failures } of results) {
    t.same(failures, [], `${crash.scenario} ${crash.side} ${crash.point}:${crash.nth}`)
  }
  t.comment(`${results.length} cases in ${Math.round((Date.now() - started) / 1000)} s with ${GROUPS} groups`)
})
