/**
 * `caseway demo --orgs 3`: a chain of custody across three organizations on loopback — Metro PD
 * (`metro-pd`) shares a folder with County DA (`county-da`), which shares it onward to the State
 * Lab (`state-lab`) — each with its own PKI, each node a separate process, talking mutual TLS.
 * Shown along the way: a live share's revisions and applying one update but not the other;
 * import; an onward share under a narrower policy, verified at the State Lab (bytes match Metro
 * PD's digests); the onward shares the policies forbid, refused with their reason
 * (CW_ERR_POLICY_WIDENED, CW_ERR_PARTNER_NOT_ALLOWED, CW_ERR_CHAIN_DEPTH_EXCEEDED); and Metro
 * PD's revocation reaching both County DA and the State Lab. What happens is told in plain
 * sentences as it happens; any failure ends the demo with one error (every node is stopped
 * either way).
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SharingPolicy } from '#protocol'
import { generatedContent } from '../testkit/content.ts'
import { LocalApiError, LocalClient, type Evidence, type ExternalCase, type PolicyInput, type Share } from '../client/local_client.ts'
import { initLoopbackNode, type LoopbackNode } from '../testkit/loopback_node.ts'
import { startNodeProcess, type NodeProcess } from '../testkit/node_process.ts'
import { waitFor } from '../testkit/wait.ts'

export interface ThreeOrgsDemoOptions {
  /** Keep the temporary directory (node directories, logs) and say where it is. */
  keep?: boolean
  /** Aborted when nobody reads the demo's output any more (`caseway demo | head`): the nodes are stopped, then the process exits 0. */
  stop?: AbortSignal
  /** Bound of every wait (node start-up, delivery, revocation), default 60 s. */
  timeoutMs?: number
  /** Where each sentence goes (default stdout). */
  say?: (line: string) => void
  /** Parent of the temporary directory (default the system's). */
  tmpDir?: string
}

export interface ThreeOrgsDemoResult {
  dir: string
  kept: boolean
}

const METRO = { org: 'metro-pd', name: 'Metro PD' } as const
const COUNTY = { org: 'county-da', name: 'County DA' } as const
const LAB = { org: 'state-lab', name: 'State Lab' } as const
const KiB = 1024

/** Metro PD → County DA: download, import, updates, and one onward hop, to the State Lab only. */
const CHAIN_POLICY: PolicyInput = {
  id: 'county-da-chain',
  name: 'County DA — review and forward to the State Lab',
  permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward: { allowed: true, maxDepth: 1, partners: [LAB.org] } },
  content: { caseFields: ['caseNumber', 'title', 'description'], evidenceCategories: ['video', 'document'], attachments: false },
  maxDurationSeconds: 30 * 86_400,
}

/** County DA → State Lab: narrower — view and download only, no onward sharing, no description, a week. */
const LAB_POLICY: PolicyInput = {
  id: 'state-lab-analysis',
  name: 'State Lab — analysis',
  permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0, partners: [] } },
  content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video', 'document'], attachments: false },
  maxDurationSeconds: 7 * 86_400,
}

/** Runs the demo; resolves when every node has stopped. Throws (after stopping them) on any failure. */
export async function runThreeOrgsDemo(options: ThreeOrgsDemoOptions = {}): Promise<ThreeOrgsDemoResult> {
  const say = options.say ?? ((line: string) => process.stdout.write(line + '\n'))
  const timeoutMs = options.timeoutMs ?? 60_000
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'caseway-demo3-'))
  const processes: NodeProcess[] = []
  const interrupt = (signal: NodeJS.Signals | 'output closed') => {
    void Promise.all(processes.map((child) => child.stop('SIGTERM', 5_000)))
      .then(() => (options.keep === true ? undefined : rm(dir, { recursive: true, force: true })))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 0))
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  const outputClosed = () => interrupt('output closed')
  options.stop?.addEventListener('abort', outputClosed, { once: true })
  let failure: unknown
  try {
    await demo(dir, say, timeoutMs, processes)
  } catch (error) {
    failure = error
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
    options.stop?.removeEventListener('abort', outputClosed)
  }
  const statuses = await Promise.all(processes.map((child) => child.stop('SIGTERM', 10_000)))
  if (failure === undefined) {
    const unclean = statuses.filter((status) => status.code !== 0)
    if (unclean.length > 0) failure = new Error(`a node did not stop cleanly (exit ${unclean.map((s) => s.code ?? s.signal).join(', ')})`)
    else say('All three nodes stopped cleanly.')
  }
  if (options.keep === true) say(`Kept the demo directory (node directories and their logs): ${dir}`)
  else await rm(dir, { recursive: true, force: true })
  if (failure !== undefined) throw failure as Error
  return { dir, kept: options.keep === true }
}

