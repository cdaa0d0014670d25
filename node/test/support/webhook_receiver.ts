/**
 * A local HTTP server standing in for an agency's system that receives Caseway webhooks: it
 * records each request's headers and raw body bytes and answers with the next status of a
 * plan (the last one repeats).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface WebhookRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** The body exactly as received (what the signature covers). */
  body: Buffer
  /** The status the server answered. */
  answered: number
}

export interface WebhookReceiver {
  url: string
  requests: WebhookRequest[]
  /** Statuses to answer from now on (the last repeats). */
  answer(...statuses: number[]): void
  waitForRequests(count: number, timeoutMs?: number): Promise<WebhookRequest[]>
  close(): Promise<void>
}

interface TestHandle {
  teardown(fn: () => unknown): void
}

export async function startWebhookReceiver(t: TestHandle, ...statuses: number[]): Promise<WebhookReceiver> {
  let plan = statuses.length === 0 ? [200] : statuses
  const requests: WebhookRequest[] = []
  const waiters: Array<() => void> = []
  const server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      const status = plan.length > 1 ? plan.shift()! : plan[0]!
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(parts), answered: status })
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now')
      for (const wake of waiters.splice(0)) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  let closed = false
  const close = () => {
    if (closed) return Promise.resolve()
    closed = true
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${port}/caseway/events`,
    requests,
    answer(...next) {
      plan = next
    },
    async waitForRequests(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (requests.length < count) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`webhook receiver got ${requests.length} of ${count} requests`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      return requests
    },
    close,
  }
}
