/**
 * Case packages (SPEC.md §22): signing and verifying the package manifest, its path rules, and
 * the audit-trail check. Re-exports only.
 *
 * @module
 */
export { signPackageManifest } from './sign.ts'
export { verifyPackageManifest } from './verify.ts'
export type { VerifyPackageManifestOptions, VerifiedPackageManifest } from './verify.ts'
export { PACKAGE_FIXED_FILES, isSafePackagePath, foldPath } from './check.ts'
export { auditTrailChecker, type AuditHead, type AuditTrailChecker } from './verify_audit_trail.ts'
