/**
 * The Caseway protocol library: wire formats, canonical JSON, hashing and chunking,
 * signing and verification, policy and provenance. No network, no storage.
 *
 * @module
 */
export * from './errors.ts'
export type * from './types.gen.ts'
export { ORG_URI_PREFIX, ORG_ID_PATTERN, OID, orgUri } from './x509/org_uri.ts'
export { certificateFingerprint } from './x509/fingerprint.ts'
export { orgOfCertificate } from './x509/org.ts'
export { parseCertificates, pemToX509, MAX_X5C_CERTIFICATES } from './x509/parse.ts'
export { x5cOfPeerCertificate, type PeerCertificateLike } from './x509/peer_chain.ts'
export { buildPartnerBundle, type BuildPartnerBundleInput } from './bundle/build.ts'
export { checkPartnerBundle, type CheckPartnerBundleOptions } from './bundle/check.ts'
export { normalizeFingerprint } from './bundle/fingerprint.ts'
export { canonicalJson, MAX_JSON_DEPTH } from './canonical/canonicalize.ts'
export { digestBytes, digestJson, digestOfJwsPayload, DIGEST_PREFIX } from './canonical/digest.ts'
export { chunkStream, isAllowedChunkSize, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE } from './chunk/chunk_stream.ts'
export type { Chunk, ContentSummary } from './chunk/chunk_stream.ts'
export { summarizeStream } from './chunk/summarize.ts'
export {
  assertPartnerBundle,
  assertPolicy,
  assertGrant,
  assertManifest,
  assertReceipt,
  assertRevocation,
  assertPackageManifest,
  assertPackageOffer,
  assertPackageOfferAnswer,
  isEmailAddress,
} from './schema/validate.ts'
export {
  assertOfferAnswer,
  assertReceiptAnswer,
  assertRevocationAnswer,
  assertHealthAnswer,
  assertChunkBatchRequest,
  assertProblemDocument,
  assertControlShareRequest,
  assertControlEvidenceRequest,
  assertControlShareAnswer,
  assertControlRevisionAnswer,
  assertControlPackageRequest,
  assertControlPackageAnswer,
} from './schema/validate.ts'
export { schemaDocument, SCHEMA_NAMES, SCHEMA_ID_PREFIX, type SchemaDocument } from './schema/documents.ts'
export { FEDERATION_PATHS, JOSE_MEDIA_TYPE, SLOW_CLIENT_BOUND_SECONDS, VERSIONS_HEADER, parseVersionsHeader } from './federation/paths.ts'
export {
  CHUNK_BATCH_FEATURE,
  CHUNK_BATCH_LIMITS,
  CHUNK_BATCH_MEDIA_TYPE,
  FEATURES_HEADER,
  chunkBatchLength,
  parseFeaturesHeader,
  splitChunkBatch,
  type BatchPiece,
} from './federation/chunk_batch.ts'
export { verifyChain, verifyChainToAnchor } from './x509/chain.ts'
export type { TrustAnchor, VerifiedCertificate, VerifyChainOptions } from './x509/chain.ts'
export {
  TYP,
  ALLOWED_ALGS,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  LATEST_VERSION,
  isSupportedVersion,
  compareVersions,
  highestCommonVersion,
} from './jws/types.ts'
export type { ProtocolVersion } from './jws/types.ts'
export type { SignedType, SignatureAlgorithm } from './jws/types.ts'
export { signObject, type Signer } from './jws/sign.ts'
export { detachPayload } from './jws/detach.ts'
export { verifySigned, DEFAULT_MAX_BYTES, DEFAULT_CLOCK_TOLERANCE_SECONDS } from './jws/verify.ts'
export type { VerifyOptions, VerifiedObject } from './jws/verify.ts'
export { signReceipt } from './receipt/sign.ts'
export { verifyReceipt, type VerifiedReceipt } from './receipt/verify.ts'
export { signRevocation } from './revocation/sign.ts'
export { verifyRevocation, type VerifiedRevocation } from './revocation/verify.ts'
export { signPackageOffer, verifyPackageOffer, type VerifiedPackageOffer } from './package_offer/index.ts'
export { isAttenuated, type AttenuationResult } from './policy/is_attenuated.ts'
export { assertAttenuated } from './policy/attenuate.ts'
export { checkGrantDuration } from './policy/check_duration.ts'
export { enforceManifestPolicy } from './policy/enforce_manifest.ts'
export { permitsImport } from './policy/permits_import.ts'
export { originGrant, onwardGrant } from './grant/build.ts'
export type { GrantOptions, OriginGrantOptions, OnwardGrantOptions } from './grant/build.ts'
export { signGrant } from './grant/sign.ts'
export { verifyGrantChain, MAX_CHAIN_LENGTH } from './provenance/verify_chain.ts'
export type { VerifiedChain, VerifyGrantChainOptions } from './provenance/verify_chain.ts'
export { checkManifestSemantics } from './manifest/check_semantics.ts'
export { signManifest } from './manifest/sign.ts'
export { verifyManifest } from './manifest/verify.ts'
export type { VerifiedManifest, VerifyManifestOptions } from './manifest/verify.ts'
export { enforceManifest } from './manifest/enforce.ts'
export * from './package/index.ts'
export { isItemName, safeFileName, ITEM_NAME_MAX_LENGTH } from './item_name.ts'
