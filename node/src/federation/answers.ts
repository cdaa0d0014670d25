/**
 * The Federation API's JSON answers are the protocol's schemas (`protocol/schemas/`, SPEC.md
 * §16): the listener's response serializer uses them as they are, so what the node sends and
 * what a partner checks are defined once.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { SCHEMA_ID_PREFIX, schemaDocument } from '#protocol'

/**
 * Registers protocol schemas on `app` by their `$id`, once; the serializer then follows their
 * `$ref`s (register `common` too). `$schema` is left out: fastify's compilers use their own draft.
 */
export function addProtocolSchemas(app: FastifyInstance, names: readonly string[]): void {
  for (const name of names) {
    const { $schema: _draft, ...schema } = schemaDocument(name)
    app.addSchema(schema)
  }
}

/** A response schema: protocol schema `urn:caseway:schema:<name>`, registered with {@link addProtocolSchemas}. */
export function answer(name: string): { $ref: string } {
  return { $ref: `${SCHEMA_ID_PREFIX}${name}#` }
}

/** Every refusal is a problem document (SPEC.md §14, CW-ERR-001). */
export const problems = { '4xx': answer('problem'), '5xx': answer('problem') } as const
