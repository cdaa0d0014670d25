/**
 * Runs Caseway test vectors (`protocol/vectors/*.json`) through this library and reports the
 * ones whose result differs from `expected`. `node protocol/tools/run-vectors.ts [file …]`
 * (no argument: every vector file); exit status 1 on any difference.
 *
 * The same `runVector` drives `protocol/test/vectors.test.ts` and the self-check of
 * `gen-vectors.ts`.
 */
import { readdir, readFile } from 'node:fs/promises'
import { CasewayError } from '../src/errors.ts'
import { enforceManifest } from '../src/manifest/enforce.ts'
import { verifyManifest } from '../src/manifest/verify.ts'
import { verifyGrantChain } from '../src/provenance/verify_chain.ts'
import { verifyReceipt } from '../src/receipt/verify.ts'
import { verifyRevocation } from '../src/revocation/verify.ts'
import type { TrustAnchor } from '../src/x509/chain.ts'

export const VECTOR_DIR = new URL('../vectors/', import.meta.url)

export interface Vector {
  id: string
  description: string
  spec: string[]
  kind: 'manifest' | 'receipt' | 'revocation' | 'grant-chain'
  input: string | string[]
  issuer?: string
  trustAnchors: TrustAnchor[]
  audience: string
  validationTime: string
  maxBytes?: number
  expected: string
  expectedPayloadDigest?: string
}

export interface VectorFile {
  $schema?: string
  cwv: '0.1'
  name: string
  description: string
  vectors: Vector[]
}

/** What the library answers: `accept` with the payload digest, or the problem code (and where). */
export type Outcome = { result: 'accept'; digest: string; at?: undefined } | { result: string; at: string | undefined }

/** Verifies one vector's input as its kind says (manifests: `verifyManifest` then `enforceManifest`). */
export async function runVector(vector: Vector): Promise<Outcome> {
  const currentDate = new Date(vector.validationTime)
  const options = {
    trustAnchors: vector.trustAnchors,
    audience: vector.audience,
    currentDate,
    ...(vector.maxBytes === undefined ? {} : { maxBytes: vector.maxBytes }),
  }
  try {
    switch (vector.kind) {
      case 'manifest': {
        const verified = await verifyManifest(vector.input, options)
        enforceManifest(verified)
        return { result: 'accept', digest: verified.digest }
      }
      case 'receipt':
        return { result: 'accept', digest: (await verifyReceipt(vector.input, options)).digest }
      case 'revocation':
        return { result: 'accept', digest: (await verifyRevocation(vector.input, options)).digest }
      case 'grant-chain': {
        if (!Array.isArray(vector.input) || vector.issuer === undefined)
          throw new TypeError(`${vector.id}: a grant-chain vector needs an input array and an issuer`)
        const chain = await verifyGrantChain(vector.input, { trustAnchors: vector.trustAnchors, currentDate, issuer: vector.issuer, audience: vector.audience })
        return { result: 'accept', digest: chain.digests.at(-1)! }
      }
    }
  } catch (error) {
    if (error instanceof CasewayError) return { result: (error as CasewayError).code, at: (error as CasewayError).at }
    throw error
  }
}

/** Empty when the outcome is the expected one, else a one-line explanation. */
export function mismatch(vector: Vector, outcome: Outcome): string {
  if (outcome.result !== vector.expected) return `${vector.id}: expected ${vector.expected}, got ${outcome.result}`
  if ('digest' in outcome && outcome.digest !== vector.expectedPayloadDigest) {
    return `${vector.id}: payload digest ${outcome.digest}, expected ${vector.expectedPayloadDigest}`
  }
  return ''
}

/** The vector files of `protocol/vectors/`, sorted by name. */
export async function vectorFiles(): Promise<string[]> {
  return (await readdir(VECTOR_DIR)).filter((name) => name.endsWith('.json') && !name.endsWith('.schema.json')).sort()
}

export async function readVectorFile(name: string): Promise<VectorFile> {
  return JSON.parse(await readFile(new URL(name, VECTOR_DIR), 'utf8')) as VectorFile
}

if (import.meta.main) {
  const names = process.argv.length > 2 ? process.argv.slice(2).map((path) => path.split('/').at(-1)!) : await vectorFiles()
  let failures = 0
  let total = 0
  for (const name of names) {
    for (const vector of (await readVectorFile(name)).vectors) {
      total++
      const problem = mismatch(vector, await runVector(vector))
      if (problem !== '') {
        failures++
        console.log(`FAIL ${problem}`)
      }
    }
  }
  console.log(`${total - failures}/${total} vectors as expected`)
  process.exitCode = failures === 0 ? 0 : 1
}
