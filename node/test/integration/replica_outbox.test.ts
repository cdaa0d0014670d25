/**
 * Two replicas of one node consume the same outbox entries at once (SPEC.md §20 "Replicas":
 * each outbox entry is handled once, by whichever replica removes it first). Each replica is a
 * context wired by the node's own `buildContext` on a store opened independently on one
 * database of a real PostgreSQL server, with its own outbox and job runner; they share the
 * organization's identity and one blob store directory.
 *
 * A barrier makes both claim the same entries: both outboxes are stopped while the changes are
 * made, then started together, so both list the same entries and handle the same cases
 * concurrently. A second phase lets both replicas change the same cases at once with their
 * outboxes running, so rounds overlap with commits. Before the fix in `reviseShare`, a replica
 * whose revision number the other took meanwhile (PostgreSQL's primary key refused it) logged
 * "live share not revised" and removed its entries: a change the other's revision predated was
 * lost, which the second phase caught in about half of its runs.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { pino } from 'pino'
import { issueNodeCertificate, privateKeyToPem } from '#certs'
import type { CaseManifest } from '#protocol'
import { createTestOrg, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { evidence, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { REVIEW, testPolicy } from '../../../testkit/fixtures/policies.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { verifyStoredAuditChain } from '../../src/audit/audit_trail.ts'
import { buildContext, type BuiltContext } from '../../src/build_context.ts'
import { createCase, updateCase } from '../../src/cases/cases.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { Identity, NodeContext } from '../../src/context.ts'
import { NOTIFICATION_JOB } from '../../src/notifications/notification_jobs.ts'
import { acceptOffer } from '../../src/receiving/accept_offer.ts'
import { manifestOf } from '../../src/sending/revisions.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import type { CaseRecord, MetadataStore } from '../../src/store/metadata_store.ts'
import { openPostgresMetadataStore } from '../../src/store/postgres/postgres_metadata_store.ts'
import { addPartner } from '../support/fixtures.ts'
import { startPostgresServer } from '../support/postgres_server.ts'

const ORG = 'county-pd'
const CONSUMERS = ['audit', 'notifications', 'revisions']

const postgres = await startPostgresServer(t)
const self = await createTestOrg(ORG)
const tls = await issueNodeCertificate(self.ca, { org: ORG, name: self.name, hosts: [`${ORG}.test`] })
const identity: Identity = {
  org: ORG,
  name: self.name,
  signer: self.signer,
  tls: { key: await privateKeyToPem(tls.privateKey), cert: tls.certificate.toString('pem'), ca: self.anchor.certificate },
  caCertificate: self.anchor.certificate,
}

interface Replica {
  id: string
  built: BuiltContext
  ctx: NodeContext
  /** Log lines at warn and above (JSON). */
  problems: Array<Record<string, unknown>>
}

interface ReplicaOptions {
  notifications?: Record<string, unknown>
  /** Job kinds the runners run (default: none is started). */
  jobKinds?: readonly string[]
}

/** Two replicas of `county-pd` on a new database; their runners are started only with `jobKinds`. */
async function startReplicas(t: Test, options: ReplicaOptions = {}): Promise<[Replica, Replica]> {
  const url = await postgres.createDatabase()
  const root = await mkdtemp(join(tmpdir(), 'caseway-replica-outbox-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const open = async (index: number): Promise<Replica> => {
    const id = `${ORG}-${index}`
    const config = parseConfig(
      {
        org: ORG,
        name: `Org ${ORG}`,
        federation: { port: 0, publicUrl: `https://${ORG}.test:8443` },
        local: { port: 0 },
        transfers: { chunkSize: 65536, retryBaseMs: 10, retryMaxMs: 100 },
        log: { level: 'warn' },
        sharing: { revisionWindowMs: 0 },
        notifications: options.notifications ?? {},
        replica: { id, jobLeaseSeconds: 30 },
      },
      join(root, id),
    )
    const store = await openPostgresMetadataStore({ url, poolSize: 6 })
    const problems: Array<Record<string, unknown>> = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void problems.push(JSON.parse(line) as Record<string, unknown>) })
    const built = await buildContext(config, {
      store,
      // Two blob stores opened on one directory: what S3 is to the replicas.
      blobs: await openFsBlobStore(join(root, 'blobs')),
      identity,
      logger,
      runner: { pollMs: 25, stopTimeoutMs: 2000 },
      jobKinds: options.jobKinds ?? [],
    })
    t.teardown(() => built.close())
    if (options.jobKinds !== undefined) await built.start()
    return { id, built, ctx: built.ctx, problems }
  }
  return [await open(1), await open(2)]
}

