/**
 * Schema checks of the wire objects (SPEC.md CW-FMT-004): each `assert…` throws
 * `VerificationError('CW_ERR_SCHEMA_INVALID')` with `at` = the JSON pointer of the first
 * fault, unknown properties included.
 *
 * @module
 */
import type { ValidateFunction } from 'ajv/dist/2020.js'
import { VerificationError } from '../errors.ts'
import type { CaseManifest, DeliveryReceipt, Grant, PartnerBundle, Revocation, SharingPolicy } from '../types.gen.ts'
import { validatorFor } from './ajv.ts'

const partnerBundle = validatorFor('partner-bundle')
const policy = validatorFor('policy')
const grant = validatorFor('grant')
const manifest = validatorFor('manifest')
const receipt = validatorFor('receipt')
const revocation = validatorFor('revocation')

function check(validate: ValidateFunction, title: string, value: unknown): void {
  if (validate(value) === true) return
  const error = validate.errors?.[0]
  let at = error?.instancePath ?? ''
  if (error?.keyword === 'additionalProperties') {
    const property = (error.params as { additionalProperty?: unknown }).additionalProperty
    if (typeof property === 'string') at += '/' + property.replaceAll('~', '~0').replaceAll('/', '~1')
  }
  const reason = error?.keyword === 'additionalProperties' ? 'unknown property' : (error?.message ?? 'invalid')
  throw new VerificationError('CW_ERR_SCHEMA_INVALID', `${title} ${at === '' ? '' : at + ' '}${reason}`, { at })
}

export function assertPartnerBundle(value: unknown): asserts value is PartnerBundle {
  check(partnerBundle, 'partner bundle', value)
}

export function assertPolicy(value: unknown): asserts value is SharingPolicy {
  check(policy, 'sharing policy', value)
}

export function assertGrant(value: unknown): asserts value is Grant {
  check(grant, 'grant', value)
}

export function assertManifest(value: unknown): asserts value is CaseManifest {
  check(manifest, 'manifest', value)
}

export function assertReceipt(value: unknown): asserts value is DeliveryReceipt {
  check(receipt, 'receipt', value)
}

export function assertRevocation(value: unknown): asserts value is Revocation {
  check(revocation, 'revocation', value)
}
