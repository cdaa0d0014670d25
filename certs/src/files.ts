/**
 * The organization directory on disk: file names, atomic writes (keys 0600, SPEC.md
 * CW-ID-005) and reading the CA back for renewals and exports.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { x509 } from '#protocol/x509'
import { orgOfCertificate, pemToX509 } from '#protocol'
import { privateKeyFromPem, type KeyedCertificate } from './issue.ts'
import { CertsError } from './errors.ts'

/** File names in an organization directory. */
export const ORG_FILES = {
  caCertificate: 'ca.crt',
  caKey: 'ca.key',
  nodeCertificate: 'node.crt',
  nodeKey: 'node.key',
  signingCertificate: 'signing.crt',
  signingKey: 'signing.key',
  partnerBundle: 'partner-bundle.json',
} as const

export const KEY_FILE_MODE = 0o600
export const PUBLIC_FILE_MODE = 0o644
export const ORG_DIR_MODE = 0o700

/** Creates `dir` (and missing parents) with mode 0700 when it does not exist. */
export async function ensureOrgDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: ORG_DIR_MODE })
}

/**
 * Writes `data` to `path` atomically: a temporary file created with `mode` in the same
 * directory, flushed, then renamed over `path`. Readers see the old file or the new one,
 * never a partial one, and a key is never readable by others, not even for a moment.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode)
  try {
    try {
      await handle.writeFile(data)
      // The umask may have cleared bits of `mode`; it can never have added any.
      await handle.chmod(mode)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
  await syncDirectory(dirname(path))
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY)
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

/** Writes a private key, PEM, mode 0600 (CW-ID-005). */
export async function writeKeyFile(path: string, pem: string): Promise<void> {
  await writeFileAtomic(path, pem, KEY_FILE_MODE)
}

/** Writes a certificate or a bundle, mode 0644. */
export async function writePublicFile(path: string, data: string): Promise<void> {
  await writeFileAtomic(path, data, PUBLIC_FILE_MODE)
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

/** The organization CA certificate read back from a directory. */
export interface OrgCertificate {
  readonly dir: string
  /** Organization id, from the CA's organization URI SAN (CW-ID-006). */
  readonly org: string
  /** Display name, from the CA subject's O attribute. */
  readonly name: string
  readonly certificate: x509.X509Certificate
  readonly caCertificatePem: string
}

/** The organization CA with its private key. */
export interface OrgCa extends OrgCertificate {
  readonly ca: KeyedCertificate
}

/**
 * Reads `ca.crt` from an organization directory (the CA key may be kept offline).
 * Missing or unusable → `CW_CERTS_ORG_DIR_INVALID`.
 */
export async function readOrgCertificate(dir: string): Promise<OrgCertificate> {
  const path = join(dir, ORG_FILES.caCertificate)
  const caCertificatePem = await readText(path)
  let nodeCertificate: X509Certificate
  let certificate: x509.X509Certificate
  try {
    nodeCertificate = pemToX509(caCertificatePem)
    certificate = new x509.X509Certificate(nodeCertificate.raw)
  } catch (error) {
    throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${path} is not one PEM certificate`, { cause: error })
  }
  if (!nodeCertificate.ca) throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${path} is not a CA certificate`)
  let org: string
  try {
    org = orgOfCertificate(nodeCertificate)
  } catch (error) {
    throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${path}: ${(error as Error).message}`, { cause: error })
  }
  const name = certificate.subjectName.getField('O')[0]
  if (name === undefined || name.length === 0) {
    throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${path} has no organization (O) attribute`)
  }
  return { dir, org, name, certificate, caCertificatePem }
}

/**
 * Reads `ca.crt` and `ca.key` from an organization directory and checks that they belong
 * together. Missing or mismatched files → `CW_CERTS_ORG_DIR_INVALID`.
 */
export async function readOrgDir(dir: string): Promise<OrgCa> {
  const orgCertificate = await readOrgCertificate(dir)
  const certificatePath = join(dir, ORG_FILES.caCertificate)
  const keyPath = join(dir, ORG_FILES.caKey)
  const keyPem = await readText(keyPath)
  let keyMatches: boolean
  try {
    const publicKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' })
    keyMatches = publicKey.equals(Buffer.from(orgCertificate.certificate.publicKey.rawData))
  } catch (error) {
    throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${keyPath} is not a PEM private key`, { cause: error })
  }
  if (!keyMatches) throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${keyPath} does not belong to ${certificatePath}`)
  let privateKey: KeyedCertificate['privateKey']
  try {
    privateKey = await privateKeyFromPem(keyPem)
  } catch (error) {
    throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${keyPath} is not a P-256 private key`, { cause: error })
  }
  return { ...orgCertificate, ca: { certificate: orgCertificate.certificate, privateKey } }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CertsError('CW_CERTS_ORG_DIR_INVALID', `${path} not found`, { cause: error })
    }
    throw error
  }
}
