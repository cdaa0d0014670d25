/**
 * Verifying a case package offline (SPEC.md §22, CW-PKG-007..010): a ZIP, TAR or ISO file or an
 * extracted folder. The signed manifest is checked against the package's own CA certificate
 * (and the fingerprint received out of band, when given), then every member against the
 * manifest: nothing missing, nothing altered, nothing added, and the audit trail intact.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import {
  auditTrailChecker,
  certificateFingerprint,
  normalizeFingerprint,
  orgOfCertificate,
  PACKAGE_FIXED_FILES,
  pemToX509,
  VerificationError,
  verifyPackageManifest,
  type PackageManifest,
  type VerifiedCertificate,
} from '#protocol'
import { renderSha256Sums } from './contents.ts'
import { openPackage } from './read/open.ts'
import type { ReadEntry } from './read/entry.ts'
import { joseSignatureToDer } from './signature.ts'

/** The largest root file read into memory (the signed manifest of a million files fits). */
const MAX_ROOT_FILE_BYTES = 256 * 1024 * 1024

export interface VerifyPackageOptions {
  /** The sender's CA fingerprint (`sha256:<hex>`) received out of band. */
  caFingerprint?: string
  /** Verification time for the signature chain; default: the package's signing time. */
  currentDate?: Date
}

export interface VerifiedPackage {
  manifest: PackageManifest
  signer: VerifiedCertificate
  /** Fingerprint of the package's CA certificate. */
  caFingerprint: string
  /** Whether `caFingerprint` was given and matched. */
  fingerprintChecked: boolean
  kind: 'zip' | 'tar' | 'iso' | 'dir'
  files: number
}

function fail(
  code: 'CW_ERR_PACKAGE_INVALID' | 'CW_ERR_PACKAGE_MEMBER_ALTERED' | 'CW_ERR_PACKAGE_MEMBER_MISSING' | 'CW_ERR_PACKAGE_MEMBER_UNLISTED',
  message: string,
  at: string,
): VerificationError {
  return new VerificationError(code, message, { at })
}

