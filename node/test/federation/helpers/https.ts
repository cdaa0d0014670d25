/**
 * A bare HTTPS client for the federation tests: one fresh TLS connection per request, with
 * whatever client certificate (or none) and TLS versions a test wants, so that refusals can be
 * observed at the handshake and on the wire.
 */
import { request, type RequestOptions } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import type { SecureVersion } from 'node:tls'

export interface RawTls {
  /** The CA the server certificate must chain to. */
  ca: string
  cert?: string
  key?: string
  minVersion?: SecureVersion
  maxVersion?: SecureVersion
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  json(): Record<string, unknown>
}

export interface RawRequest {
  method?: string
  headers?: Record<string, string | number>
  body?: string | Buffer
}

export function rawRequest(url: string, tls: RawTls, options: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url)
  const requestOptions: RequestOptions = {
    host: target.hostname,
    port: target.port,
    path: target.pathname + target.search,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    agent: false,
    ca: tls.ca,
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
  }
  return new Promise((resolve, reject) => {
    const req = request(requestOptions, (res) => {
      const parts: Buffer[] = []
      res.on('data', (part: Buffer) => parts.push(part))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(parts)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown> })
      })
    })
    req.on('error', reject)
    req.end(options.body)
  })
}
