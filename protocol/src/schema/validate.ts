/**
 * Schema checks of the wire objects (SPEC.md CW-FMT-004): each `assert…` throws
 * `VerificationError('CW_ERR_SCHEMA_INVALID')` with `at` = the JSON pointer of the first
 * fault, unknown properties included.
 *
 * @module
 */
import type { ValidateFunction } from 'ajv/dist/2020.js'
import { VerificationError } from '../errors.ts'
import { PROBLEMS, problemType, type ProblemCode, type ProblemDocument } from '../errors.ts'
import type {
  CaseManifest,
  ChunkBatchRequest,
  ControlEvidenceRequest,
  ControlPackageAnswer,
  ControlPackageRequest,
  ControlRevisionAnswer,
  ControlShareAnswer,
  ControlShareRequest,
  DeliveryReceipt,
  Grant,
  HealthAnswer,
  OfferAnswer,
  PackageManifest,
  PackageOffer,
  PackageOfferAnswer,
  PartnerBundle,
  ReceiptAnswer,
  Revocation,
  RevocationAnswer,
  SharingPolicy,
} from '../types.gen.ts'
import { validatorFor } from './ajv.ts'

const partnerBundle = validatorFor('partner-bundle')
const policy = validatorFor('policy')
const grant = validatorFor('grant')
const manifest = validatorFor('manifest')
const receipt = validatorFor('receipt')
const revocation = validatorFor('revocation')
const offerAnswer = validatorFor('offer-answer')
const receiptAnswer = validatorFor('receipt-answer')
const revocationAnswer = validatorFor('revocation-answer')
const healthAnswer = validatorFor('health-answer')
const chunkBatchRequest = validatorFor('chunk-batch-request')
const problem = validatorFor('problem')
const controlShareRequest = validatorFor('control-share-request')
const controlEvidenceRequest = validatorFor('control-evidence-request')
const controlShareAnswer = validatorFor('control-share-answer')
const controlRevisionAnswer = validatorFor('control-revision-answer')
const emailAddress = validatorFor('common#/$defs/EmailAddress')
const packageManifest = validatorFor('package-manifest')
const packageOffer = validatorFor('package-offer')
const packageOfferAnswer = validatorFor('package-offer-answer')
const controlPackageRequest = validatorFor('control-package-request')
const controlPackageAnswer = validatorFor('control-package-answer')

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

// Federation API answers (SPEC.md §16)

/** EP-1's answer to an accepted offer (CW-FED-003). */
export function assertOfferAnswer(value: unknown): asserts value is OfferAnswer {
  check(offerAnswer, 'offer answer', value)
}

/** EP-3's answer to a recorded receipt (CW-FED-009). */
export function assertReceiptAnswer(value: unknown): asserts value is ReceiptAnswer {
  check(receiptAnswer, 'receipt answer', value)
}

/** EP-5's answer to a recorded revocation (CW-REV-004), and EP-7's (SPEC.md §21). */
export function assertRevocationAnswer(value: unknown): asserts value is RevocationAnswer {
  check(revocationAnswer, 'revocation answer', value)
}

/** EP-4's answer (CW-FED-010). */
export function assertHealthAnswer(value: unknown): asserts value is HealthAnswer {
  check(healthAnswer, 'health answer', value)
}

/** EP-20's request body (CW-BAT-001): 1 to 1,024 distinct chunk digests. */
export function assertChunkBatchRequest(value: unknown): asserts value is ChunkBatchRequest {
  check(chunkBatchRequest, 'chunk batch request', value)
}

/**
 * A problem document (CW-ERR-001): the schema, a `code` of the catalogue, and the `type`
 * that code names.
 */
export function assertProblemDocument(value: unknown): asserts value is ProblemDocument {
  check(problem, 'problem document', value)
  const { code, type } = value as { code: string; type: string }
  if (!Object.hasOwn(PROBLEMS, code)) {
    throw new VerificationError('CW_ERR_SCHEMA_INVALID', `problem document /code ${code} is not a Caseway problem code`, { at: '/code' })
  }
  if (type !== problemType(code as ProblemCode)) {
    throw new VerificationError('CW_ERR_SCHEMA_INVALID', `problem document /type must be ${problemType(code as ProblemCode)} for ${code}`, { at: '/type' })
  }
}

// Conformance control endpoints (SPEC.md §21)

/** EP-6's request body. */
export function assertControlShareRequest(value: unknown): asserts value is ControlShareRequest {
  check(controlShareRequest, 'control share request', value)
  checkAttachments((value as ControlShareRequest).items, 'control share request')
}

/** EP-8's request body. */
export function assertControlEvidenceRequest(value: unknown): asserts value is ControlEvidenceRequest {
  check(controlEvidenceRequest, 'control evidence request', value)
  checkAttachments((value as ControlEvidenceRequest).items, 'control evidence request')
}

/** An item is an attachment only of an earlier item of the same list. */
function checkAttachments(items: ControlEvidenceRequest['items'], title: string): void {
  for (const [index, item] of items.entries()) {
    if (item.attachmentOf !== undefined && item.attachmentOf >= index) {
      const at = `/items/${index}/attachmentOf`
      throw new VerificationError('CW_ERR_SCHEMA_INVALID', `${title} ${at} must be the index of an earlier item`, { at })
    }
  }
}

/** EP-6's answer. */
export function assertControlShareAnswer(value: unknown): asserts value is ControlShareAnswer {
  check(controlShareAnswer, 'control share answer', value)
}

/** EP-8's answer. */
export function assertControlRevisionAnswer(value: unknown): asserts value is ControlRevisionAnswer {
  check(controlRevisionAnswer, 'control revision answer', value)
}

/** EP-13's request body. */
export function assertControlPackageRequest(value: unknown): asserts value is ControlPackageRequest {
  check(controlPackageRequest, 'control package request', value)
}

/** EP-13's answer. */
export function assertControlPackageAnswer(value: unknown): asserts value is ControlPackageAnswer {
  check(controlPackageAnswer, 'control package answer', value)
}

/**
 * Whether `value` is exactly one plain e-mail address (SPEC.md CW-FMT-006): the rule the
 * manifest schema applies to e-mail recipients, for the places that take an address from
 * elsewhere (a local user's record, a share being created) before it reaches a mail server.
 */
export function isEmailAddress(value: unknown): value is string {
  return emailAddress(value) === true
}

// Case packages (SPEC.md §22)

/** A package manifest's payload (CW-PKG-002). */
export function assertPackageManifest(value: unknown): asserts value is PackageManifest {
  check(packageManifest, 'package manifest', value)
}

/** A package offer's payload (CW-PKG-011). */
export function assertPackageOffer(value: unknown): asserts value is PackageOffer {
  check(packageOffer, 'package offer', value)
}

/** EP-10's answer to an accepted package offer (CW-PKG-012). */
export function assertPackageOfferAnswer(value: unknown): asserts value is PackageOfferAnswer {
  check(packageOfferAnswer, 'package offer answer', value)
}
