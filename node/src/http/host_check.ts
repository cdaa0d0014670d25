/**
 * Which `Host` a listener answers for (SPEC.md CW-LOC-014). A browser on the operator's
 * machine will send a page's requests to 127.0.0.1 when an attacker's name resolves there (DNS
 * rebinding), and then let that page read the answers: the request still carries the
 * attacker's host name. A listener for the node's own people and probes answers only requests
 * naming one of its own hosts, and refuses the rest with `421 CW_ERR_MISDIRECTED` before
 * anything else runs (authentication, rate limit, route).
 *
 * One hook for every such listener (the local API, an operations listener): give it the
 * address the listener binds and the operator's extra names.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify'
import { RequestError } from '#protocol'

/** Loopback names every local listener answers for (CW-LOC-014). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1']

/** Addresses that bind every interface: they name no host a client would use. */
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]', ''])

/**
 * The host name of a `Host` header value, lower-case, without port or IPv6 brackets and
 * without a trailing dot; `undefined` when it is not a well-formed `host[:port]`.
 */
export function hostNameOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:/?#@[\]]+))(?::(\d{1,5}))?$/i.exec(value.trim())
  if (match === null) return undefined
  const name = (match[1] ?? match[2] ?? '').toLowerCase().replace(/\.$/, '')
  return name === '' ? undefined : name
}

/** A configured host name or address as `hostNameOf` returns it: lower-case, no brackets, no trailing dot. */
function bareName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
}

/** The names a listener bound to `bindAddress` answers for: loopback, that address, and `extra` (CW-LOC-014). */
export function allowedHostNames(bindAddress: string, extra: readonly string[] = []): ReadonlySet<string> {
  const names = new Set(LOOPBACK_HOSTS)
  if (!WILDCARD_ADDRESSES.has(bindAddress.trim())) names.add(bareName(bindAddress))
  for (const name of extra) names.add(bareName(name))
  return names
}

/**
 * An `onRequest` hook refusing, with `421 CW_ERR_MISDIRECTED`, every request whose `Host`
 * (absent or malformed included) names none of `allowed` (CW-LOC-014). Register it before any
 * other hook of the listener.
 */
export function requireAllowedHost(allowed: ReadonlySet<string>): (request: FastifyRequest) => Promise<void> {
  return async function checkHost(request: FastifyRequest): Promise<void> {
    const name = hostNameOf(request.headers.host)
    if (name === undefined || !allowed.has(name)) {
      request.log.warn({ host: request.headers.host }, 'request for a host this listener does not answer for')
      throw new RequestError('CW_ERR_MISDIRECTED', 'this listener does not answer for that host; add it to local.allowedHosts if it is yours', { at: 'Host' })
    }
  }
}
