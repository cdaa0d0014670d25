/**
 * `caseway demo`: two organizations on loopback — Metro PD (`metro-pd`) shares part of a case
 * with County DA (`county-da`) — each with its own PKI, each node a separate process, talking
 * mutual TLS. Everything goes through the same doors an agency uses: `caseway init`'s
 * `initNode`, `caseway start`, the local API and the CLI. Shown along the way: recipients (a
 * County DA member who is not one gets 404), the notification e-mail caught by a local SMTP
 * receiver (skipped when `smtp-server` is not installed), import with its import details,
 * Metro PD's access listing and its audit trail, verified through the API and with
 * `caseway audit verify`. What happens is told in plain sentences as it happens; any failure
 * ends the demo with one error (both nodes are stopped either way).
 *
 * @module
 */
import { execFile, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Recipient, SharingPolicy } from '#protocol'
import { generatedContent } from '../testkit/content.ts'
import {
  LocalApiError,
  LocalClient,
  type AuditEntry,
  type Evidence,
  type ExternalCase,
  type Folder,
  type PolicyInput,
  type Share,
} from '../client/local_client.ts'
import { initLoopbackNode, type LoopbackNode } from '../testkit/loopback_node.ts'
import { CASEWAY_BIN, freePort, startNodeProcess, type NodeProcess } from '../testkit/node_process.ts'
import { sharePackages } from './packages.ts'
import { decodeWords } from '../testkit/mail_message.ts'
import { startSmtpReceiver, type SmtpReceiver } from '../testkit/smtp_receiver.ts'
import { waitFor } from '../testkit/wait.ts'

export interface TwoOrgsDemoOptions {
  /** Keep the temporary directory (node directories, logs) and say where it is. */
  keep?: boolean
  /** Aborted when nobody reads the demo's output any more (`caseway demo | head`): the nodes are stopped, then the process exits 0. */
  stop?: AbortSignal
  /** Bound of every wait (node start-up, share delivery), default 60 s. */
  timeoutMs?: number
  /** Where each sentence goes (default stdout). */
  say?: (line: string) => void
  /** Parent of the temporary directory (default the system's). */
  tmpDir?: string
  /**
   * Where to write the case shared with a link as `case.zip`, `case.tar`, `case.iso` and the
   * sender's `ca.crt`, telling each step. Without it the packages are made, downloaded and
   * verified all the same, in the temporary directory, told in one line.
   */
  packagesDir?: string
}

export interface TwoOrgsDemoResult {
  /** The temporary directory (removed unless `keep`). */
  dir: string
  kept: boolean
}

const METRO = { org: 'metro-pd', name: 'Metro PD' } as const
const COUNTY = { org: 'county-da', name: 'County DA' } as const
const MiB = 1 << 20

/** The policy Metro PD assigns to County DA first: view, download and import videos and documents. */
const REVIEW_POLICY: PolicyInput = {
  id: 'county-da-review',
  name: 'County DA — evidence review',
  permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward: { allowed: false, maxDepth: 0 } },
  content: { caseFields: ['caseNumber', 'title', 'description'], evidenceCategories: ['video', 'document'], attachments: false },
  maxDurationSeconds: 30 * 86_400,
}

/** The second policy: the same content, but view only (no download, no import, no updates). */
const VIEW_ONLY_POLICY: PolicyInput = {
  ...REVIEW_POLICY,
  id: 'county-da-view-only',
  name: 'County DA — view only',
  permissions: { ...REVIEW_POLICY.permissions, download: false, import: false, applyUpdates: false },
}

/** County DA's people: Ada is a recipient of the first share (by name and through her group), Bob is not. */
const ADA = { id: 'ada', name: 'Ada Quinn', email: 'ada@county-da.example' } as const
const BOB = { id: 'bob', name: 'Bob Reyes', email: 'bob@county-da.example' } as const
const NOTIFICATION_FROM = 'Caseway at County DA <caseway@county-da.example>'
const LINK_FROM = 'Caseway at Metro PD <caseway@metro-pd.example>'
/** Longest wait for the notification e-mail (it is sent as the share arrives). */
const EMAIL_WAIT_MS = 10_000

const execFileAsync = promisify(execFile)

