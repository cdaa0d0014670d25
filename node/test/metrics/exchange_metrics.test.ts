/**
 * Metrics after a real exchange: two nodes made by `createNode` (the wiring `caseway start`
 * uses) in one process, each with its own registry, talking mutual TLS on 127.0.0.1. A
 * share goes from Metro PD to County DA; both nodes' /metrics must then agree with what
 * happened.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { LocalClient } from '../../../client/local_client.ts'
import { initLoopbackNode, type LoopbackNode } from '../../../testkit/loopback_node.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { createNode, type CasewayNode } from '../../src/node.ts'
import { PeerRefusal } from '../../src/peer/errors.ts'
import { createPeerClient } from '../../src/peer/peer_client.ts'
import { certificateLifetimes, daysLeft } from '../../src/operations/certificate_lifetimes.ts'
import { createToken } from '../../src/access/tokens.ts'

const CHUNK_SIZE = 65_536
const SIZES = { 'bodycam.mp4': 300_001, 'statement.pdf': 150_000 } as const
const EVIDENCE_BYTES = SIZES['bodycam.mp4'] + SIZES['statement.pdf']

/** The value of one sample of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`)
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const present = (match[2] ?? '').split(',').filter((label) => label !== '')
    if (present.length === wanted.length && wanted.every((label) => present.includes(label))) return Number(match[3])
  }
  return undefined
}

interface Org {
  node: CasewayNode
  loopback: LoopbackNode
  api: LocalClient
  scrape(): Promise<string>
}

async function startOrg(t: Test, parent: string, org: string, name: string): Promise<Org> {
  const loopback = await initLoopbackNode({
    org,
    name,
    dir: join(parent, org),
    settings: { transfers: { chunkSize: CHUNK_SIZE, retryBaseMs: 50, retryMaxMs: 500 }, log: { level: 'silent' } },
  })
  const node = await createNode(loopback.config)
  await node.start()
  t.teardown(() => node.stop())
  const { token } = await createToken(node.ctx, { userId: 'admin-1', role: 'admin' })
  return {
    node,
    loopback,
    api: new LocalClient({ baseUrl: node.localUrl, token }),
    async scrape() {
      const response = await fetch(`${node.localUrl}/metrics`)
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
      return response.text()
    },
  }
}

t.test('after a delivered share both nodes count the same bytes, the share, its duration and the partner contact', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'caseway-metrics-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  const started = Date.now()
  const metro = await startOrg(t, parent, 'metro-pd', 'Metro PD')
  const county = await startOrg(t, parent, 'county-da', 'County DA')
  await metro.api.importPartner(county.loopback.bundle, county.loopback.caFingerprint)
  await county.api.importPartner(metro.loopback.bundle, metro.loopback.caFingerprint)

  t.equal(sample(await metro.scrape(), 'caseway_bytes_sent_total', { peer: 'county-da' }), undefined, 'nothing sent yet')
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video', 'document'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-7', title: 'Burglary' })
  await metro.api.uploadEvidence(
    theCase.id,
    { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' },
    generatedContent(SIZES['bodycam.mp4'], 'video'),
  )
  await metro.api.uploadEvidence(theCase.id, { name: 'statement.pdf', category: 'document' }, generatedContent(SIZES['statement.pdf'], 'document'))
  const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })
  await waitFor(
    'delivered',
    async (seen) => {
      const current = await metro.api.getShare(share.id)
      seen(current.status)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 20_000 },
  )
  const elapsedSeconds = (Date.now() - started) / 1000

  const sent = await metro.scrape()
  const received = await county.scrape()
  // Bytes: every chunk crossed once, so both ends count exactly the evidence size.
  t.equal(sample(sent, 'caseway_bytes_sent_total', { peer: 'county-da' }), EVIDENCE_BYTES, 'bytes sent by Metro PD = evidence size')
  t.equal(sample(received, 'caseway_bytes_received_total', { peer: 'metro-pd' }), EVIDENCE_BYTES, 'bytes received by County DA = evidence size')
  t.equal(sample(sent, 'caseway_bytes_received_total', { peer: 'county-da' }), undefined, 'the sender received none')
  t.equal(sample(received, 'caseway_bytes_sent_total', { peer: 'metro-pd' }), undefined, 'the receiver sent none')

  // Shares, from each store.
  t.equal(sample(sent, 'caseway_shares', { direction: 'outbound', status: 'delivered' }), 1)
  t.equal(sample(sent, 'caseway_shares', { direction: 'inbound', status: 'complete' }), undefined)
  t.equal(sample(received, 'caseway_shares', { direction: 'inbound', status: 'complete' }), 1)

  // One transfer each way, timed within the test's own duration.
  for (const [text, direction] of [
    [sent, 'outbound'],
    [received, 'inbound'],
  ] as const) {
    t.equal(sample(text, 'caseway_transfer_duration_seconds_count', { direction }), 1, `one ${direction} transfer`)
    const seconds = sample(text, 'caseway_transfer_duration_seconds_sum', { direction })!
    t.ok(seconds > 0 && seconds < elapsedSeconds, `${direction} transfer took ${seconds} s (test ran ${elapsedSeconds} s)`)
    t.equal(sample(text, 'caseway_transfer_duration_seconds_bucket', { direction, le: '+Inf' }), 1)
  }
  t.equal(sample(sent, 'caseway_transfer_duration_seconds_count', { direction: 'inbound' }), undefined)

  // Each side heard from the other just now; each knows only its own partner.
  const now = Date.now() / 1000
  for (const [text, peer] of [
    [sent, 'county-da'],
    [received, 'metro-pd'],
  ] as const) {
    const last = sample(text, 'caseway_peer_last_success_timestamp_seconds', { peer })!
    t.ok(last > started / 1000 && last <= now, `last success with ${peer} at ${last}`)
  }
  t.equal(sample(sent, 'caseway_peer_last_success_timestamp_seconds', { peer: 'metro-pd' }), undefined)
  t.equal(sample(sent, 'caseway_verification_failures_total', { code: 'CW_ERR_MALFORMED' }), undefined, 'no failure yet')

  // Certificates: the gauge says what the files say.
  for (const lifetime of certificateLifetimes(metro.node.ctx.identity)) {
    const seconds = sample(sent, 'caseway_certificate_expiry_seconds', { certificate: lifetime.certificate })!
    t.ok(Math.abs(seconds / 86_400 - daysLeft(lifetime, new Date())) < 0.01, `${lifetime.certificate}: ${seconds} seconds`)
  }
  t.ok((sample(sent, 'caseway_process_resident_memory_bytes') ?? sample(sent, 'caseway_nodejs_heap_size_used_bytes'))! > 0, 'process metrics')

  // Readiness on the sender lists the receiver's last contact.
  const ready = (await (await fetch(`${metro.node.localUrl}/readyz`)).json()) as {
    status: string
    checks: { partners: { partners: Array<{ org: string; lastSuccess: string | null }> } }
  }
  t.equal(ready.status, 'ready')
  t.ok(ready.checks.partners.partners.find((partner) => partner.org === 'county-da')?.lastSuccess, 'the partner was heard from')
})

t.test('a refusal by the federation listener and a failed notification are counted by code and channel', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'caseway-metrics-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  const metro = await startOrg(t, parent, 'metro-pd', 'Metro PD')
  const county = await startOrg(t, parent, 'county-da', 'County DA')
  await metro.api.importPartner(county.loopback.bundle, county.loopback.caFingerprint)
  await county.api.importPartner(metro.loopback.bundle, metro.loopback.caFingerprint)

  // County DA's node offers Metro PD something that is not a manifest, twice.
  const client = createPeerClient(county.node.ctx)
  t.teardown(() => client.close())
  const metroAsPartner = (await county.node.ctx.store.partners.get('metro-pd'))!
  const codes: string[] = []
  for (let i = 0; i < 2; i += 1) {
    const refusal = await client.offer(metroAsPartner, 'not.a.manifest').catch((error: unknown) => error)
    t.ok(refusal instanceof PeerRefusal)
    codes.push((refusal as PeerRefusal).code)
  }
  t.equal(codes[0], codes[1])
  const text = await metro.scrape()
  t.equal(sample(text, 'caseway_verification_failures_total', { code: codes[0]! }), 2, `two ${codes[0]} refusals counted`)
  t.equal(sample(text, 'caseway_peer_last_success_timestamp_seconds', { peer: 'county-da' }), undefined, 'a refusal is no successful exchange')

  await county.node.ctx.record({
    type: 'notification.failed',
    caseId: 'ext-1',
    actor: { kind: 'system' },
    channel: 'webhook',
    revision: 1,
    attempts: 1,
    error: 'connect ECONNREFUSED',
    dead: false,
  })
  const countyText = await county.scrape()
  t.equal(sample(countyText, 'caseway_notification_failures_total', { channel: 'webhook' }), 1)
  t.equal(sample(await metro.scrape(), 'caseway_notification_failures_total', { channel: 'webhook' }), undefined, 'only on the node that failed')
})
