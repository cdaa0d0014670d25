/**
 * The one Ajv instance (JSON Schema draft 2020-12, strict mode) with every schema of
 * `protocol/schemas/` compiled once at load. Internal: use `validate.ts`.
 *
 * @module
 */
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js'
import { allSchemaDocuments, SCHEMA_ID_PREFIX } from './documents.ts'

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
for (const schema of allSchemaDocuments()) {
  ajv.addSchema(schema as AnySchemaObject)
  ids.push(schema.$id)
}

const validators = new Map<string, ValidateFunction>()
for (const id of ids) {
  const validate = ajv.getSchema(id)
  if (validate === undefined) throw new Error(`schema ${id} did not compile`)
  validators.set(id, validate)
}

/** The compiled validator of `urn:caseway:schema:<name>`, or of one of its `$defs` (`common#/$defs/EmailAddress`). */
export function validatorFor(name: string): ValidateFunction {
  const validate = name.includes('#') ? ajv.getSchema(SCHEMA_ID_PREFIX + name) : validators.get(SCHEMA_ID_PREFIX + name)
  if (validate === undefined) throw new Error(`no schema ${SCHEMA_ID_PREFIX + name}`)
  return validate
}