interface EvidencePlan {
  name: string
  category: string
  mediaType: string
  size: number
  folder: 'scene' | 'interviews'
  doNotDisclose?: boolean
  note?: string
}

const EVIDENCE: readonly EvidencePlan[] = [
  { name: 'bodycam-unit-12.mp4', category: 'video', mediaType: 'video/mp4', size: 5 * MiB + 123_457, folder: 'scene' },
  { name: 'scene-photo-01.jpg', category: 'photo', mediaType: 'image/jpeg', size: 900_000, folder: 'scene', note: 'a category the policy excludes' },
  { name: 'witness-interview.mp4', category: 'video', mediaType: 'video/mp4', size: 2 * MiB + 54_321, folder: 'interviews' },
  { name: 'witness-statement.pdf', category: 'document', mediaType: 'application/pdf', size: 180_000, folder: 'interviews' },
  {
    name: 'informant-notes.pdf',
    category: 'document',
    mediaType: 'application/pdf',
    size: 60_000,
    folder: 'interviews',
    doNotDisclose: true,
    note: 'marked do-not-disclose',
  },
]

/** Runs the demo; resolves when both nodes have stopped. Throws (after stopping them) on any failure. */
export async function runTwoOrgsDemo(options: TwoOrgsDemoOptions = {}): Promise<TwoOrgsDemoResult> {
  const print = options.say ?? ((line: string) => process.stdout.write(line + '\n'))
  let interrupted = false
  // After an interrupt, the steps still running fail as their nodes go away: say no more.
  const say = (line: string) => {
    if (!interrupted) print(line)
  }
  const timeoutMs = options.timeoutMs ?? 60_000
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'caseway-demo-'))
  const processes: NodeProcess[] = []
  const spawned: ChildProcess[] = []
  // Closed once both nodes have stopped (the local SMTP receiver).
  const closers: Array<() => Promise<void>> = []
  // Interrupted (Ctrl-C, SIGTERM): stop both nodes, even half started, remove what the demo made, leave.
  const interrupt = (signal: NodeJS.Signals | 'output closed') => {
    interrupted = true
    const running = spawned.filter((child) => child.exitCode === null && child.signalCode === null)
    const exits = running.map((child) => new Promise((resolve) => child.once('exit', resolve)))
    for (const child of running) child.kill('SIGTERM')
    const force = setTimeout(() => running.forEach((child) => child.kill('SIGKILL')), 5_000)
    void Promise.all(exits)
      .then(() => (options.keep === true ? undefined : rm(dir, { recursive: true, force: true })))
      .finally(() => {
        clearTimeout(force)
        process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 0)
      })
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  const outputClosed = () => interrupt('output closed')
  options.stop?.addEventListener('abort', outputClosed, { once: true })
  let failure: unknown
  try {
    await demo(dir, say, timeoutMs, processes, (child) => spawned.push(child), closers, options.packagesDir)
  } catch (error) {
    failure = error
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
    options.stop?.removeEventListener('abort', outputClosed)
  }
  // The interrupt handler ends the process once both nodes are down.
  if (interrupted) await new Promise<never>(() => {})
  // Both nodes stop, whatever happened; a failure is reported after that.
  const statuses = await Promise.all(processes.map((child) => child.stop('SIGTERM', 10_000)))
  await Promise.all(closers.map((close) => close()))
  if (failure === undefined) {
    const unclean = statuses.filter((status) => status.code !== 0)
    if (unclean.length > 0) failure = new Error(`a node did not stop cleanly (exit ${unclean.map((s) => s.code ?? s.signal).join(', ')})`)
    else say('Both nodes stopped cleanly.')
  }
  if (options.keep === true) say(`Kept the demo directory (node directories and their logs): ${dir}`)
  else await rm(dir, { recursive: true, force: true })
  if (failure !== undefined) throw failure as Error
  return { dir, kept: options.keep === true }
}

