/**
 * A bare TLS handshake with the target, for what HTTP hides: the negotiated version and the
 * server's certificate chain.
 *
 * @module
 */
import { connect } from 'node:tls'
import { x5cOfPeerCertificate } from '#protocol'
import type { ClientIdentity } from './client.ts'
import type { Target } from './target.ts'

export interface TlsProbe {
  /** The handshake completed (from the client's side; a TLS 1.3 server may still refuse right after). */
  ok: boolean
  protocol?: string
  /** Server chain as x5c (base64 DER, leaf first). */
  serverChain?: string[]
  error?: { code: string; message: string }
}

export function probeTls(target: Target, identity: ClientIdentity, timeoutMs = 10_000): Promise<TlsProbe> {
  const url = new URL(target.url)
  return new Promise((resolve) => {
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: /^[\d.:[\]]+$/.test(url.hostname) ? undefined : url.hostname,
      ca: target.caPem,
      ...(identity.cert === undefined ? {} : { cert: identity.cert, key: identity.key }),
      ...(identity.minVersion === undefined ? {} : { minVersion: identity.minVersion }),
      ...(identity.maxVersion === undefined ? {} : { maxVersion: identity.maxVersion }),
      rejectUnauthorized: false,
      timeout: timeoutMs,
    })
    const done = (probe: TlsProbe) => {
      socket.destroy()
      resolve(probe)
    }
    socket.once('secureConnect', () => {
      done({ ok: true, protocol: socket.getProtocol() ?? 'unknown', serverChain: x5cOfPeerCertificate(socket.getPeerCertificate(true)) })
    })
    socket.once('error', (error: Error & { code?: string }) => done({ ok: false, error: { code: error.code ?? 'ERROR', message: error.message } }))
    socket.once('timeout', () => done({ ok: false, error: { code: 'ETIMEDOUT', message: 'handshake timed out' } }))
  })
}
