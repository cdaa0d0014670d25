/**
 * The webhook notification (SPEC.md CW-NOT-001 to CW-NOT-004): a `share.received` event
 * POSTed as JSON to the agency's own system, signed with the shared secret
 * (`Caseway-Signature`, see `signature.ts`) and identified by `Caseway-Event-Id`, the same
 * on every retry so the receiver can drop duplicates. Any 2xx answer is delivery; anything
 * else (other statuses, redirects, timeouts, connection errors) is retried by the job runner.
 *
 * @module
 */
import type { Recipient } from '#protocol'
import type { NodeConfig } from '../config/schema.ts'
import { PermanentJobError } from '../jobs/job_runner.ts'
import type { ShareNotice } from './notice.ts'
import { signWebhookBody, WEBHOOK_EVENT_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from './signature.ts'

type WebhookConfig = NonNullable<NodeConfig['notifications']['webhook']>

/** The JSON body of a `share.received` webhook request. */
export interface ShareReceivedEvent {
  /** `share.recipients_added`: the receiving side added `recipients` to the external case (CW-LOC-026). */
  type: 'share.received' | 'share.recipients_added'
  /** Event id (UUID), also in `Caseway-Event-Id`; the same on every retry. */
  id: string
  /** When the revision was accepted (ISO 8601, UTC). */
  occurredAt: string
  /** Our organization's org id. */
  node: string
  /** The external case id on our node (`GET /api/v1/external-cases/{id}`). */
  externalCase: string
  sender: { org: string; name: string }
  share: { id: string; revision: number }
  recipients: Recipient[]
  /** Number of evidence items in the revision. */
  items: number
}

/** Longest a webhook request may take, connection to answer. */
const WEBHOOK_TIMEOUT_MS = 15_000
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

export function shareReceivedEvent(notice: ShareNotice, ourOrg: string): ShareReceivedEvent {
  return {
    type: notice.addition === undefined ? 'share.received' : 'share.recipients_added',
    id: notice.id,
    occurredAt: notice.occurredAt,
    node: ourOrg,
    externalCase: notice.inboundId,
    sender: { org: notice.sender.org, name: notice.sender.name },
    share: { id: notice.shareId, revision: notice.revision },
    recipients: notice.recipients,
    items: notice.items,
  }
}

/**
 * POSTs `event` to the webhook, signed at `now`.
 *
 * @throws {Error} `webhook answered HTTP <status>` or `webhook unreachable: …` (retryable).
 * @throws {PermanentJobError} when the URL is not allowed (the configuration is validated, so
 *   only a hand-made configuration gets here).
 */
export async function postWebhook(webhook: WebhookConfig, event: ShareReceivedEvent, now: Date, signal: AbortSignal): Promise<{ status: number }> {
  signal.throwIfAborted()
  const url = allowedUrl(webhook.url)
  const body = JSON.stringify(event)
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Caseway/0.1',
        [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(webhook.secret, body, now),
        [WEBHOOK_EVENT_ID_HEADER]: event.id,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
    })
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw new Error(`webhook unreachable: ${reason(error)}`, { cause: error })
  }
  // The answer's body is not used: drop it without reading it.
  await response.body?.cancel().catch(() => undefined)
  if (response.status < 200 || response.status > 299) throw new Error(`webhook answered HTTP ${response.status}`)
  return { status: response.status }
}

/** The configured URL if it is https, or http on loopback, without user info. */
function allowedUrl(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new PermanentJobError('webhook URL is not a URL')
  }
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
  if ((url.protocol !== 'https:' && !loopbackHttp) || url.username !== '' || url.password !== '') {
    throw new PermanentJobError('webhook URL must be https (or http on loopback) without user info')
  }
  return url
}

/** Why a request failed, without the URL: the timeout, or the socket error code. */
function reason(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name
  if (name === 'TimeoutError') return `no answer within ${WEBHOOK_TIMEOUT_MS} ms`
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.message === 'string') return cause.message.slice(0, 200)
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error'
}
