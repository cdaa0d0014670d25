/**
 * Loads this node's own PKI material from its pki directory (written by `caseway init` /
 * `caseway certs init-org`). Refuses to start with a private key other users can read
 * (CW-ID-005, `ca.key` too when it is kept here) or with certificates that do not name this
 * organization. Each refusal names the file and says which fault it is — missing, unreadable,
 * corrupt or not matching its certificate — because the remedies differ: only a missing node
 * is made with `caseway init`; re-keying an existing one changes the fingerprint partners pinned.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { orgOfCertificate, pemToX509 } from '#protocol'
import { ConfigError } from './config/load.ts'
import type { Identity } from './context.ts'

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : error instanceof Error ? error.message : 'unknown error'
}

async function readPem(dir: string, file: string): Promise<string> {
  const path = join(dir, file)
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const code = codeOf(error)
    if (code === 'ENOENT') throw new ConfigError(`missing ${path}: run caseway init, or caseway certs init-org --out ${dir}`)
    // Not "missing": re-creating the node would change the CA fingerprint partners pinned.
    throw new ConfigError(`cannot read ${path} (${code}): check its owner and mode (the node's user must read it); do not re-run caseway init`)
  }
}

function refuseReadableByOthers(path: string, mode: number): void {
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`)
  }
}

async function readKey(dir: string, file: string): Promise<{ pem: string; key: KeyObject }> {
  const path = join(dir, file)
  const pem = await readPem(dir, file)
  refuseReadableByOthers(path, (await stat(path)).mode)
  try {
    return { pem, key: createPrivateKey(pem) }
  } catch (error) {
    throw new ConfigError(`${path} is corrupt: not a private key in PEM (${codeOf(error)}); restore it from a backup`)
  }
}

function parseCertificate(dir: string, file: string, pem: string): X509Certificate {
  try {
    pemToX509(pem)
    return new X509Certificate(pem)
  } catch (error) {
    throw new ConfigError(`${join(dir, file)} is corrupt: not an X.509 certificate in PEM (${codeOf(error)}); restore it from a backup`)
  }
}

function assertNamesOrg(pem: string, file: string, org: string): void {
  const named = orgOfCertificate(pemToX509(pem))
  if (named !== org) throw new ConfigError(`${file} names organization ${named}, but this node is ${org}`)
}

/** The key must be the one whose public half the certificate carries. */
function assertKeyMatches(dir: string, keyFile: string, key: KeyObject, certFile: string, certificate: X509Certificate): void {
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' })
  const fromCertificate = certificate.publicKey.export({ type: 'spki', format: 'der' })
  if (!fromKey.equals(fromCertificate)) {
    throw new ConfigError(`${join(dir, keyFile)} does not match ${join(dir, certFile)}: the key and the certificate are from different pairs`)
  }
}

/** `ca.key` need not be on the node (an offline CA); when it is, it is guarded like the others. */
async function refuseReadableCaKey(dir: string): Promise<void> {
  const path = join(dir, 'ca.key')
  const mode = await stat(path).then(
    (found) => found.mode,
    () => undefined,
  )
  if (mode !== undefined) refuseReadableByOthers(path, mode)
}

export async function loadIdentity(dir: string, org: string, name: string): Promise<Identity> {
  const [caCertificate, nodeCertificate, nodeKey, signingCertificate, signingKey] = await Promise.all([
    readPem(dir, 'ca.crt'),
    readPem(dir, 'node.crt'),
    readKey(dir, 'node.key'),
    readPem(dir, 'signing.crt'),
    readKey(dir, 'signing.key'),
    refuseReadableCaKey(dir),
  ])
  parseCertificate(dir, 'ca.crt', caCertificate)
  assertKeyMatches(dir, 'node.key', nodeKey.key, 'node.crt', parseCertificate(dir, 'node.crt', nodeCertificate))
  assertKeyMatches(dir, 'signing.key', signingKey.key, 'signing.crt', parseCertificate(dir, 'signing.crt', signingCertificate))
  assertNamesOrg(caCertificate, 'ca.crt', org)
  assertNamesOrg(nodeCertificate, 'node.crt', org)
  assertNamesOrg(signingCertificate, 'signing.crt', org)
  return Object.freeze({
    org,
    name,
    // The CA travels in x5c so that a verifier trusting a federation bridge can build the path.
    signer: Object.freeze({ privateKey: signingKey.key, chain: Object.freeze([signingCertificate, caCertificate]) }),
    tls: Object.freeze({ key: nodeKey.pem, cert: nodeCertificate, ca: caCertificate }),
    caCertificate,
  })
}
