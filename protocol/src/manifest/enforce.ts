/**
 * The receiver's policy step for a verified manifest (SPEC.md CW-POL-003, CW-PROV-007).
 *
 * @module
 */
import { enforceManifestPolicy } from '../policy/enforce_manifest.ts'
import type { VerifiedChain } from '../provenance/verify_chain.ts'
import type { CaseManifest } from '../types.gen.ts'

/**
 * Enforces the chain's effective policy (the last grant's) on what the manifest carries.
 * Call it on the result of `verifyManifest`: verification first, policy second.
 *
 * @throws {PolicyError} `CW_ERR_DO_NOT_DISCLOSE`, `CW_ERR_POLICY_VIOLATION`.
 */
export function enforceManifest(verified: { manifest: CaseManifest; chain: Pick<VerifiedChain, 'effectivePolicy'> }): void {
  enforceManifestPolicy(verified.manifest, verified.chain.effectivePolicy)
}