async function demo(
  dir: string,
  say: (line: string) => void,
  timeoutMs: number,
  processes: NodeProcess[],
  onSpawn: (child: ChildProcess) => void,
  closers: Array<() => Promise<void>>,
  packagesDir: string | undefined,
): Promise<void> {
  const started = Date.now()
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`

  // 0. A local SMTP receiver that catches County DA's notification e-mails (skipped without smtp-server).
  const smtp = await startSmtpReceiver()
  if (smtp === undefined) {
    say('The package smtp-server (a devDependency) is not installed: skipping the e-mail notification step.')
  } else {
    closers.push(() => smtp.close())
    say(`Starting a local SMTP receiver on ${smtp.host}:${smtp.port} to catch the notification e-mails County DA sends.`)
  }

  // 1. Two organizations, each with its own PKI.
  say(`Creating two organizations on loopback, each with its own certificate authority (in ${dir}).`)
  // Metro PD e-mails the capability link of a link share and serves it on its download listener.
  const metro = await initLoopbackNode({
    ...METRO,
    dir: join(dir, METRO.org),
    settings: {
      links: { downloadListener: { host: '127.0.0.1', port: await freePort(), perMinute: 60 } },
      ...(smtp === undefined ? {} : { notifications: { smtp: { host: smtp.host, port: smtp.port, from: LINK_FROM } } }),
    },
  })
  const county = await initLoopbackNode({
    ...COUNTY,
    dir: join(dir, COUNTY.org),
    ...(smtp === undefined ? {} : { settings: { notifications: { smtp: { host: smtp.host, port: smtp.port, from: NOTIFICATION_FROM } } } }),
  })
  for (const node of [metro, county]) {
    say(`  ${node.name} (${node.org}): CA fingerprint ${node.caFingerprint}, federation endpoint ${node.federationEndpoint}.`)
  }
  if (smtp !== undefined) say(`  ${county.name}'s caseway.json: notifications.smtp sends from "${NOTIFICATION_FROM}" through ${smtp.host}:${smtp.port}.`)

  // 2. Both nodes as child processes.
  say('Starting both nodes as separate processes (caseway start)…')
  // Both settle before any failure is reported, so no node is left running unseen.
  const starts = await Promise.allSettled([metro, county].map((node) => startNode(node, timeoutMs, processes, onSpawn)))
  const [metroProcess, countyProcess] = starts.map((start) => {
    if (start.status === 'rejected') throw start.reason
    return start.value
  })
  const metroApi = new LocalClient({ baseUrl: metroProcess!.localUrl, token: metroProcess!.adminToken! })
  const countyApi = new LocalClient({ baseUrl: countyProcess!.localUrl, token: countyProcess!.adminToken! })
  say(
    `  ${metro.name} is up (pid ${metroProcess!.pid}, local API ${metroProcess!.localUrl}); ${county.name} is up (pid ${countyProcess!.pid}, local API ${countyProcess!.localUrl}).`,
  )

  // 3. Pairing: each pins the other's bundle, checked against the fingerprint read out of band.
  await pair(metroApi, metro, county, say)
  await pair(countyApi, county, metro, say)

  // The receiving agency's people: only the recipients a share names see it (CW-LOC-001).
  await countyApi.createUser(ADA)
  await countyApi.createGroup({ id: 'felony-unit', name: 'Felony unit', members: [ADA.id] })
  const adaApi = new LocalClient({ baseUrl: countyProcess!.localUrl, token: (await countyApi.createToken(ADA.id, 'member')).token })
  await countyApi.createUser(BOB)
  const bobApi = new LocalClient({ baseUrl: countyProcess!.localUrl, token: (await countyApi.createToken(BOB.id, 'member')).token })
  say(
    `${county.name} adds its prosecutor ${ADA.name} (user ${ADA.id}, ${ADA.email}) to the group felony-unit, and ${BOB.name} (user ${BOB.id}, ${BOB.email}), who is not in it; each gets a member token.`,
  )

  // 4. A sharing policy, assigned to the partner.
  const review = await metroApi.createPolicy(REVIEW_POLICY)
  await metroApi.assignPolicy(county.org, review.id, review.version)
  say(`${metro.name} creates the sharing policy "${review.policy.name}" (${describePolicy(review.policy)}) and assigns it to ${county.name}.`)

  // 5. A case with nested folders and evidence.
  const fields = {
    caseNumber: 'MPD-2025-0142',
    title: 'Burglary at 12 Elm St',
    description: 'Forced entry through the rear door; electronics taken.',
    suspectName: 'J. Doe',
  }
  const theCase = await metroApi.createCase(fields)
  const investigation = await metroApi.createFolder(theCase.id, 'Investigation')
  const folders: Record<EvidencePlan['folder'], Folder> = {
    scene: await metroApi.createFolder(theCase.id, 'Scene', investigation.id),
    interviews: await metroApi.createFolder(theCase.id, 'Interviews', investigation.id),
  }
  say(`${metro.name} opens case ${fields.caseNumber} "${fields.title}" with folders Investigation/Scene and Investigation/Interviews.`)
  const uploaded = new Map<string, Evidence>()
  for (const plan of EVIDENCE) {
    const evidence = await metroApi.uploadEvidence(
      theCase.id,
      {
        name: plan.name,
        category: plan.category,
        mediaType: plan.mediaType,
        folderId: folders[plan.folder].id,
        ...(plan.doNotDisclose ? { doNotDisclose: true } : {}),
      },
      generatedContent(plan.size, `${theCase.id}/${plan.name}`),
    )
    uploaded.set(plan.name, evidence)
    const where = `Investigation/${folders[plan.folder].name}`
    say(
      `  uploaded ${plan.name} to ${where}: ${plan.category}, ${mib(evidence.size)}, ${short(evidence.digest)}${plan.note === undefined ? '' : ` — ${plan.note}`}`,
    )
  }

  // 6. Share a folder and follow the status.
  const share = await metroApi.createShare({
    caseId: theCase.id,
    partnerOrg: county.org,
    scope: 'folders',
    folderIds: [investigation.id],
    message: 'Evidence for the charging decision.',
    recipients: [
      { kind: 'user', id: ADA.id },
      { kind: 'group', id: 'felony-unit' },
    ],
  })
  say(
    `${metro.name} shares the folder Investigation (with its subfolders) with ${county.name}, naming the recipients ${recipientList(share.recipients)}: share ${share.id}.`,
  )
  const delivered = await followShare(metroApi, share, say, timeoutMs, elapsed)
  if (delivered.status !== 'delivered')
    throw new Error(
      `share ${share.id} ended ${delivered.status}${delivered.statusCode === null ? '' : ` with ${delivered.statusCode}`}: ${delivered.statusDetail ?? ''}`,
    )

  // 7. The receiver's external case.
  const external = await externalCaseOf(adaApi, share.id, timeoutMs)
  say(
    `${county.name} sees the external case "${external.case.fields['title']}" (${external.case.fields['caseNumber']}), shared by ${external.sender.name}, status ${external.status}, for ${recipientsOf(external)}:`,
  )
  for (const item of external.evidence) say(`  - ${item.name}: ${item.category}, ${mib(item.size)}, ${short(item.digest)}`)
  const shownFields = Object.keys(external.case.fields).sort().join(', ')
  say(
    `  Case fields received: ${shownFields}. Left out by ${metro.name}: suspectName (not in the policy), ${EVIDENCE.filter((p) => p.note !== undefined)
      .map((p) => `${p.name} (${p.note})`)
      .join(', ')}.`,
  )
  const expected = ['bodycam-unit-12.mp4', 'witness-interview.mp4', 'witness-statement.pdf']
  const received = external.evidence.map((item) => item.name).sort()
  if (received.join() !== expected.join()) throw new Error(`the external case lists ${received.join(', ')}; expected ${expected.join(', ')}`)
  if ('suspectName' in external.case.fields) throw new Error('the external case shows suspectName, which the policy excludes')

  // 7a. A member of County DA who is not a recipient does not see it.
  const bobList = await bobApi.listExternalCases()
  if (bobList.some((candidate) => candidate.id === external.id)) throw new Error(`${BOB.id}, not a recipient, finds the external case in his list`)
  const hidden = await refusal(() => bobApi.getExternalCase(external.id))
  expectCode(hidden, 'CW_ERR_NOT_FOUND', `${BOB.id} reading the external case`)
  say(
    `${BOB.name} (${county.name}, not a recipient) does not find it in his external cases, and asking for it by id answers ${hidden.status} ${hidden.code}; ${ADA.name} (a recipient) sees it.`,
  )

  // 7b. The notification e-mail County DA sent, as the local SMTP receiver caught it.
  if (smtp !== undefined) await showEmail(smtp, ADA.email, Math.min(EMAIL_WAIT_MS, timeoutMs), say)

  // 8. A download whose SHA-256 matches.
  const bodycam = external.evidence.find((item) => item.name === 'bodycam-unit-12.mp4')!
  const download = await adaApi.downloadExternalEvidence(external.id, bodycam.id)
  const original = uploaded.get('bodycam-unit-12.mp4')!
  if (download.digest !== original.digest || download.size !== original.size) {
    throw new Error(
      `downloaded ${bodycam.name} hashes to ${download.digest} (${download.size} bytes); ${metro.name} stored ${original.digest} (${original.size} bytes)`,
    )
  }
  say(
    `${county.name} downloads ${bodycam.name}: ${download.size} bytes whose SHA-256 ${short(download.digest)} matches the digest ${metro.name} computed at upload.`,
  )

  // 8a. Import: the policy permits it; the imported case keeps where it came from.
  const imported = await adaApi.importExternalCase(external.id)
  say(`${ADA.name} imports the external case into ${county.name}'s own cases: case ${imported.id} (${imported.fields['caseNumber']}), owned by her.`)
  const details = await adaApi.getImportDetails(imported.id)
  say(`  Import details of case ${imported.id}:`)
  say(`    sender: ${details.senderName} (${details.senderOrg})${details.sharedBy === undefined ? '' : `, shared by ${details.sharedBy}`}`)
  say(`    partner organization: ${details.senderName} (${details.senderOrg}), share ${details.shareId} revision ${details.revision}`)
  say(`    recipients: ${recipientList(details.recipients)}`)
  say(`    received on: ${when(details.receivedAt)}; imported on: ${when(details.importedAt)}`)
  say(`    access level: ${details.accessLevel}`)
  say(`    sharing policy: "${details.policy.name}" (${details.policy.id} v${details.policy.version}: ${permissionList(details.policy.permissions)})`)
  if (details.senderOrg !== metro.org || details.inboundId !== external.id)
    throw new Error(`the import details name ${details.senderOrg} / ${details.inboundId}, expected ${metro.org} / ${external.id}`)

  // 9. Refused: sharing the do-not-disclose item explicitly.
  const secret = uploaded.get('informant-notes.pdf')!
  const refusedShare = await refusal(() => metroApi.createShare({ caseId: theCase.id, partnerOrg: county.org, scope: 'evidence', evidenceIds: [secret.id] }))
  expectCode(refusedShare, 'CW_ERR_DO_NOT_DISCLOSE', `sharing ${secret.name} explicitly`)
  say(`${metro.name} tries to share ${secret.name} explicitly: refused, ${refusedShare.status} ${refusedShare.code} (${refusedShare.problem?.detail ?? ''}).`)

  // 10. A second share under a view-only policy; the download is refused by the receiver.
  const viewOnly = await metroApi.createPolicy(VIEW_ONLY_POLICY)
  await metroApi.assignPolicy(county.org, viewOnly.id, viewOnly.version)
  say(
    `${metro.name} creates a second policy "${viewOnly.policy.name}" (${describePolicy(viewOnly.policy)}), assigns it to ${county.name}, and shares ${'witness-statement.pdf'} under it.`,
  )
  const statement = uploaded.get('witness-statement.pdf')!
  const second = await metroApi.createShare({ caseId: theCase.id, partnerOrg: county.org, scope: 'evidence', evidenceIds: [statement.id] })
  const secondDelivered = await followShare(metroApi, second, say, timeoutMs, elapsed)
  if (secondDelivered.status !== 'delivered') throw new Error(`share ${second.id} ended ${secondDelivered.status}: ${secondDelivered.statusDetail ?? ''}`)
  const secondExternal = await externalCaseOf(adaApi, second.id, timeoutMs)
  const refusedDownload = await refusal(() => adaApi.downloadExternalEvidence(secondExternal.id, secondExternal.evidence[0]!.id))
  expectCode(refusedDownload, 'CW_ERR_ACTION_NOT_ALLOWED', 'downloading from the view-only share')
  say(
    `${county.name} tries to download ${secondExternal.evidence[0]!.name} from that second share: refused, ${refusedDownload.status} ${refusedDownload.code} (${refusedDownload.problem?.detail ?? ''}).`,
  )
  const refusedImport = await refusal(() => adaApi.importExternalCase(secondExternal.id))
  expectCode(refusedImport, 'CW_ERR_ACTION_NOT_ALLOWED', 'importing the view-only share')
  say(`${ADA.name} tries to import that second share: refused, ${refusedImport.status} ${refusedImport.code} (${refusedImport.problem?.detail ?? ''}).`)
  const again = await adaApi.downloadExternalEvidence(external.id, external.evidence.find((item) => item.name === 'witness-statement.pdf')!.id)
  if (again.digest !== statement.digest) throw new Error('the first share no longer serves witness-statement.pdf intact')
  say(`The first share keeps the policy it was made under: ${county.name} can still download witness-statement.pdf from it (SHA-256 matches).`)

  // 11. Who has access, as Metro PD sees it.
  const access = await metroApi.getCaseAccess(theCase.id)
  say(`${metro.name}'s access listing of case ${fields.caseNumber}:`)
  say(`  ${access.owner === null ? `(no owner: created by the node itself)` : `${access.owner.name} (user ${access.owner.userId}) — owner`}`)
  for (const member of access.team) say(`  ${member.name} (${member.kind} ${member.id}) — case team`)
  for (const entry of access.shares) {
    say(
      `  ${entry.orgName} (${entry.org}): recipients ${recipientList(entry.recipients)}; access ${entry.accessLevel}; ${entry.status}; shared on ${when(entry.sharedOn)}; expires ${when(entry.expiresAt)} — share ${entry.shareId}`,
    )
  }
  if (access.shares.length !== 2) throw new Error(`the access listing shows ${access.shares.length} shares, expected 2`)

  // 12. The audit trail: listed, verified through the API and with the CLI, next to the running node.
  const trail = await metroApi.listCaseAudit(theCase.id)
  say(`${metro.name}'s audit trail of case ${fields.caseNumber} (${trail.length} entries):`)
  for (const entry of trail) say(`  ${String(entry.seq).padStart(2)}. ${entry.type} by ${actorOf(entry)}`)
  const verified = await metroApi.verifyCaseAudit(theCase.id)
  if (!verified.ok) throw new Error(`the audit trail of case ${theCase.id} is broken at entry ${verified.seq} (${verified.reason})`)
  say(`  GET /api/v1/cases/${theCase.id}/audit/verify: ok, ${verified.entries} entries, hash chain intact.`)
  const cli = await execFileAsync(process.execPath, [CASEWAY_BIN, 'audit', 'verify', '--dir', metro.dir], { timeout: timeoutMs }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`caseway audit verify --dir ${metro.dir} failed: ${(error.stderr ?? '').trim() || error.message}`)
    },
  )
  say(`  caseway audit verify --dir ${metro.dir} (the CLI, reading the database next to the running node):`)
  for (const line of cli.stdout.split('\n').filter((l) => l.trim() !== ''))
    say(`    ${line}${line.split(' ')[1] === theCase.id ? `   (case ${fields.caseNumber})` : ''}`)

  // 13. The case shared with a link: three packages that prove themselves offline.
  await sharePackages({
    api: metroApi,
    node: metro,
    caseId: theCase.id,
    caseNumber: fields.caseNumber,
    packagesDir: packagesDir ?? join(dir, 'packages'),
    smtp,
    verbose: packagesDir !== undefined,
    say,
    timeoutMs,
    partner: { org: COUNTY.org, name: COUNTY.name, user: ADA, api: adaApi },
  })

  say(`Stopping both nodes (SIGTERM) after ${elapsed()}…`)
}