async function demo(dir: string, say: (line: string) => void, timeoutMs: number, processes: NodeProcess[]): Promise<void> {
  const started = Date.now()
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`

  // 1. Three organizations, each with its own PKI, each node its own process.
  say(`Creating three organizations on loopback, each with its own certificate authority (in ${dir}).`)
  const [metro, county, lab] = await Promise.all([METRO, COUNTY, LAB].map((org) => initLoopbackNode({ ...org, dir: join(dir, org.org) })))
  for (const node of [metro!, county!, lab!])
    say(`  ${node.name} (${node.org}): CA fingerprint ${short(node.caFingerprint)}, federation endpoint ${node.federationEndpoint}.`)
  say('Starting the three nodes as separate processes (caseway start)…')
  const starts = await Promise.allSettled(
    [metro!, county!, lab!].map(async (node) => {
      const child = await startNodeProcess({ dir: node.dir, adminToken: true, logFile: node.logFile, timeoutMs })
      processes.push(child)
      return child
    }),
  )
  const [metroApi, countyApi, labApi] = starts.map((start) => {
    if (start.status === 'rejected') throw start.reason
    return new LocalClient({ baseUrl: start.value.localUrl, token: start.value.adminToken! })
  }) as [LocalClient, LocalClient, LocalClient]
  say(`  All three are up (pids ${starts.map((s) => (s.status === 'fulfilled' ? s.value.pid : '?')).join(', ')}).`)

  // 2. Partners: A↔B, B↔C; C pins A's bundle to verify A's grant in the chain.
  await pair(metroApi, metro!, county!, say)
  await pair(countyApi, county!, metro!, say)
  await pair(countyApi, county!, lab!, say)
  await pair(labApi, lab!, county!, say)
  try {
    await labApi.importTrustOnlyPartner(metro!.bundle, metro!.caFingerprint)
    say(`${lab!.name} pins ${metro!.name}'s bundle as trust-only (an anchor for verifying the grant ${metro!.name} signs, no connection).`)
  } catch (error) {
    if (!(error instanceof LocalApiError) || error.status !== 400) throw error
    await labApi.importPartner(metro!.bundle, metro!.caFingerprint)
    say(
      `${lab!.name} pins ${metro!.name}'s bundle as an ordinary partner (this node has no trust-only partners yet): it needs ${metro!.name}'s CA to verify the grant at the head of the chain.`,
    )
  }

  // 3. Metro PD's policy for County DA, a case, a folder, evidence; the share.
  const chainPolicy = await metroApi.createPolicy(CHAIN_POLICY)
  await metroApi.assignPolicy(county!.org, chainPolicy.id, chainPolicy.version)
  say(`${metro!.name} assigns ${county!.name} the policy "${chainPolicy.policy.name}" (${describe(chainPolicy.policy)}).`)
  const theCase = await metroApi.createCase({
    caseNumber: 'MPD-2025-0777',
    title: 'Hit and run on Route 9',
    description: 'Dark sedan, partial plate 4K-.',
    suspectName: 'unknown',
  })
  const folder = await metroApi.createFolder(theCase.id, 'Lab submissions')
  const uploaded = new Map<string, Evidence>()
  const upload = async (name: string, category: string, mediaType: string, size: number) => {
    const evidence = await metroApi.uploadEvidence(
      theCase.id,
      { name, category, mediaType, folderId: folder.id },
      generatedContent(size, `${theCase.id}/${name}`),
    )
    uploaded.set(evidence.digest, evidence)
    return evidence
  }
  await upload('dashcam-unit-7.mp4', 'video', 'video/mp4', 700 * KiB)
  await upload('paint-transfer-report.pdf', 'document', 'application/pdf', 90 * KiB)
  say(`${metro!.name} opens case MPD-2025-0777 "Hit and run on Route 9" with the folder "Lab submissions": dashcam-unit-7.mp4 and paint-transfer-report.pdf.`)
  const share = await metroApi.createShare({
    caseId: theCase.id,
    partnerOrg: county!.org,
    scope: 'folders',
    folderIds: [folder.id],
    message: 'For the lab request.',
  })
  say(`${metro!.name} shares the folder with ${county!.name} (a live share): share ${share.id}.`)
  await delivered(metroApi, share.id, 1, timeoutMs)
  const atCounty = await completeExternal(countyApi, share.id, timeoutMs)
  say(`  delivered at ${elapsed()}; ${county!.name} sees "${atCounty.case.fields['title']}" with ${atCounty.evidence.map((e) => e.name).join(', ')}.`)

  // 4. Live share: new evidence and an edited description make revisions; County DA applies one update, not the other.
  const added = await upload('tire-impression.pdf', 'document', 'application/pdf', 120 * KiB)
  await metroApi.updateCase(theCase.id, { description: 'Dark sedan, plate 4K-9921 confirmed by a witness.' })
  // Changes within sharing.revisionWindowMs make one revision, made at most that long after the first (CW-REVN-010).
  const latest = await waitFor(
    'Metro PD to revise the live share',
    async () => {
      const revision = (await metroApi.getShare(share.id)).revision
      return revision > 1 ? revision : undefined
    },
    { timeoutMs },
  )
  say(`${metro!.name} adds tire-impression.pdf to the folder and edits the case description: the live share is now at revision ${latest}.`)
  const pending = await waitFor(
    'County DA to receive the latest revision',
    async (seen) => {
      // The latest revision shows every difference against what County DA applied (revision 1).
      const newest = (await metroApi.getShare(share.id)).revision
      const available = await countyApi.listUpdates(atCounty.id)
      const update = available.updates.find((u) => u.revision === newest)
      seen(available.updates.map((u) => `r${u.revision} ${u.transfer}`).join(', ') || 'no updates')
      return update?.transfer === 'verified' ? update : undefined
    },
    { timeoutMs },
  )
  say(`${county!.name} reviews the updates of revision ${pending.revision} (GET /api/v1/external-cases/${atCounty.id}/updates):`)
  for (const change of pending.case) say(`  - case field ${change.field}: "${String(change.old)}" → "${String(change.new)}" (${change.updateId})`)
  for (const change of pending.evidence)
    say(`  - evidence ${change.change}: ${change.name}, ${change.size} bytes, ${short(change.digest)} (${change.updateId})`)
  const evidenceUpdate = pending.evidence.find((e) => e.digest === added.digest)
  const descriptionUpdate = pending.case.find((c) => c.field === 'description')
  if (evidenceUpdate === undefined || descriptionUpdate === undefined)
    throw new Error('the pending updates do not list both the new evidence and the description change')
  const applied = await countyApi.applyUpdates(atCounty.id, pending.revision, [evidenceUpdate.updateId])
  const afterApply = await countyApi.getExternalCase(atCounty.id)
  if (!afterApply.evidence.some((e) => e.digest === added.digest)) throw new Error('the applied evidence is not in the external case')
  if (afterApply.case.fields['description'] === 'Dark sedan, plate 4K-9921 confirmed by a witness.')
    throw new Error('the description changed although its update was not applied')
  say(
    `${county!.name} applies the new evidence only: ${applied.applied.length} applied, ${applied.remaining} left pending; the external case lists ${afterApply.evidence.length} items and keeps the description "${afterApply.case.fields['description']}".`,
  )

  // 5. Import.
  const imported = await countyApi.importExternalCase(atCounty.id)
  say(`${county!.name} imports the external case: local case ${imported.id}.`)

  // 6. Onward to the State Lab under a narrower policy.
  const labPolicy = await countyApi.createPolicy(LAB_POLICY)
  const onward = await countyApi.shareOnward(atCounty.id, {
    partnerOrg: lab!.org,
    policy: { id: labPolicy.id, version: labPolicy.version },
    message: 'Please analyse the paint and tire evidence.',
  })
  say(`${county!.name} shares the external case onward to ${lab!.name} under "${labPolicy.policy.name}" (${describe(labPolicy.policy)}): share ${onward.id}.`)
  // (GET /shares/{id} covers shares of local cases; the onward share is followed at the State Lab.)
  const atLab = await completeExternal(labApi, onward.id, timeoutMs)
  say(
    `${lab!.name} verified the two-grant chain and received "${atLab.case.fields['title']}" from ${atLab.sender.name} (fields ${Object.keys(atLab.case.fields).sort().join(', ')}):`,
  )
  for (const item of atLab.evidence) {
    const original = uploaded.get(item.digest)
    if (original === undefined) throw new Error(`${item.name} at the State Lab has a digest Metro PD never computed`)
    const download = await labApi.downloadExternalEvidence(atLab.id, item.id)
    if (download.digest !== original.digest) throw new Error(`${item.name} downloaded at the State Lab does not match Metro PD's digest`)
    say(`  - ${item.name}: downloaded ${download.size} bytes, SHA-256 ${short(download.digest)} matches the digest ${metro!.name} computed at upload.`)
  }
  const provenance = (atLab as ExternalCase & { provenance?: unknown }).provenance
  if (Array.isArray(provenance)) {
    say(`  Provenance at ${lab!.name}:`)
    for (const link of provenance) say(`    ${describeLink(link)}`)
  }

  // 7. Onward shares the policies forbid.
  const widened: SharingPolicy = {
    ...labPolicy.policy,
    id: 'state-lab-wide',
    content: { ...labPolicy.policy.content, evidenceCategories: ['video', 'document', 'photo'] },
  }
  const refusedWide = await refusal(() => countyApi.shareOnward(atCounty.id, { partnerOrg: lab!.org, policy: widened }))
  expectCode(refusedWide, 'CW_ERR_POLICY_WIDENED', 'a widened onward policy')
  say(
    `${county!.name} tries to share onward to ${lab!.name} with photos added to the categories: refused, ${refusedWide.status} ${refusedWide.code}${at(refusedWide)}.`,
  )
  const refusedPartner = await refusal(() =>
    countyApi.shareOnward(atCounty.id, { partnerOrg: metro!.org, policy: { id: labPolicy.id, version: labPolicy.version } }),
  )
  expectCode(refusedPartner, 'CW_ERR_PARTNER_NOT_ALLOWED', 'an onward share to a partner the policy does not list')
  say(
    `${county!.name} tries to share onward to ${metro!.name}, a pinned partner the policy's onward partners (${lab!.org} only) do not list: refused, ${refusedPartner.status} ${refusedPartner.code}.`,
  )
  const refusedDeep = await refusal(() => labApi.shareOnward(atLab.id, { partnerOrg: county!.org, policy: labPolicy.policy }))
  expectCode(refusedDeep, 'CW_ERR_CHAIN_DEPTH_EXCEEDED', 'a second onward hop')
  say(`${lab!.name} tries to share it onward again, to ${county!.name}: refused, ${refusedDeep.status} ${refusedDeep.code} (maxDepth 1 is used up).`)

  // 8. Revocation at the origin reaches both.
  await metroApi.revokeShare(share.id, 'Case transferred to the state police.')
  say(`${metro!.name} revokes share ${share.id}.`)
  for (const [api, external, node] of [
    [countyApi, atCounty, county!],
    [labApi, atLab, lab!],
  ] as const) {
    const gone = await waitFor(
      `${node.name} to lose access`,
      async (seen) => {
        try {
          const still = await api.getExternalCase(external.id)
          seen(still.status)
          return undefined
        } catch (error) {
          if (error instanceof LocalApiError && error.status === 410) return error
          throw error
        }
      },
      { timeoutMs },
    )
    expectCode(gone, 'CW_ERR_SHARE_REVOKED', `${node.name} reading the revoked external case`)
    say(`  ${node.name} reading its external case: ${gone.status} ${gone.code} — at ${elapsed()}.`)
  }
  say(`Stopping the three nodes (SIGTERM) after ${elapsed()}…`)
}

