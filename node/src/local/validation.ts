/**
 * Request validation of the local API. Unlike fastify's default, unknown properties in a body
 * are refused, not silently removed (a policy or share with a misspelt rule must not pass),
 * and body values are never coerced; path and query parameters are coerced from text
 * (`doNotDisclose=true`). A streamed body (`format: binary`) is not validated here.
 *
 * @module
 */
import { Ajv, type AnySchema, type ErrorObject } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

function createAjv(coerceTypes: boolean, schemas: readonly object[]): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    addUsedSchema: false,
    strict: true,
  })
  for (const schema of schemas) ajv.addSchema(schema as AnySchema)
  return ajv
}

/** A validator compiler that knows the shared `schemas` (those referenced as `Name#`). */
export function localValidatorCompiler(schemas: readonly object[]): FastifySchemaCompiler<unknown> {
  const body = createAjv(false, schemas)
  const parameters = createAjv(true, schemas)
  return ({ schema, httpPart }) => {
    if (isBinary(schema)) return () => true
    const validate = (httpPart === 'body' ? body : parameters).compile(schema as AnySchema)
    const wrapped = (data: unknown): boolean => {
      const valid = validate(data) as boolean
      wrapped.errors = valid ? null : (validate.errors ?? []).map(pointAtProperty)
      return valid
    }
    wrapped.errors = null as ErrorObject[] | null
    return wrapped
  }
}

/** An unknown property is reported at its own location (as the protocol's schema checks do). */
function pointAtProperty(error: ErrorObject): ErrorObject {
  if (error.keyword !== 'additionalProperties') return error
  const property = (error.params as { additionalProperty?: unknown }).additionalProperty
  if (typeof property !== 'string') return error
  return { ...error, instancePath: `${error.instancePath}/${property.replaceAll('~', '~0').replaceAll('/', '~1')}`, message: 'is not allowed' }
}

function isBinary(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as Record<string, unknown>)['format'] === 'binary'
}
