/**
 * PKI tooling: organization CA, node TLS certificate, signing certificate, partner bundles.
 *
 * @module
 */
export * from './issue.ts'
export { CertsError, type CertsErrorCode } from './errors.ts'
export {
  ORG_FILES,
  KEY_FILE_MODE,
  ensureOrgDir,
  writeFileAtomic,
  writeKeyFile,
  writePublicFile,
  readOrgCertificate,
  readOrgDir,
  type OrgCertificate,
  type OrgCa,
} from './files.ts'
export { initOrg, INIT_ORG_FILES, type InitOrgOptions, type InitOrgResult } from './init_org.ts'
export {
  renewNodeCertificate,
  renewSigningCertificate,
  RENEWAL_WINDOW_DAYS,
  type RenewNodeOptions,
  type RenewSigningOptions,
  type RenewResult,
} from './renew.ts'
export { inspectCertificate, inspectFile, inspectPath, type CertificateInfo, type InspectedFile } from './inspect.ts'
export { exportPartnerBundle, readPartnerBundleFile, parsePartnerBundleText, MAX_BUNDLE_FILE_BYTES, type ExportPartnerBundleOptions } from './partner_bundle.ts'
export { assertOrgId, assertEndpoint, normalizeHost, DEFAULT_LEAF_VALIDITY_DAYS, DEFAULT_CA_VALIDITY_DAYS, DEFAULT_FEDERATION_PORT } from './options.ts'
export { createCertificateRequest, signCertificateRequest, installCertificate, pendingFiles, type LeafKind } from './offline_ca.ts'
