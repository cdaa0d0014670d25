/**
 * Checks of caller-supplied options shared by the PKI operations. A bad value is a caller
 * mistake: `TypeError` (the CLI reports it as a usage error).
 *
 * @module
 */
import { isIP } from 'node:net'
// The file, not `#protocol`: the CLI parses its arguments with these checks before (and
// without) loading the crypto stack.
import { ORG_ID_PATTERN } from '../../protocol/src/x509/org_uri.ts'

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const ENDPOINT = /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/
/** Leaf certificates: the CA/Browser Forum limit, so the node certificate works everywhere. */
export const DEFAULT_LEAF_VALIDITY_DAYS = 397
export const DEFAULT_CA_VALIDITY_DAYS = 3650
/** Port of the federation listener in the default endpoint. */
export const DEFAULT_FEDERATION_PORT = 8443

export function assertOrgId(org: unknown): asserts org is string {
  if (typeof org !== 'string' || !ORG_ID_PATTERN.test(org)) {
    throw new TypeError(`invalid organization id ${JSON.stringify(org)}: use 1-63 lower-case letters, digits and inner hyphens`)
  }
}

export function assertDisplayName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
    throw new TypeError('organization name must be 1-200 characters')
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new TypeError('organization name must not contain control characters')
}

/** A DNS name or an IP address; returns it normalized (DNS names lower-cased). */
export function normalizeHost(host: unknown): string {
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string')
  if (isIP(host) !== 0) return host
  const name = host.toLowerCase()
  if (name.length > 253 || !name.split('.').every((label) => DNS_LABEL.test(label))) {
    throw new TypeError(`invalid host ${JSON.stringify(host)}: expected a DNS name or an IP address`)
  }
  return name
}

export function normalizeHosts(hosts: unknown): string[] {
  if (!Array.isArray(hosts) || hosts.length === 0) throw new TypeError('at least one host is required')
  return [...new Set(hosts.map(normalizeHost))]
}

/** The federation listener's base URL: `https://host[:port][/path]`, as the bundle schema allows. */
export function assertEndpoint(endpoint: unknown): asserts endpoint is string {
  let valid = typeof endpoint === 'string' && endpoint.length <= 2048 && ENDPOINT.test(endpoint)
  if (valid) {
    try {
      new URL(endpoint as string)
    } catch {
      valid = false
    }
  }
  if (!valid) throw new TypeError(`invalid endpoint ${JSON.stringify(endpoint)}: expected https://host:port`)
}

/** `https://<host>:8443`, with IPv6 addresses bracketed. */
export function defaultEndpoint(host: string): string {
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${DEFAULT_FEDERATION_PORT}`
}

export function assertValidityDays(days: unknown, what: string): asserts days is number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new TypeError(`${what} validity must be a whole number of days between 1 and 36500`)
  }
}
