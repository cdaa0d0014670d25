/**
 * Talking to a node's federation listener as a test: a bare HTTPS request with whatever client
 * certificate (or none) the test chooses, one fresh TLS connection each, and the PKI material
 * of an organization read from its node directory (`pki/`), to sign objects as that
 * organization or present its certificate.
 *
 * @module
 */
import { createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readOrgDir, type KeyedCertificate, privateKeyToPem } from '#certs'
import type { Signer } from '#protocol'
import { rawRequest, type RawRequest, type RawResponse, type RawTls } from '../federation/helpers/https.ts'

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

/** PEM certificate and key of a keyed certificate, for a TLS client. */
export async function pemPair(keyed: KeyedCertificate): Promise<{ cert: string; key: string }> {
  return { cert: keyed.certificate.toString('pem'), key: await privateKeyToPem(keyed.privateKey) }
}
