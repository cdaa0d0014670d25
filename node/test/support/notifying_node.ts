/**
 * A receiving node in the test process, wired like `createNode` wires it for notifications:
 * `buildContext` with notifications configured (the notification consumer of the outbox, a real
 * job runner with the notification handlers and, when asked, the exchange handlers, so an
 * offer is fetched and completed too). Its partner `county-da` offers real signed manifests through the
 * receiving service (`acceptOffer`), exactly as the federation listener does. Logs go,
 * redacted with the node's `LOG_REDACT`, into `logs` at trace level.
 */
import { pino } from 'pino'
import { digestJson, type CaseManifest, type EvidenceItem, type Recipient, type SharingPolicy } from '#protocol'
import { parseConfig } from '../../src/config/load.ts'
import { buildContext } from '../../src/build_context.ts'
import type { NodeContext } from '../../src/context.ts'
import type { AnyNodeEvent } from '../../src/events.ts'
import type { JobRunner } from '../../src/jobs/job_runner.ts'
import { LOG_REDACT } from '../../src/node.ts'
import { NOTIFICATION_JOB } from '../../src/notifications/notification_jobs.ts'
import { acceptOffer } from '../../src/receiving/accept_offer.ts'
import type { JobRecord, NotificationChannel, NotificationRecord, UserRecord } from '../../src/store/metadata_store.ts'
import { evidence, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import type { TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { REVIEW, testPolicy } from '../../../testkit/fixtures/policies.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { createTestContext } from './context.ts'
import { addPartner } from './fixtures.ts'

export const SENDER = 'county-da'

interface TestHandle {
  teardown(fn: () => unknown): void
}

export interface HarnessOptions {
  /** The `notifications` section of the node's configuration. */
  notifications?: Record<string, unknown>
  /** The runner's and the configuration's `transfers.maxAttempts` (default 50). */
  maxAttempts?: number
  /** Also run the exchange jobs (fetch, receipt), so an offer completes (default false). */
  exchange?: boolean
}

export interface OfferOptions {
  shareId?: string
  revision?: number
  /** The manifest of the previous revision (for revision > 1). */
  previous?: CaseManifest
  fields?: Record<string, string>
  message?: string
  recipients?: Recipient[]
  /** Evidence items, each one chunk of these bytes (stored in the node's blob store beforehand, as delivered by the sender, when `storeChunks`). */
  items?: Record<string, Uint8Array>
  storeChunks?: boolean
  /** The policy of the grant (default the harness's `policy`). */
  policy?: SharingPolicy
}

export interface NotifyingNode {
  ctx: NodeContext
  events: AnyNodeEvent[]
  runner: JobRunner
  sender: TestOrg
  /** Every log line so far (JSON text). */
  logs: string[]
  /** The policy the sender shares under: case number, title and description; documents. */
  policy: SharingPolicy
  offer(options?: OfferOptions): Promise<{ inboundId: string; manifest: CaseManifest }>
  addUser(user: Partial<UserRecord> & { id: string }): Promise<void>
  /** Polls until the notification satisfies `done`. */
  waitForNotification(
    inboundId: string,
    revision: number,
    channel: NotificationChannel,
    done: (n: NotificationRecord) => boolean,
    timeoutMs?: number,
  ): Promise<NotificationRecord>
  /**
   * The notification job of `channel` for a revision once it is no longer running: the runner
   * records how a job ended after the job has recorded its notification's state.
   */
  waitForJobEnd(inboundId: string, revision: number, channel: NotificationChannel): Promise<JobRecord>
}

export async function startNotifyingNode(t: TestHandle, options: HarnessOptions = {}): Promise<NotifyingNode> {
  const maxAttempts = options.maxAttempts ?? 50
  const tc = await createTestContext({ transfers: { retryBaseMs: 10, retryMaxMs: 100, maxAttempts } })
  const { dir, ...file } = tc.ctx.config
  const config = parseConfig({ ...file, notifications: options.notifications ?? {} }, dir)

  const logs: string[] = []
  const log = pino({ level: 'trace', redact: LOG_REDACT, base: { org: config.org } }, { write: (line: string) => void logs.push(line) })
  const events: AnyNodeEvent[] = []
  // The test context's stores and identity, wired again with notifications configured.
  const built = await buildContext(config, {
    store: tc.ctx.store,
    blobs: tc.ctx.blobs,
    identity: tc.ctx.identity,
    clock: tc.ctx.clock,
    logger: log,
    observers: [(event) => void events.push(event)],
    runner: { pollMs: 50, stopTimeoutMs: 2000 },
    // Kinds this harness does not run (fetch and receipt without `exchange`) stay stored only.
    jobKinds: options.exchange === true ? undefined : Object.values(NOTIFICATION_JOB),
  })
  const { ctx, runner } = built
  await built.start()
  t.teardown(async () => {
    await built.stop()
    await built.peer.close()
    await tc.close()
  })

  const policy = testPolicy(REVIEW, {
    id: 'da-review',
    version: 1,
    content: { caseFields: ['caseNumber', 'title', 'description'], evidenceCategories: ['document'], attachments: false },
  })
  const { partner: sender } = await addPartner(ctx, SENDER)

  return {
    ctx,
    events,
    runner,
    sender,
    logs,
    policy,
    async offer(offer = {}) {
      const items: EvidenceItem[] = []
      for (const [id, bytes] of Object.entries(offer.items ?? {})) {
        const { item } = await evidence(id, bytes, { name: `${id}.pdf`, category: 'document', mediaType: 'application/pdf' })
        if (offer.storeChunks === true) {
          // As if this partner had delivered the chunk before: only then is it not pulled again (CW-POS-001).
          await ctx.blobs.put(item.chunks[0]!, bytes)
          await ctx.store.chunks.recordDelivered(SENDER, item.chunks[0]!, Math.floor(Date.now() / 1000))
        }
        items.push(item)
      }
      const { jws, manifest } = await signedManifest(sender, ctx.identity.org, {
        ...(offer.shareId === undefined ? {} : { shareId: offer.shareId }),
        ...(offer.revision === undefined ? {} : { revision: offer.revision }),
        ...(offer.previous === undefined ? {} : { previous: digestJson(offer.previous) }),
        ...(offer.message === undefined ? {} : { message: offer.message }),
        ...(offer.recipients === undefined ? {} : { recipients: offer.recipients }),
        policy: offer.policy ?? policy,
        items,
        lifetime: 3600,
        caseId: 'da-case-1',
        fields: offer.fields ?? { caseNumber: 'DA-2024-117', title: 'Robbery at 5th and Main' },
      })
      const accepted = await acceptOffer(ctx, SENDER, jws)
      return { inboundId: accepted.inboundId, manifest }
    },
    async addUser(user) {
      const now = Math.floor(Date.now() / 1000)
      await ctx.store.principals.upsertUser({
        name: user.id,
        email: null,
        badge: null,
        role: 'member',
        kind: 'user',
        disabled: false,
        createdAt: now,
        updatedAt: now,
        ...user,
      })
    },
    waitForNotification(inboundId, revision, channel, done, timeoutMs = 15_000) {
      return waitFor(
        `notification ${channel} of ${inboundId}:${revision}`,
        async (seen) => {
          const current = await ctx.store.notifications.get(inboundId, revision, channel)
          seen(JSON.stringify(current))
          return current !== undefined && done(current) ? current : undefined
        },
        { timeoutMs, intervalMs: 25 },
      )
    },
    waitForJobEnd(inboundId, revision, channel) {
      return waitFor(
        `the ${channel} notification job of ${inboundId}:${revision} to end`,
        async (seen) => {
          const jobs = (await ctx.store.jobs.list(`${inboundId}:${revision}`)).filter((job) => job.kind === NOTIFICATION_JOB[channel])
          seen(JSON.stringify(jobs))
          return jobs.length === 1 && jobs[0]!.state !== 'running' ? jobs[0] : undefined
        },
        { timeoutMs: 15_000, intervalMs: 25 },
      )
    },
  }
}
