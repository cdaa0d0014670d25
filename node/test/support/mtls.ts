/**
 * Talking to a node's federation listener as a test: a bare HTTPS request (`rawRequest`, any TLS
 * versions; `mtlsRequest`, TLS 1.3) with whatever client
 * certificate (or none) the test chooses, one fresh TLS connection each, and the PKI material
 * of an organization read from its node directory (`pki/`), to sign objects as that
 * organization or present its certificate.
 *
 * @module
 */
import { request, type RequestOptions } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import type { SecureVersion } from 'node:tls'
import { createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readOrgDir, type KeyedCertificate } from '#certs'
import type { Signer } from '#protocol'

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

export type ClientTls = Pick<RawTls, 'ca' | 'cert' | 'key'>
export type Answer = RawResponse

/** One HTTPS request (TLS 1.3) on a fresh connection; rejects when TLS refuses (no HTTP answer). */
export function mtlsRequest(url: string, tls: ClientTls, options: RawRequest = {}): Promise<Answer> {
  return rawRequest(url, { ...tls, minVersion: 'TLSv1.3' }, options)
}

/** The outcome of an attempt: the HTTP answer, or the error of a refused handshake. */
export async function attempt(url: string, tls: ClientTls, options: Parameters<typeof mtlsRequest>[2] = {}): Promise<{ answer?: Answer; error?: string }> {
  try {
    return { answer: await mtlsRequest(url, tls, options) }
  } catch (error) {
    // Node reports some TLS alerts only as EPROTO plus OpenSSL's text: keep both.
    return { error: `${(error as { code?: string }).code ?? 'unknown'} ${(error as Error).message}` }
  }
}

/** An organization's PKI as its node directory holds it. */
export interface OrgPki {
  caPem: string
  /** The org CA with its key (to issue wrong certificates in tests). */
  ca: KeyedCertificate
  /** The node TLS certificate and key (PEM). */
  tls: { cert: string; key: string }
  /** Signs as this organization (signing certificate + CA in x5c), as the node does. */
  signer: Signer
}

export async function readPki(pkiDir: string): Promise<OrgPki> {
  const [caPem, cert, key, signingCert, signingKey, orgCa] = await Promise.all([
    readFile(join(pkiDir, 'ca.crt'), 'utf8'),
    readFile(join(pkiDir, 'node.crt'), 'utf8'),
    readFile(join(pkiDir, 'node.key'), 'utf8'),
    readFile(join(pkiDir, 'signing.crt'), 'utf8'),
    readFile(join(pkiDir, 'signing.key'), 'utf8'),
    readOrgDir(pkiDir),
  ])
  return { caPem, ca: orgCa.ca, tls: { cert, key }, signer: { privateKey: createPrivateKey(signingKey), chain: [signingCert, caPem] } }
}
