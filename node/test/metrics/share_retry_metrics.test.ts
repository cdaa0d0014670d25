/**
 * `caseway_shares` tells a share the node still retries from one it gave up on (SPEC.md
 * CW-LOC-030), read from /metrics of a real node (`createNode`, the wiring `caseway start`
 * uses) sharing over mutual TLS with a partner whose node is down. The node's clock runs a
 * test-controlled offset ahead of real time, so the next attempt is made due without waiting.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LocalClient } from '../../../client/local_client.ts'
import { generatedContent } from '../../../testkit/content.ts'
import { initLoopbackNode } from '../../../testkit/loopback_node.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createNode } from '../../src/node.ts'

/** The `caseway_shares` samples of a Prometheus text exposition, as `direction/status` → count. */
function shareCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const match of text.matchAll(/^caseway_shares\{direction="(\w+)",status="(\w+)"\} (\S+)$/gm)) {
    counts[`${match[1]}/${match[2]}`] = Number(match[3])
  }
  return counts
}

t.test('a share to a partner that is down counts as retrying, and as failed only once the node gave up', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'caseway-retry-metrics-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  // Two attempts, a minute apart: the first fails and leaves one more, the second is the last.
  const metroDir = await initLoopbackNode({
    org: 'metro-pd',
    name: 'Metro PD',
    dir: join(parent, 'metro-pd'),
    settings: { transfers: { maxAttempts: 2, retryBaseMs: 60_000, retryMaxMs: 60_000 }, log: { level: 'silent' } },
  })
  // County DA's node is made but never started: nothing listens on its endpoint.
  const county = await initLoopbackNode({ org: 'county-da', name: 'County DA', dir: join(parent, 'county-da') })
  let clockOffsetMs = 0
  const metro = await createNode(metroDir.config, { clock: { now: () => new Date(Date.now() + clockOffsetMs) } })
  await metro.start()
  t.teardown(() => metro.stop())
  const { token } = await createToken(metro.ctx, { userId: 'admin-1', role: 'admin' })
  const api = new LocalClient({ baseUrl: metro.localUrl, token })
  async function scrape(): Promise<Record<string, number>> {
    const response = await fetch(`${metro.localUrl}/metrics`)
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
    return shareCounts(await response.text())
  }

  await api.importPartner(county.bundle, county.caFingerprint)
  const policy = await api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber'], evidenceCategories: ['document'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await api.assignPolicy('county-da', policy.id)
  const theCase = await api.createCase({ caseNumber: 'MPD-9', title: 'Theft' })
  await api.uploadEvidence(theCase.id, { name: 'report.pdf', category: 'document' }, generatedContent(10_000, 'report'))
  const share = await api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })

  const retrying = await waitFor('the first attempt failed', async (seen) => {
    const counts = await scrape()
    seen(JSON.stringify(counts))
    return counts['outbound/retrying'] === 1 ? counts : undefined
  })
  t.same(retrying, { 'outbound/retrying': 1 }, 'retrying, not failed, while an attempt is left')
  const shown = await api.getShare(share.id)
  t.equal(shown.status, 'retrying', 'as the local API says')

  // The next attempt is due a minute later on the node's clock: move it there (the job runner polls every second).
  clockOffsetMs = 120_000
  const failed = await waitFor('the last attempt failed', async (seen) => {
    const counts = await scrape()
    seen(JSON.stringify(counts))
    return counts['outbound/failed'] === 1 ? counts : undefined
  })
  t.same(failed, { 'outbound/failed': 1 }, 'failed once no attempt is left, and no longer retrying')
  t.equal((await api.getShare(share.id)).status, 'failed', 'as the local API says')
})