async function pair(api: LocalClient, self: LoopbackNode, partner: LoopbackNode, say: (line: string) => void): Promise<void> {
  const imported = await api.importPartner(partner.bundle, partner.caFingerprint)
  if (imported.caFingerprint !== partner.caFingerprint) throw new Error(`${self.name} pinned ${imported.caFingerprint}, not ${partner.caFingerprint}`)
  say(`${self.name} pins ${partner.name}'s partner bundle (CA fingerprint ${short(partner.caFingerprint)} checked out of band).`)
}

async function delivered(api: LocalClient, shareId: string, revision: number, timeoutMs: number): Promise<Share> {
  const share = await waitFor(
    `share ${shareId} revision ${revision} to be delivered`,
    async (seen) => {
      const current = await api.getShare(shareId)
      seen(`${current.status} r${current.revision}`)
      if (current.status === 'rejected') throw new Error(`share ${shareId} was rejected: ${current.statusCode} ${current.statusDetail ?? ''}`)
      return current.status === 'delivered' && current.revision >= revision ? current : undefined
    },
    { timeoutMs },
  )
  return share
}

async function completeExternal(api: LocalClient, shareId: string, timeoutMs: number): Promise<ExternalCase> {
  const summary = await waitFor(
    `the external case of share ${shareId} to be complete`,
    async (seen) => {
      const found = (await api.listExternalCases()).find((candidate) => candidate.shareId === shareId)
      seen(found?.status ?? 'not listed')
      return found?.status === 'complete' ? found : undefined
    },
    { timeoutMs },
  )
  return api.getExternalCase(summary.id)
}

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

