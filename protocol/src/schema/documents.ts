/**
 * The JSON Schema documents of `protocol/schemas/` (draft 2020-12, `$id`
 * `urn:caseway:schema:<name>`), read once at load. The protocol compiles them itself
 * (`validate.ts`); {@link schemaDocument} hands a copy to code that feeds them to another
 * validator or serializer (the node's HTTP answers), so the wire format is defined once.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'

/** `$id` prefix of every Caseway schema. */
export const SCHEMA_ID_PREFIX = 'urn:caseway:schema:'

/** A parsed schema document. */
export interface SchemaDocument {
  readonly $id: string
  readonly [keyword: string]: unknown
}

const SCHEMA_DIR = new URL('../../schemas/', import.meta.url)

function load(): Map<string, SchemaDocument> {
  const documents = new Map<string, SchemaDocument>()
  for (const file of readdirSync(SCHEMA_DIR)
    .filter((name) => name.endsWith('.schema.json'))
    .sort()) {
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as Partial<SchemaDocument>
    if (typeof schema.$id !== 'string' || !schema.$id.startsWith(SCHEMA_ID_PREFIX)) {
      throw new Error(`schema ${file} has no urn:caseway:schema: $id`)
    }
    documents.set(schema.$id.slice(SCHEMA_ID_PREFIX.length), schema as SchemaDocument)
  }
  return documents
}

const documents = load()

/** The names of every schema (`common`, `manifest`, `offer-answer`, …), sorted. */
export const SCHEMA_NAMES: readonly string[] = Object.freeze([...documents.keys()])

/**
 * A fresh copy of schema `urn:caseway:schema:<name>`; its `$ref`s name other schemas by their
 * `$id` (`urn:caseway:schema:common#/$defs/Id`), so a consumer registers those too.
 *
 * @throws {TypeError} for a name that is not a schema of `protocol/schemas/`.
 */
export function schemaDocument(name: string): SchemaDocument {
  const document = documents.get(name)
  if (document === undefined) throw new TypeError(`no schema ${SCHEMA_ID_PREFIX}${name}`)
  return structuredClone(document)
}

/** Every schema document, for the protocol's own validator. Internal. */
export function allSchemaDocuments(): SchemaDocument[] {
  return [...documents.values()].map((document) => structuredClone(document))
}
