/**
 * The one Ajv instance (JSON Schema draft 2020-12, strict mode) with every schema of
 * `protocol/schemas/` compiled once at load. Internal: use `validate.ts`.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js'

const SCHEMA_DIR = new URL('../../schemas/', import.meta.url)
/** `$id` prefix of every Caseway schema. */
export const SCHEMA_ID_PREFIX = 'urn:caseway:schema:'

// Strict mode, except strictRequired: `if/then` branches name properties defined beside them
// (receipt.schema.json: `then: { required: ['problem'] }`), which that check misreads.
const ajv = new Ajv2020({
  strictSchema: true,
  strictNumbers: true,
  strictTypes: true,
  strictTuples: true,
  strictRequired: false,
  allErrors: false,
})

const ids: string[] = []
for (const file of readdirSync(SCHEMA_DIR).filter((name) => name.endsWith('.schema.json')).sort()) {
  const schema = JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as AnySchemaObject
  if (typeof schema.$id !== 'string' || !schema.$id.startsWith(SCHEMA_ID_PREFIX)) {
    throw new Error(`schema ${file} has no urn:caseway:schema: $id`)
  }
  ajv.addSchema(schema)
  ids.push(schema.$id)
}

const validators = new Map<string, ValidateFunction>()
for (const id of ids) {
  const validate = ajv.getSchema(id)
  if (validate === undefined) throw new Error(`schema ${id} did not compile`)
  validators.set(id, validate)
}

/** The compiled validator of `urn:caseway:schema:<name>`. */
export function validatorFor(name: string): ValidateFunction {
  const validate = validators.get(SCHEMA_ID_PREFIX + name)
  if (validate === undefined) throw new Error(`no schema ${SCHEMA_ID_PREFIX + name}`)
  return validate
}
