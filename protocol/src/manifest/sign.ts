/**
 * Signing a case manifest (SPEC.md, Manifests): JWS compact, `typ` `caseway-manifest+jws`.
 *
 * @module
 */
import { signObject } from '../jws/sign.ts'
import type { Signer } from '../jws/sign.ts'
import { assertManifest } from '../schema/validate.ts'
import type { CaseManifest } from '../types.gen.ts'
import { checkManifestSemantics } from './check_semantics.ts'

/**
 * Signs `manifest` with the sender's signing key and certificate chain.
 *
 * The manifest must pass the schema and `checkManifestSemantics`; otherwise this throws a
 * `TypeError` (a caller bug) whose `cause` is the `VerificationError` a receiver would raise.
 * Policy is not checked here: the sender builds the manifest from what the policy allows
 * (CW-POL-002) and may call `enforceManifestPolicy` itself.
 */
export async function signManifest(manifest: CaseManifest, signer: Signer): Promise<string> {
  try {
    assertManifest(manifest)
    checkManifestSemantics(manifest)
  } catch (error) {
    throw new TypeError(`invalid manifest: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  return signObject('manifest', manifest as unknown as Record<string, unknown>, signer)
}
