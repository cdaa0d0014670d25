/**
 * The rules of a package manifest beyond its schema (SPEC.md CW-PKG-002, CW-PKG-005). Internal.
 *
 * @module
 */
import { VerificationError } from '../errors.ts'
import type { PackageManifest } from '../types.gen.ts'

/** Root files every package has and its manifest never lists (CW-PKG-003). */
export const PACKAGE_FIXED_FILES = Object.freeze(['package-manifest.jws', 'package-manifest.json', 'package-manifest.sig', 'SHA256SUMS'] as const)

/** Path components no package may hold (CW-PKG-005): `.`/`..`, Windows device names, trailing dots or spaces. */
const RESERVED = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$/i

/** Folds a path as case-insensitive, normalizing file systems compare it. */
export function foldPath(path: string): string {
  return path.normalize('NFC').toLowerCase().normalize('NFKC').toLowerCase()
}

/** Whether `path` is a safe package path: relative, no empty, dot, reserved or padded component. */
export function isSafePackagePath(path: string): boolean {
  if (typeof path !== 'string' || path.length === 0 || path !== path.normalize('NFC')) return false
  return path
    .split('/')
    .every(
      (part) =>
        part !== '' &&
        part !== '.' &&
        part !== '..' &&
        !RESERVED.test(part) &&
        !/[. ]$/.test(part) &&
        !/^ /.test(part) &&
        !/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/.test(part),
    )
}

/**
 * Throws `VerificationError('CW_ERR_SCHEMA_INVALID')` unless: the sender is the issuer; `exp`
 * is after `iat`; every path is safe, and unique even after case folding and Unicode
 * normalization; no listed path is a fixed root file or a folder of another listed path; and
 * the audit trail, when included, is a listed `audit-trail` member.
 */
export function checkPackageManifest(manifest: PackageManifest): void {
  if (manifest.sender.org !== manifest.iss)
    throw new VerificationError('CW_ERR_SCHEMA_INVALID', 'package manifest /sender/org must equal /iss', { at: '/sender/org' })
  if (manifest.exp <= manifest.iat) throw new VerificationError('CW_ERR_SCHEMA_INVALID', 'package manifest /exp must be after /iat', { at: '/exp' })
  const folded = new Set<string>()
  const folders = new Set<string>()
  for (const [index, file] of manifest.files.entries()) {
    const at = `/files/${index}/path`
    if (!isSafePackagePath(file.path)) throw new VerificationError('CW_ERR_SCHEMA_INVALID', `package manifest ${at} is not a safe package path`, { at })
    if ((PACKAGE_FIXED_FILES as readonly string[]).includes(file.path))
      throw new VerificationError('CW_ERR_SCHEMA_INVALID', `package manifest ${at} names a fixed root file`, { at })
    const key = foldPath(file.path)
    if (folded.has(key)) throw new VerificationError('CW_ERR_SCHEMA_INVALID', `package manifest ${at} is listed twice`, { at })
    folded.add(key)
    const parts = key.split('/')
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'))
  }
  for (const [index, file] of manifest.files.entries()) {
    if (folders.has(foldPath(file.path))) {
      throw new VerificationError('CW_ERR_SCHEMA_INVALID', `package manifest /files/${index}/path is also a folder`, { at: `/files/${index}/path` })
    }
  }
  if (manifest.audit !== undefined) {
    const path = manifest.audit.path
    if (!manifest.files.some((file) => file.path === path && file.role === 'audit-trail')) {
      throw new VerificationError('CW_ERR_SCHEMA_INVALID', 'package manifest /audit/path is not a listed audit-trail member', { at: '/audit/path' })
    }
  }
}