function at(error: LocalApiError): string {
  return error.problem?.at === undefined ? '' : ` at ${error.problem.at}`
}

function describe(policy: SharingPolicy): string {
  const actions: string[] = (['view', 'download', 'import', 'applyUpdates'] as const).filter((action) => policy.permissions[action])
  const onward = policy.permissions.shareOnward
  actions.push(
    onward.allowed ? `shareOnward depth ${onward.maxDepth}${onward.partners === undefined ? '' : ` to ${onward.partners.join(', ')}`}` : 'no onward sharing',
  )
  return `${actions.join(', ')}; fields ${policy.content.caseFields.join(', ')}; categories ${policy.content.evidenceCategories.join(', ')}`
}

function describeLink(link: unknown): string {
  if (typeof link !== 'object' || link === null) return String(link)
  const entry = link as Record<string, unknown>
  if (!('depth' in entry)) return JSON.stringify(link)
  // `from`/`to` are `{ org, name }` (names as this node knows them); `iss`/`aud` plain org ids.
  const org = (value: unknown): string => {
    if (typeof value === 'string') return value
    if (typeof value !== 'object' || value === null) return '?'
    const named = value as { org?: string; name?: string | null }
    return named.name === undefined || named.name === null ? (named.org ?? '?') : `${named.name} (${named.org ?? '?'})`
  }
  const policy = entry['policy'] as { id?: string; version?: number } | string | undefined
  const policyText = typeof policy === 'object' && policy !== null ? `${policy.id ?? '?'} v${policy.version ?? '?'}` : String(policy ?? '')
  const issued = typeof entry['issuedAt'] === 'number' ? `, issued ${new Date(entry['issuedAt'] * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''
  return `depth ${String(entry['depth'])}: ${org(entry['from'] ?? entry['iss'])} → ${org(entry['to'] ?? entry['aud'])}${policyText === '' ? '' : `, policy ${policyText}`}${issued}`
}

function short(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`
}
