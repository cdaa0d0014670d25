/**
 * Case packages over the federation (SPEC.md §22, "Carrying a package to a partner"), as the
 * harness plays them: it builds a small ZIP package signed by one of its orgs and serves it on
 * its own EP-11 (the listener), offers it to the target on the target's EP-10, revokes it on
 * EP-12, and drives the target's sender side through the control endpoint EP-13.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import {
  assertControlPackageAnswer,
  assertPackageOfferAnswer,
  digestBytes,
  FEDERATION_PATHS,
  JOSE_MEDIA_TYPE,
  type ControlPackageAnswer,
  type ControlPackageRequest,
  type PackageOffer,
  type PackageOfferAnswer,
  type Revocation,
  type Signer,
} from '#protocol'
import { buildPackage, digestContent, layoutMembers, streamLayout } from '#packaging'
import { expectShape, expectStatus, jsonOf } from './check.ts'
import type { TargetClient } from './client.ts'
import type { Exchange, TransportFailure } from './exchange.ts'
import type { HarnessOrg } from './harness_dir.ts'
import { signRaw } from './shares.ts'

/** A package the harness offers the target; the listener serves `bytes` on EP-11. */
export interface HarnessPackage {
  id: string
  bytes: Buffer
  /** SHA-256 of the signed package manifest (the offer's `manifest`). */
  manifest: string
  /** Signed by this org (the one whose CA the package carries). */
  party: HarnessOrg
}

/**
 * A one-item ZIP package signed by `party`; `tamper` flips one byte of its evidence after it is
 * signed (the manifest still lists the original digest: CW-PKG-007, CW-PKG-014).
 */
export async function buildHarnessPackage(party: HarnessOrg, options: { tamper?: boolean } = {}): Promise<HarnessPackage> {
  const id = `cw-pkg-${randomUUID()}`
  const content = Buffer.from(`Caseway conformance evidence of ${id}\n`.repeat(64))
  const digested = await digestContent(
    (async function* () {
      yield content
    })(),
  )
  const now = Math.floor(Date.now() / 1000)
  const built = await buildPackage({
    packageId: id,
    format: 'zip',
    createdAt: now,
    expiresAt: now + 86_400,
    sender: { org: party.org, name: party.name },
    case: { id: `cw-case-${id.slice(-8)}`, fields: { title: 'Conformance package' } },
    evidence: [{ id: 'item-0', name: 'item-0.txt', folders: [], category: 'document', size: digested.size, sha256: digested.sha256, crc32: digested.crc32 }],
    retainFolderStructure: false,
    tableOfContents: false,
    transcripts: false,
    signer: party.signer,
    caCertificate: party.caPem,
  })
  const layout = layoutMembers('zip', built.members)
  const parts: Uint8Array[] = []
  const open = (member: { path: string }, start: number, end: number) => {
    const source = built.sources.get(member.path)!
    return [(source.kind === 'generated' ? Buffer.from(source.bytes) : content).subarray(start, end)]
  }
  for await (const part of streamLayout(layout, open)) parts.push(part)
  const bytes = Buffer.concat(parts)
  if (options.tamper === true) {
    const at = bytes.indexOf(content.subarray(0, 48))
    bytes[at + 10] = bytes[at + 10]! ^ 0x01
  }
  return { id, bytes, manifest: digestBytes(built.jws), party }
}

/** The offer of `pkg` to the target's `recipient`, as CW-PKG-011 has it; `overrides` break it on purpose. */
export function packageOfferOf(pkg: HarnessPackage, audience: string, recipient: string, overrides: Partial<PackageOffer> = {}): PackageOffer {
  const now = Math.floor(Date.now() / 1000)
  return {
    cwv: '0.2',
    iss: pkg.party.org,
    aud: audience,
    iat: now,
    exp: now + 86_400,
    jti: randomUUID(),
    package: pkg.id,
    recipients: [{ kind: 'user', id: recipient }],
    format: 'zip',
    size: pkg.bytes.length,
    manifest: pkg.manifest,
    ...overrides,
  }
}

/** POSTs a signed package offer (any `typ`, to test refusals) to the target's EP-10. */
export async function offerPackage(
  client: TargetClient,
  payload: object,
  options: { signer: Signer; type?: 'package-offer' | 'package' | 'revocation'; note?: string },
): Promise<Exchange | TransportFailure> {
  const jws = await signRaw(options.type ?? 'package-offer', payload, options.signer)
  return client.send(FEDERATION_PATHS.packageOffers, {
    method: 'POST',
    body: jws,
    contentType: JOSE_MEDIA_TYPE,
    note: options.note ?? 'EP-10: a package offer',
  })
}

/** POSTs a signed object to EP-10 again, as it was (a retry). */
export function reofferPackage(client: TargetClient, jws: string, note = 'EP-10: the same package offer again'): Promise<Exchange | TransportFailure> {
  return client.send(FEDERATION_PATHS.packageOffers, { method: 'POST', body: jws, contentType: JOSE_MEDIA_TYPE, note })
}

/** An EP-10 answer of status 200 or 202, checked against its schema. */
export function packageOfferAnswerOf(answer: Exchange | TransportFailure, statuses: readonly number[]): PackageOfferAnswer {
  const exchange = expectStatus(answer, statuses, '(EP-10)')
  return expectShape(jsonOf(exchange), assertPackageOfferAnswer, 'an EP-10 answer (package-offer-answer schema)', exchange.request)
}

/** POSTs the revocation of package `packageId` to the target's EP-12, signed by `party`. */
export async function revokePackage(client: TargetClient, party: HarnessOrg, audience: string, packageId: string): Promise<Exchange | TransportFailure> {
  const now = Math.floor(Date.now() / 1000)
  const revocation: Revocation = { cwv: '0.2', iss: party.org, aud: audience, iat: now, exp: now + 86_400, jti: randomUUID(), share: packageId, revokedAt: now }
  const jws = await signRaw('revocation', revocation, party.signer)
  return client.send(FEDERATION_PATHS.packageRevocations, { method: 'POST', body: jws, contentType: JOSE_MEDIA_TYPE, note: 'EP-12: revoke the package' })
}

/** EP-13: the target makes a link share of a new case for the harness's `recipient` and offers its package (§21). */
export async function requestPackage(client: TargetClient, request: ControlPackageRequest): Promise<ControlPackageAnswer> {
  const answer = expectStatus(
    await client.send(FEDERATION_PATHS.controlPackages, {
      method: 'POST',
      body: JSON.stringify(request),
      contentType: 'application/json',
      note: 'control: offer the harness a package',
    }),
    [201],
    '(control endpoint EP-13)',
  )
  return expectShape(jsonOf(answer), assertControlPackageAnswer, 'an EP-13 answer (control-package-answer schema)', answer.request)
}
