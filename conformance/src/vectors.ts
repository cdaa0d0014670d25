/**
 * The protocol's test vectors (`protocol/vectors/*.json`, format in its README) as data for
 * the harness: the conformance tests take each negative vector's requirement IDs and expected
 * problem code from here, so the unit tests of the library and the conformance tests share
 * one source. The vectors themselves are signed for other organizations at a fixed time and
 * are never sent to a target; the harness re-creates each fault on its own manifests.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PROBLEMS, type ProblemCode } from '#protocol'

/** Where the vector files are. */
export const VECTOR_DIR = new URL('../../protocol/vectors/', import.meta.url)

export type VectorKind = 'manifest' | 'receipt' | 'revocation' | 'grant-chain'

/** One vector, as in `vectors.schema.json` (the fields the harness uses). */
export interface ProtocolVector {
  /** `cw::<file>::<name>`. */
  id: string
  /** The `<name>` part of the id. */
  name: string
  /** The file's namespace (`sig`, `cert`, …). */
  file: string
  description: string
  spec: readonly string[]
  kind: VectorKind
  /** `accept` or a problem code. */
  expected: 'accept' | ProblemCode
  maxBytes?: number
}

const ID = /^cw::([a-z0-9-]+)::([a-z0-9-]+)$/

/** Reads every vector file; throws when a vector does not have the shape the harness relies on. */
export function loadVectors(dir: URL = VECTOR_DIR): ProtocolVector[] {
  const files = readdirSync(fileURLToPath(dir))
    .filter((name) => name.endsWith('.json') && name !== 'vectors.schema.json')
    .sort()
  const vectors: ProtocolVector[] = []
  for (const file of files) {
    const parsed = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { vectors?: unknown }
    if (!Array.isArray(parsed.vectors)) throw new TypeError(`${file}: no "vectors" array`)
    for (const raw of parsed.vectors as Record<string, unknown>[]) {
      const id = String(raw['id'])
      const match = ID.exec(id)
      if (match === null) throw new TypeError(`${file}: vector id ${id} is not cw::<file>::<name>`)
      const expected = raw['expected']
      if (typeof expected !== 'string' || (expected !== 'accept' && !Object.hasOwn(PROBLEMS, expected))) {
        throw new TypeError(`${id}: expected ${String(expected)} is neither "accept" nor a problem code`)
      }
      const spec = raw['spec']
      if (!Array.isArray(spec) || spec.some((one) => typeof one !== 'string')) throw new TypeError(`${id}: spec is not a list of IDs`)
      const vector: ProtocolVector = {
        id,
        name: match[2]!,
        file: match[1]!,
        description: String(raw['description']),
        spec: spec as string[],
        kind: raw['kind'] as VectorKind,
        expected: expected as ProtocolVector['expected'],
      }
      if (typeof raw['maxBytes'] === 'number') vector.maxBytes = raw['maxBytes']
      vectors.push(vector)
    }
  }
  return vectors
}

/** Manifest vectors a receiver must refuse (what the refusals group re-creates). */
export function negativeManifestVectors(vectors: readonly ProtocolVector[] = loadVectors()): ProtocolVector[] {
  return vectors.filter((vector) => vector.kind === 'manifest' && vector.expected !== 'accept')
}
