/**
 * Request validation of the local API. Unlike fastify's default, unknown properties in a body
 * are refused, not silently removed (a policy or share with a misspelt rule must not pass),
 * and body values are never coerced; path and query parameters are coerced from text
 * (`doNotDisclose=true`). A streamed body (`format: binary`) is not validated here. Every
 * integer is bounded to what a JSON number carries exactly (CW-LOC-016): `after=1e20` is a
 * `400`, not a number the store cannot bind.
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
  for (const schema of schemas) ajv.addSchema(safeIntegers(schema) as AnySchema)
  return ajv
}

/**
 * A copy of `schema` in which every subschema that admits integers is bounded to
 * ±`Number.MAX_SAFE_INTEGER` (keeping tighter bounds): beyond it a JSON number no longer
 * names one integer, and the stores refuse it with an internal error (CW-LOC-016).
 */
export function safeIntegers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(safeIntegers)
  if (typeof schema !== 'object' || schema === null) return schema
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema))
    copy[key] = key === 'const' || key === 'default' || key === 'enum' || key === 'examples' ? value : safeIntegers(value)
  const type = copy['type']
  if (type === 'integer' || (Array.isArray(type) && type.includes('integer'))) {
    const maximum = copy['maximum']
    const minimum = copy['minimum']
    copy['maximum'] = typeof maximum === 'number' ? Math.min(maximum, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER
    copy['minimum'] = typeof minimum === 'number' ? Math.max(minimum, Number.MIN_SAFE_INTEGER) : Number.MIN_SAFE_INTEGER
  }
  return copy
}

/** A validator compiler that knows the shared `schemas` (those referenced as `Name#`). */
export function localValidatorCompiler(schemas: readonly object[]): FastifySchemaCompiler<unknown> {
  const body = createAjv(false, schemas)
  const parameters = createAjv(true, schemas)
  return ({ schema, httpPart }) => {
    if (isBinary(schema)) return () => true
    const validate = (httpPart === 'body' ? body : parameters).compile(safeIntegers(schema) as AnySchema)
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