async function readAll(entry: ReadEntry): Promise<Buffer> {
  if (entry.size > MAX_ROOT_FILE_BYTES) throw fail('CW_ERR_PACKAGE_INVALID', `${entry.path} is too large`, entry.path)
  const chunks: Uint8Array[] = []
  for await (const chunk of entry.open()) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/**
 * Verifies the package at `path` and returns its manifest and signer.
 *
 * @throws {VerificationError} the first failure: `CW_ERR_PACKAGE_INVALID` (unreadable, a
 * fixed root file missing or inconsistent, a member twice), `CW_ERR_FINGERPRINT_MISMATCH`, the
 * signed-object codes of §8 (`CW_ERR_CHAIN_UNTRUSTED`, `CW_ERR_SIGNATURE_INVALID`, …),
 * `CW_ERR_PACKAGE_MEMBER_MISSING`, `CW_ERR_PACKAGE_MEMBER_ALTERED`,
 * `CW_ERR_PACKAGE_MEMBER_UNLISTED`, `CW_ERR_AUDIT_CHAIN_BROKEN`; `at` names the member.
 */
export async function verifyPackage(path: string, options: VerifyPackageOptions = {}): Promise<VerifiedPackage> {
  const expectedFingerprint = options.caFingerprint === undefined ? undefined : normalizeFingerprint(options.caFingerprint)
  const reader = await openPackage(path)
  try {
    // One pass: root files into memory, every other file hashed as it streams.
    const root = new Map<string, Buffer>()
    const seen = new Map<string, { size: number; sha256: string } | 'other'>()
    const keepInMemory = new Set<string>([...PACKAGE_FIXED_FILES, 'ca.crt'])
    for await (const entry of reader.entries()) {
      if (entry.type === 'dir') continue
      if (seen.has(entry.path)) throw fail('CW_ERR_PACKAGE_INVALID', `member ${entry.path} is in the package twice`, entry.path)
      if (entry.type === 'other') {
        seen.set(entry.path, 'other')
        continue
      }
      const hash = createHash('sha256')
      let size = 0
      const keep = keepInMemory.has(entry.path)
      if (keep) {
        const bytes = await readAll(entry)
        root.set(entry.path, bytes)
        hash.update(bytes)
        size = bytes.length
      } else {
        for await (const chunk of entry.open()) {
          hash.update(chunk)
          size += chunk.length
        }
      }
      seen.set(entry.path, { size, sha256: 'sha256:' + hash.digest('hex') })
    }

    // The CA certificate, and the fingerprint received out of band.
    const caBytes = root.get('ca.crt')
    if (caBytes === undefined) throw fail('CW_ERR_PACKAGE_INVALID', 'ca.crt is missing', 'ca.crt')
    let caPem: string
    let org: string
    try {
      caPem = caBytes.toString('utf8')
      org = orgOfCertificate(pemToX509(caPem))
    } catch (error) {
      throw new VerificationError('CW_ERR_PACKAGE_INVALID', 'ca.crt is not an organization CA certificate', { at: 'ca.crt', cause: error })
    }
    const caFingerprint = certificateFingerprint(caPem)
    if (expectedFingerprint !== undefined && caFingerprint !== expectedFingerprint) {
      throw new VerificationError('CW_ERR_FINGERPRINT_MISMATCH', `ca.crt has fingerprint ${caFingerprint}, not the one given`, { at: 'ca.crt' })
    }

    // The signed manifest.
    const jwsBytes = root.get('package-manifest.jws')
    if (jwsBytes === undefined) throw fail('CW_ERR_PACKAGE_INVALID', 'package-manifest.jws is missing', 'package-manifest.jws')
    const jws = jwsBytes.toString('utf8').trim()
    const verifyOptions = {
      trustAnchors: [{ certificate: caPem, org }],
      maxBytes: MAX_ROOT_FILE_BYTES,
      ...(options.currentDate === undefined ? {} : { currentDate: options.currentDate }),
    }
    const { manifest, signer } = await verifyPackageManifest(jws, verifyOptions)
    const [, payload, signature] = jws.split('.') as [string, string, string]
    if (!root.get('package-manifest.json')?.equals(Buffer.from(payload, 'base64url'))) {
      throw fail('CW_ERR_PACKAGE_INVALID', 'package-manifest.json is not the signed payload of package-manifest.jws', 'package-manifest.json')
    }
    const der = joseSignatureToDer(Buffer.from(signature, 'base64url'), signer.certificate)
    if (!root.get('package-manifest.sig')?.equals(der)) {
      throw fail('CW_ERR_PACKAGE_INVALID', 'package-manifest.sig is not the signature of package-manifest.jws', 'package-manifest.sig')
    }
    const sums = root.get('SHA256SUMS')
    if (sums === undefined || seen.get('SHA256SUMS') === 'other') throw fail('CW_ERR_PACKAGE_INVALID', 'SHA256SUMS is missing', 'SHA256SUMS')
    if (!sums.equals(Buffer.from(renderSha256Sums(manifest.files), 'utf8'))) {
      throw fail('CW_ERR_PACKAGE_INVALID', 'SHA256SUMS does not list what the signed manifest lists', 'SHA256SUMS')
    }

    // Every listed member, then nothing else.
    const listed = new Set<string>()
    for (const file of manifest.files) {
      listed.add(file.path)
      const found = seen.get(file.path)
      if (found === undefined) throw fail('CW_ERR_PACKAGE_MEMBER_MISSING', `${file.path} is missing`, file.path)
      if (found === 'other') throw fail('CW_ERR_PACKAGE_MEMBER_ALTERED', `${file.path} is not a regular file`, file.path)
      if (found.size !== file.size || found.sha256 !== file.sha256) {
        throw fail(
          'CW_ERR_PACKAGE_MEMBER_ALTERED',
          `${file.path} differs from the signed manifest (${found.size !== file.size ? 'size' : 'SHA-256'})`,
          file.path,
        )
      }
    }
    for (const member of seen.keys()) {
      if (!listed.has(member) && !(PACKAGE_FIXED_FILES as readonly string[]).includes(member)) {
        throw fail('CW_ERR_PACKAGE_MEMBER_UNLISTED', `${member} is not listed in the signed manifest`, member)
      }
    }

    // The audit trail: its bytes are the signed ones; now its chain and its head.
    if (manifest.audit !== undefined) {
      const checker = auditTrailChecker(manifest.audit)
      for await (const entry of reader.entries()) {
        if (entry.path !== manifest.audit.path || entry.type !== 'file') continue
        const lines = createInterface({ input: Readable.from(entry.open()), crlfDelay: Infinity })
        for await (const line of lines) {
          if (line === '') continue
          let parsed: unknown
          try {
            parsed = JSON.parse(line)
          } catch {
            parsed = undefined
          }
          checker.add(parsed)
        }
        break
      }
      checker.finish()
    }
    return { manifest, signer, caFingerprint, fingerprintChecked: expectedFingerprint !== undefined, kind: reader.kind, files: manifest.files.length }
  } finally {
    await reader.close()
  }
}

/**
 * The digest of the signed package manifest a package holds: SHA-256 of the compact JWS in its
 * `package-manifest.jws` member, without the final line break (the package's entity tag, and
 * the `manifest` of its offer, SPEC.md CW-PKG-011). Undefined when there is no such member.
 */
export async function packageManifestDigest(path: string): Promise<string | undefined> {
  const reader = await openPackage(path)
  try {
    for await (const entry of reader.entries()) {
      if (entry.path !== 'package-manifest.jws') continue
      const text = (await readAll(entry)).toString('utf8').trimEnd()
      return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`
    }
    return undefined
  } finally {
    await reader.close()
  }
}
