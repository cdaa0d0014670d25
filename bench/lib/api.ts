/**
 * A small client of a node's local API (loopback HTTP, bearer token). Problem documents become
 * errors carrying the problem's code. A `429 CW_ERR_RATE_LIMITED` (the node's per-token limit,
 * `limits.rateLimit.localPerMinute`) is waited out as its `Retry-After` says, then retried.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { request } from 'node:http'

export class ApiError extends Error {
  readonly status: number
  readonly code: string | undefined
  /** Seconds, from `Retry-After` (on a 429). */
  readonly retryAfter: number | undefined

  constructor(status: number, code: string | undefined, message: string, retryAfter?: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

const MAX_RATE_LIMIT_WAITS = 10

/** Runs `attempt` again while it fails with 429, after the wait the node asks for. */
async function retryRateLimited<T>(attempt: () => Promise<T>): Promise<T> {
  for (let waits = 0; ; waits++) {
    try {
      return await attempt()
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 429 || waits >= MAX_RATE_LIMIT_WAITS) throw error
      const seconds = error.retryAfter ?? 1
      rateLimitWaits += 1
      await new Promise((resolve) => setTimeout(resolve, Math.max(0.1, seconds) * 1000))
    }
  }
}

let rateLimitWaits = 0

/** How many times a request waited out a 429 so far (the benchmark reports it). */
export function rateLimitWaitCount(): number {
  return rateLimitWaits
}

function retryAfterOf(value: string | string[] | null | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || text === null) return undefined
  const seconds = Number(text)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined
}

export class LocalApi {
  readonly base: string
  readonly #token: string

  constructor(base: string, token: string) {
    this.base = base.replace(/\/+$/, '')
    this.#token = token
  }

  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return retryRateLimited(() => this.#callOnce<T>(method, path, body))
  }

  async #callOnce<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    const value: unknown = text.length === 0 ? undefined : JSON.parse(text)
    if (!response.ok) throw problemError(method, path, response.status, value, retryAfterOf(response.headers.get('retry-after')))
    return value as T
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path)
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body)
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body)
  }

  /** POSTs `body` (bytes, or a file streamed from disk) as `application/octet-stream`. */
  upload<T>(path: string, body: Uint8Array | { file: string; size: number }): Promise<T> {
    return retryRateLimited(() => this.#uploadOnce<T>(path, body))
  }

  #uploadOnce<T>(path: string, body: Uint8Array | { file: string; size: number }): Promise<T> {
    const url = new URL(this.base + path)
    const length = body instanceof Uint8Array ? body.byteLength : body.size
    return new Promise<T>((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.#token}`,
            'content-type': 'application/octet-stream',
            'content-length': length,
          },
        },
        (response) => {
          const parts: Buffer[] = []
          response.on('data', (part: Buffer) => parts.push(part))
          response.once('error', reject)
          response.once('end', () => {
            const text = Buffer.concat(parts).toString('utf8')
            let value: unknown
            try {
              value = text.length === 0 ? undefined : JSON.parse(text)
            } catch {
              value = text
            }
            const status = response.statusCode ?? 0
            if (status < 200 || status > 299) reject(problemError('POST', path, status, value, retryAfterOf(response.headers['retry-after'])))
            else resolve(value as T)
          })
        },
      )
      outgoing.once('error', reject)
      if (body instanceof Uint8Array) outgoing.end(body)
      else {
        const source = createReadStream(body.file, { highWaterMark: 1024 * 1024 })
        source.once('error', (error) => outgoing.destroy(error))
        source.pipe(outgoing)
      }
    })
  }
}

function problemError(method: string, path: string, status: number, value: unknown, retryAfter?: number): ApiError {
  const problem = (typeof value === 'object' && value !== null ? value : {}) as { code?: unknown; detail?: unknown }
  const code = typeof problem.code === 'string' ? problem.code : undefined
  const detail = typeof problem.detail === 'string' ? problem.detail : JSON.stringify(value)
  return new ApiError(status, code, `${method} ${path}: ${status} ${code ?? ''} ${detail}`, retryAfter)
}