async function startNode(node: LoopbackNode, timeoutMs: number, processes: NodeProcess[], onSpawn: (child: ChildProcess) => void): Promise<NodeProcess> {
  const child = await startNodeProcess({ dir: node.dir, adminToken: true, logFile: node.logFile, timeoutMs, onSpawn })
  processes.push(child)
  return child
}

async function pair(api: LocalClient, self: LoopbackNode, partner: LoopbackNode, say: (line: string) => void): Promise<void> {
  // The bundle travels as a file; the fingerprint is the one read out over a second channel.
  const imported = await api.importPartner(partner.bundle, partner.caFingerprint)
  if (imported.caFingerprint !== partner.caFingerprint) throw new Error(`${self.name} pinned ${imported.caFingerprint}, not ${partner.caFingerprint}`)
  say(
    `${self.name} imports ${partner.name}'s partner bundle, checked against the CA fingerprint ${short(partner.caFingerprint)} read out of band: ${partner.name} is now a pinned partner.`,
  )
}

/** Polls a share until it leaves `processing` (or `failed`, which is retried), telling each status change. */
async function followShare(api: LocalClient, share: Share, say: (line: string) => void, timeoutMs: number, elapsed: () => string): Promise<Share> {
  let last: string | undefined
  const tell = (current: Share) => {
    const status = current.status + (current.statusCode === null ? '' : ` (${current.statusCode})`)
    if (status !== last) say(`  share status: ${status} — at ${elapsed()}`)
    last = status
  }
  tell(share)
  return waitFor(
    `share ${share.id} to be delivered`,
    async (seen) => {
      const current = await api.getShare(share.id)
      tell(current)
      seen(current.status)
      return current.status === 'processing' || current.status === 'failed' ? undefined : current
    },
    { timeoutMs, intervalMs: 100 },
  )
}

