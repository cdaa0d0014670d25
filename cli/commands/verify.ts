/**
 * `caseway verify <file.jws> --ca <ca.crt>`: verifies a signed object offline (SPEC.md §8)
 * and prints the verified payload, or one line with the problem code. The object type comes
 * from its `typ` header; each `--ca` is pinned to the organization its certificate names,
 * `--bridge` adds a federation bridge CA.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import { print, printError } from '../output.ts'

interface VerifyCommandOptions {
  ca: string[]
  bridge: string[]
  audience?: string
  at?: string
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

function parseTime(value: string): Date {
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) throw new UsageError(`--at: not a date: ${value}`)
  return date
}

/** Reads `typ` from the protected header without trusting it: it only selects the verifier. */
function declaredType(jws: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8')) as { typ?: unknown }
    return typeof header.typ === 'string' ? header.typ : undefined
  } catch {
    return undefined
  }
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('verify a signed manifest, grant, receipt or revocation offline and print its payload')
    .argument('<file>', 'the compact JWS (a .jws file)')
    .option('--ca <ca.crt>', 'a partner CA to trust, pinned to the organization it names (repeatable)', collect, [])
    .option('--bridge <ca.crt>', 'a federation bridge CA to trust (repeatable)', collect, [])
    .option('--audience <org>', 'the organization the object must be addressed to (default: the one it names)')
    .option('--at <time>', 'verify as of this ISO 8601 time instead of now')
    .action(async (file: string, options: VerifyCommandOptions) => {
      if (options.ca.length + options.bridge.length === 0) throw new UsageError('give at least one --ca or --bridge')
      const protocol = await import('#protocol')
      const jws = (await readFile(file, 'utf8')).trim()
      const anchors: import('#protocol').TrustAnchor[] = []
      for (const path of options.ca) {
        const certificate = await readFile(path, 'utf8')
        anchors.push({ certificate, org: protocol.orgOfCertificate(protocol.pemToX509(certificate)) })
      }
      for (const path of options.bridge) anchors.push({ certificate: await readFile(path, 'utf8') })
      const common = { trustAnchors: anchors, ...(options.at === undefined ? {} : { currentDate: parseTime(options.at) }) }

      const typ = declaredType(jws)
      let payload: unknown
      let signer: string
      if (typ === protocol.TYP.manifest) {
        const audience = options.audience ?? audienceOf(jws)
        const verified = await protocol.verifyManifest(jws, { ...common, audience })
        protocol.enforceManifest(verified)
        payload = verified.manifest
        signer = verified.signer.org
      } else if (typ === protocol.TYP.receipt) {
        const verified = await protocol.verifyReceipt(jws, withAudience(common, options.audience))
        payload = verified.receipt
        signer = verified.signer.org
      } else if (typ === protocol.TYP.revocation) {
        const verified = await protocol.verifyRevocation(jws, withAudience(common, options.audience))
        payload = verified.revocation
        signer = verified.signer.org
      } else {
        // A grant, or anything else: the generic verifier refuses an unknown typ with its code.
        const type = typ === protocol.TYP.grant ? 'grant' : 'manifest'
        const verified = await protocol.verifySigned(type, jws, withAudience(common, options.audience))
        if (type === 'grant') (protocol.assertGrant as (value: unknown) => void)(verified.payload)
        payload = verified.payload
        signer = verified.signer.org
      }
      if (options.audience === undefined) printError('note: audience not checked (use --audience <your org>)\n')
      printError(`verified: ${typ} signed by ${signer}\n`)
      print(JSON.stringify(payload, null, 2) + '\n')
    })
}

function withAudience<T extends object>(options: T, audience: string | undefined): T & { audience?: string } {
  return audience === undefined ? options : { ...options, audience }
}

/** The manifest's own `aud`, for offline checks where the operator did not name one. */
function audienceOf(jws: string): string {
  try {
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown }
    if (typeof payload.aud === 'string') return payload.aud
  } catch {
    // fall through: verification reports the malformed payload with its code
  }
  return ''
}
