/**
 * Argument parsers shared by the commands. A library `TypeError` about a value becomes
 * commander's usage error (exit status 2).
 *
 * @module
 */
import { InvalidArgumentError } from 'commander'
// Light modules only, not `#certs` / `#protocol`: `--help` and usage errors must not wait for
// the crypto stack to load.
import { assertEndpoint, assertOrgId, normalizeHost } from '../certs/src/options.ts'
import { normalizeFingerprint } from '../protocol/src/bundle/fingerprint.ts'

/** Wraps `check` so a `TypeError` it throws is reported as an invalid option argument. */
export function argument<T>(check: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return check(value)
    } catch (error) {
      if (error instanceof TypeError) throw new InvalidArgumentError(error.message)
      throw error
    }
  }
}

/** An organization id (`ORG_ID_PATTERN`, SPEC.md CW-ID-002). */
export const parseOrgId = argument((value) => {
  assertOrgId(value)
  return value
})

/** A federation endpoint, `https://host[:port]`. */
export const parseEndpoint = argument((value) => {
  assertEndpoint(value)
  return value
})

/** A positive whole number of days. */
export const parseDays = argument((value) => {
  const days = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(days) || days < 1) throw new TypeError('expected a whole number of days')
  return days
})

/** A repeatable `--host`: DNS name or IP address, collected into a list. */
export function collectHost(value: string, previous: string[] = []): string[] {
  return [...previous, argument(normalizeHost)(value)]
}

/** A CA fingerprint in any accepted form, normalized to `sha256:<hex>`. */
export const parseFingerprint = argument(normalizeFingerprint)

export const parsePort = argument((value) => {
  const port = Number(value)
  if (!/^\d{1,5}$/.test(value) || port > 65535) throw new TypeError(`not a TCP port: ${value}`)
  return port
})

/** The text of a file named on the command line, or of stdin for `-`. */
export async function readTextInput(path: string): Promise<string> {
  if (path !== '-') {
    const { readFile } = await import('node:fs/promises')
    return readFile(path, 'utf8')
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