async function externalCaseOf(api: LocalClient, shareId: string, timeoutMs: number): Promise<ExternalCase> {
  const summary = await waitFor(
    `the receiver's external case of share ${shareId} to be complete`,
    async (seen) => {
      const found = (await api.listExternalCases()).find((candidate) => candidate.shareId === shareId)
      seen(found?.status ?? 'not listed')
      return found?.status === 'complete' ? found : undefined
    },
    { timeoutMs },
  )
  return api.getExternalCase(summary.id)
}

/** The LocalApiError `call` fails with; an error if it succeeds. */
async function refusal(call: () => Promise<unknown>): Promise<LocalApiError> {
  try {
    await call()
  } catch (error) {
    if (error instanceof LocalApiError) return error
    throw error
  }
  throw new Error('an action the demo expected to be refused was allowed')
}

function expectCode(error: LocalApiError, code: string, what: string): void {
  if (error.code !== code) throw new Error(`${what} was refused with ${error.code}, expected ${code}: ${error.message}`)
}

function describePolicy(policy: SharingPolicy): string {
  const actions = (['view', 'download', 'import', 'applyUpdates'] as const).filter((action) => policy.permissions[action])
  return `${actions.join(', ')}; categories ${policy.content.evidenceCategories.join(' and ')}; fields ${policy.content.caseFields.join(', ')}`
}

