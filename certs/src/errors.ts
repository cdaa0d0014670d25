/**
 * Refusals of the PKI tooling. These are local operator errors, not protocol problems, so
 * they are not in the wire catalogue (`PROBLEMS`); the CLI prints their code the same way.
 *
 * @module
 */

/** Stable codes of the PKI tooling. */
export type CertsErrorCode =
  /** A file the operation would replace exists; pass `force` to replace it. */
  | 'CW_CERTS_FILE_EXISTS'
  /** The certificate to renew is valid for longer than the renewal window; pass `force`. */
  | 'CW_CERTS_STILL_VALID'
  /** An organization directory is missing files or holds files that do not belong together. */
  | 'CW_CERTS_ORG_DIR_INVALID'
  /** A file holds no certificate. */
  | 'CW_CERTS_NO_CERTIFICATE'
  /** A certificate request, or a certificate to install, does not fit (signature, key, profile, CA). */
  | 'CW_CERTS_REQUEST_INVALID'

export class CertsError extends Error {
  readonly code: CertsErrorCode

  constructor(code: CertsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CertsError'
    this.code = code
  }
}