/** Both replicas' outboxes hold their rounds while `changes` runs, then start together: both read the same entries. */
async function atOnce(replicas: readonly Replica[], changes: () => Promise<void>): Promise<void> {
  for (const replica of replicas) await replica.built.outbox.stop()
  await changes()
  await Promise.all(replicas.map((replica) => replica.built.outbox.start()))
}

/** Waits until no consumer has an entry left (a consumer that failed retries in the background). */
async function outboxDrained(store: MetadataStore): Promise<void> {
  await waitFor(
    'the outbox is empty',
    async (seen) => {
      const left = (await Promise.all(CONSUMERS.map((consumer) => store.outbox.list(consumer, 10)))).flat()
      seen(JSON.stringify(left.map((entry) => [entry.consumer, entry.event['type']])))
      return left.length === 0 ? true : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

/** What a replica logged at warn or above, but the partner version probes (the partners are not reachable here). */
function problemsOf(replicas: readonly Replica[]): Array<Record<string, unknown>> {
  return replicas.flatMap((replica) =>
    replica.problems
      .filter((line) => !String(line['msg']).startsWith('partner versions unknown'))
      .map((line) => ({ replica: replica.id, msg: line['msg'], err: (line['err'] as { message?: string } | undefined)?.message })),
  )
}

/** Every revision of `shareId`, from 1 up to the share's current one; fails on a gap. */
async function revisionsOf(t: Test, store: MetadataStore, shareId: string): Promise<CaseManifest[]> {
  const share = await store.outboundShares.get(shareId)
  const manifests: CaseManifest[] = []
  for (let number = 1; number <= share!.revision; number++) {
    const revision = await store.outboundShares.getRevision(shareId, number)
    if (revision === undefined) {
      t.fail(`revision ${number} of ${shareId} is missing`)
      return manifests
    }
    manifests.push(manifestOf(revision.manifestJws))
  }
  t.equal(await store.outboundShares.getRevision(shareId, share!.revision + 1), undefined, 'no revision past the share’s current one')
  return manifests
}

// spec: CW-REVN-001, CW-AUD-001, CW-LOC-050
t.test('two replicas consuming the same live-revision entries make one revision per change and share', async (t) => {
  const replicas = await startReplicas(t)
  const [a, b] = replicas
  await addPartner(a.ctx, 'county-da')
  await addPartner(b.ctx, 'state-lab')
  const CASES = 3
  const cases: CaseRecord[] = []
  const shares: Array<{ id: string; caseId: string }> = []
  for (let index = 0; index < CASES; index++) {
    const theCase = await createCase(replicas[index % 2]!.ctx, { fields: { caseNumber: `PD-${index}`, title: 'initial' } })
    cases.push(theCase)
    for (const partnerOrg of ['county-da', 'state-lab']) {
      const { share } = await createShare(replicas[(index + 1) % 2]!.ctx, { caseId: theCase.id, partnerOrg, scope: 'case', createdBy: 'alice' })
      shares.push({ id: share.id, caseId: theCase.id })
    }
  }

  // Barrier phase: one change per case and round, made on alternating replicas; both replicas then
  // list the same entries and revise the same shares at once.
  const ROUNDS = 12
  const started = performance.now()
  for (let round = 1; round <= ROUNDS; round++) {
    await atOnce(replicas, async () => {
      for (const [index, theCase] of cases.entries()) {
        await updateCase(replicas[(round + index) % 2]!.ctx, theCase.id, { fields: { title: `barrier ${round}` } })
      }
    })
  }
  await outboxDrained(a.ctx.store)
  for (const share of shares) {
    const manifests = await revisionsOf(t, a.ctx.store, share.id)
    t.equal(manifests.length, 1 + ROUNDS, `share ${share.id}: one revision per round`)
    t.same(
      manifests.map((manifest) => manifest.case.fields['title']),
      ['initial', ...Array.from({ length: ROUNDS }, (_, index) => `barrier ${index + 1}`)],
      'each revision carries its change, in order',
    )
  }
  t.comment(`barrier phase: ${ROUNDS} rounds × ${CASES} cases × 2 shares in ${(performance.now() - started).toFixed(0)} ms`)

  // Free phase: in each burst both replicas change every case at once, outboxes running, so
  // rounds overlap commits. Changes may coalesce into one revision, but after each burst the
  // latest revision of every share must carry its case as it is: a change whose entry a replica
  // removed without a revision holding it would be lost for good when it was the burst's last.
  const BURSTS = 15
  const freeStarted = performance.now()
  const lost: string[] = []
  for (let burst = 1; burst <= BURSTS; burst++) {
    await Promise.all(
      replicas.flatMap((replica, r) => cases.map((theCase) => updateCase(replica.ctx, theCase.id, { fields: { title: `free ${burst}.${r}` } }))),
    )
    await outboxDrained(a.ctx.store)
    for (const share of shares) {
      const current = (await a.ctx.store.outboundShares.get(share.id))!
      const latest = manifestOf((await a.ctx.store.outboundShares.getRevision(share.id, current.revision))!.manifestJws)
      const theCase = (await a.ctx.store.cases.get(share.caseId))!
      if (latest.case.fields['title'] !== theCase.fields['title']) {
        lost.push(`burst ${burst}, share ${share.id}: revision ${current.revision} has ${latest.case.fields['title']}, the case ${theCase.fields['title']}`)
      }
    }
  }
  t.comment(`free phase: ${BURSTS} bursts × ${CASES} cases × 2 replicas in ${(performance.now() - freeStarted).toFixed(0)} ms`)
  t.same(lost, [], 'after every burst, each share’s latest revision carries its case as it is (no change lost)')

  for (const share of shares) {
    const manifests = await revisionsOf(t, a.ctx.store, share.id)
    const titles = manifests.map((manifest) => manifest.case.fields['title'])
    t.ok(
      titles.every((title, index) => index === 0 || title !== titles[index - 1]),
      'no revision repeats the one before (none made twice)',
    )
    t.ok(manifests.length <= 1 + ROUNDS + 2 * BURSTS, 'at most one revision per change')
    t.same(
      manifests.map((manifest) => manifest.share.revision),
      manifests.map((_, index) => index + 1),
      'numbered 1…n',
    )
    // One offer job per share at a time (the unique index coalesces them); none failed or dead.
    const jobs = await a.ctx.store.jobs.list(share.id)
    t.same(
      jobs.map((job) => [job.kind, job.state, job.attempts]),
      [['offer', 'pending', 0]],
      'one pending offer job for the share',
    )
    const revised = (await a.ctx.store.audit.list(share.caseId, {}))
      .filter((entry) => entry.type === 'share.revised' && entry.data['shareId'] === share.id)
      .map((entry) => entry.data['revision'])
    t.same(
      revised,
      manifests.slice(1).map((manifest) => manifest.share.revision),
      'one audit entry per revision, none doubled',
    )
  }
  for (const theCase of cases) {
    t.same(await verifyStoredAuditChain(a.ctx.store, theCase.id), { ok: true, entries: (await a.ctx.store.audit.last(theCase.id))!.seq })
    const updated = (await b.ctx.store.audit.list(theCase.id, {})).filter((entry) => entry.type === 'case.updated')
    t.equal(updated.length, ROUNDS + 2 * BURSTS, 'one audit entry per case change')
  }
  t.same(
    (await a.ctx.store.jobs.list()).filter((job) => job.state === 'dead' || job.lastError !== null),
    [],
    'no job failed or died',
  )
  t.same(problemsOf(replicas), [], 'no consumer failed, no revision was refused')
})

// spec: CW-NOT-001, CW-NOT-005, CW-AUD-001
t.test('two replicas consuming the same notification entries e-mail each arrival once', async (t) => {
  const smtp = await startSmtpServer(t)
  const replicas = await startReplicas(t, {
    notifications: { smtp: { host: '127.0.0.1', port: smtp.port, from: 'Caseway <caseway@county-pd.example>' }, allowedDomains: ['county-pd.example'] },
    jobKinds: Object.values(NOTIFICATION_JOB),
  })
  const [a] = replicas
  const { partner: sender } = await addPartner(a.ctx, 'county-da')
  const policy = testPolicy(REVIEW, { id: 'da-review', version: 1 })

  const offer = async (replica: Replica, sender: TestOrg, index: number): Promise<string> => {
    const { item } = await evidence(`item-${index}`, Buffer.from(`document ${index}`), {
      name: `doc-${index}.pdf`,
      category: 'document',
      mediaType: 'application/pdf',
    })
    const { jws } = await signedManifest(sender, ORG, {
      policy,
      items: [item],
      lifetime: 3600,
      caseId: `da-case-${index}`,
      fields: { caseNumber: `DA-${index}`, title: `Arrival ${index}` },
      recipients: [{ kind: 'email', id: `intake-${index}@county-pd.example` }],
    })
    return (await acceptOffer(replica.ctx, sender.org, jws)).inboundId
  }

  const ROUNDS = 5
  const PER_ROUND = 4
  const inbound: string[] = []
  const started = performance.now()
  for (let round = 0; round < ROUNDS; round++) {
    await atOnce(replicas, async () => {
      for (let n = 0; n < PER_ROUND; n++) {
        const index = round * PER_ROUND + n
        inbound.push(await offer(replicas[index % 2]!, sender, index))
      }
    })
  }
  const total = ROUNDS * PER_ROUND
  await smtp.waitForMessages(total, 20_000)
  // Every job done and every `notification.sent` in its trail before counting.
  await waitFor(
    'every notification job done',
    async (seen) => {
      const jobs = (await a.ctx.store.jobs.list()).filter((job) => job.kind === NOTIFICATION_JOB.email)
      seen(JSON.stringify(jobs.map((job) => job.state)))
      return jobs.length === total && jobs.every((job) => job.state === 'done') ? true : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
  await outboxDrained(a.ctx.store)
  t.comment(`${total} arrivals, ${ROUNDS} barrier rounds, mailed in ${(performance.now() - started).toFixed(0)} ms`)

  t.equal(smtp.received.length, total, 'one e-mail per arrival')
  t.same(
    smtp.received.map((mail) => mail.to.join(',')).sort(),
    Array.from({ length: total }, (_, index) => `intake-${index}@county-pd.example`).sort(),
    'each recipient mailed once',
  )
  t.equal(new Set(smtp.received.map((mail) => mail.headers.get('message-id'))).size, total, 'distinct Message-IDs')
  for (const id of inbound) {
    t.match(await a.ctx.store.notifications.list(id), [{ revision: 1, channel: 'email', status: 'sent', attempts: 1, lastError: null }])
    const jobs = (await a.ctx.store.jobs.list()).filter((job) => job.ref.startsWith(id) && job.kind === NOTIFICATION_JOB.email)
    t.same(
      jobs.map((job) => [job.state, job.attempts]),
      [['done', 1]],
      'one e-mail job, run once',
    )
    t.same(await verifyStoredAuditChain(a.ctx.store, id), { ok: true, entries: (await a.ctx.store.audit.last(id))!.seq })
    const trail = await a.ctx.store.audit.list(id, {})
    t.equal(trail.filter((entry) => entry.type === 'inbound.received').length, 1, 'one arrival in the trail')
    t.equal(trail.filter((entry) => entry.type === 'notification.sent').length, 1, 'one e-mail in the trail')
  }
  t.same(problemsOf(replicas), [], 'no consumer or job failed')
})