function recipientsOf(external: ExternalCase): string {
  return recipientList(external.recipients)
}

function recipientList(recipients: readonly Recipient[]): string {
  return recipients.length === 0 ? 'the whole agency' : recipients.map((r) => `${r.kind} ${r.id}`).join(', ')
}

function permissionList(permissions: SharingPolicy['permissions']): string {
  const allowed: string[] = (['view', 'download', 'import', 'applyUpdates'] as const).filter((action) => permissions[action])
  if (permissions.shareOnward.allowed) allowed.push(`shareOnward (depth ${permissions.shareOnward.maxDepth})`)
  return allowed.join(', ')
}

function actorOf(entry: AuditEntry): string {
  const { actor } = entry
  if (actor.kind === 'user') return `user ${actor.id ?? '?'}`
  if (actor.kind === 'partner') return `partner ${actor.org ?? '?'}`
  return actor.kind
}

/** Unix seconds as `YYYY-MM-DD HH:MM UTC`. */
function when(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** Waits (bounded) for the e-mail to `to` and prints its From, To, Subject and first lines. */
async function showEmail(smtp: SmtpReceiver, to: string, timeoutMs: number, say: (line: string) => void): Promise<void> {
  const email = await smtp.waitFor(to, timeoutMs)
  say(
    `The local SMTP receiver caught ${smtp.received.length === 1 ? 'the' : 'a'} notification e-mail ${email.from === '' ? '' : `from ${email.from} `}to ${email.to.join(', ')}:`,
  )
  say(`  From: ${decodeWords(email.headers.get('from') ?? '')}`)
  say(`  To: ${decodeWords(email.headers.get('to') ?? '')}`)
  say(`  Subject: ${email.subject}`)
  const lines = email.text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, 6)
  for (const line of lines) say(`  | ${line}`)
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(2)} MiB`
}

function short(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`
}
