/**
 * The offline CA workflow: the CA key never needs to be on the node host.
 *
 * 1. On the node: `createCertificateRequest` makes a new key (`<kind>.key.pending`, 0600)
 *    and a PKCS #10 request (`<kind>.csr`) for it; the directory needs only `ca.crt`.
 * 2. Where the CA key lives: `signCertificateRequest` checks the request's signature and
 *    issues the certificate with Caseway's profile (CW-ID-003) for the CA's own organization;
 *    nothing but the public key and, for a node certificate, the host names is taken from it.
 * 3. On the node: `installCertificate` checks the certificate against `ca.crt` with the
 *    protocol's own path validation and against the pending key, then puts both in place.
 *
 * @module
 */
import { webcrypto } from 'node:crypto'
import { readFile, rename } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { certificateFingerprint, verifyChain } from '#protocol'
import { x509 } from '#protocol/x509'
import { CertsError } from './errors.ts'
import { exists, ORG_FILES, readOrgCertificate, readOrgDir, writeKeyFile, writePublicFile } from './files.ts'
import { generateKeyPair, issueNodeCertificate, issueSigningCertificate, privateKeyFromPem, privateKeyToPem } from './issue.ts'
import { leafValidity } from './leaf_validity.ts'
import { DEFAULT_LEAF_VALIDITY_DAYS, normalizeHosts } from './options.ts'

/** Which of the node's two certificates. */
export type LeafKind = 'node' | 'signing'

const FILES: Record<LeafKind, { certificate: string; key: string }> = {
  node: { certificate: ORG_FILES.nodeCertificate, key: ORG_FILES.nodeKey },
  signing: { certificate: ORG_FILES.signingCertificate, key: ORG_FILES.signingKey },
}

/** Where the pending key and the request of `kind` are kept in a node's PKI directory. */
export function pendingFiles(dir: string, kind: LeafKind): { key: string; request: string } {
  return { key: join(resolve(dir), `${kind}.key.pending`), request: join(resolve(dir), `${kind}.csr`) }
}

/** Step 1: a new key (kept pending) and its certificate request; returns the request's path and PEM. */
export async function createCertificateRequest(options: { dir: string; kind: LeafKind; hosts?: readonly string[] }): Promise<{ path: string; pem: string }> {
  const org = await readOrgCertificate(resolve(options.dir))
  const keys = await generateKeyPair()
  const hosts = options.kind === 'node' ? normalizeHosts(options.hosts ?? []) : []
  if (options.kind === 'node' && hosts.length === 0) throw new CertsError('CW_CERTS_REQUEST_INVALID', 'a node certificate request needs at least one host')
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${options.kind === 'node' ? hosts[0]! : `${org.name} Caseway signing`}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions:
      hosts.length === 0
        ? []
        : [
            new x509.SubjectAlternativeNameExtension(
              hosts.map((host) => ({ type: /^[\d.]+$|:/.test(host) ? ('ip' as const) : ('dns' as const), value: host })),
              false,
            ),
          ],
  })
  const files = pendingFiles(options.dir, options.kind)
  await writeKeyFile(files.key, await privateKeyToPem(keys.privateKey))
  const pem = request.toString('pem') + '\n'
  await writePublicFile(files.request, pem)
  return { path: files.request, pem }
}

/** Step 2, where `ca.key` lives: the certificate for a request, with the profile of `kind`. */
export async function signCertificateRequest(options: {
  caDir: string
  request: string
  kind: LeafKind
  hosts?: readonly string[]
  validityDays?: number
  now?: Date
}): Promise<{ pem: string; fingerprint: string }> {
  const orgCa = await readOrgDir(resolve(options.caDir))
  let request: x509.Pkcs10CertificateRequest
  try {
    request = new x509.Pkcs10CertificateRequest(options.request)
  } catch (error) {
    throw new CertsError('CW_CERTS_REQUEST_INVALID', 'not a PKCS #10 certificate request', { cause: error })
  }
  if (!(await request.verify())) throw new CertsError('CW_CERTS_REQUEST_INVALID', 'the certificate request is not signed by its own key')
  const publicKey = await request.publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify'], webcrypto)
  // The key pair's private half stays on the node: only the public key is certified.
  const keys = { publicKey, privateKey: publicKey }
  const window = leafValidity(orgCa.ca.certificate, options.now ?? new Date(), options.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS)
  const leaf = { org: orgCa.org, name: orgCa.name, ...window, keys }
  let issued
  if (options.kind === 'node') {
    const san =
      request.extensions.find((extension): extension is x509.SubjectAlternativeNameExtension => extension instanceof x509.SubjectAlternativeNameExtension) ??
      null
    const requested = san === null ? [] : san.names.items.filter((name) => name.type === 'dns' || name.type === 'ip').map((name) => name.value)
    const hosts = normalizeHosts(options.hosts ?? requested)
    if (hosts.length === 0) throw new CertsError('CW_CERTS_REQUEST_INVALID', 'a node certificate needs at least one host (none requested, none given)')
    issued = await issueNodeCertificate(orgCa.ca, { ...leaf, hosts })
  } else {
    issued = await issueSigningCertificate(orgCa.ca, leaf)
  }
  return { pem: issued.certificate.toString('pem') + '\n', fingerprint: certificateFingerprint(new Uint8Array(issued.certificate.rawData)) }
}

/** Step 3, on the node: checks the signed certificate and puts it and its pending key in place. */
export async function installCertificate(options: {
  dir: string
  kind: LeafKind
  certificate: string
  now?: Date
}): Promise<{ path: string; fingerprint: string }> {
  const dir = resolve(options.dir)
  const org = await readOrgCertificate(dir)
  const files = pendingFiles(dir, options.kind)
  if (!(await exists(files.key))) throw new CertsError('CW_CERTS_REQUEST_INVALID', `no pending key ${files.key}: run "caseway certs csr" first`)
  let certificate: x509.X509Certificate
  try {
    certificate = new x509.X509Certificate(options.certificate)
  } catch (error) {
    throw new CertsError('CW_CERTS_NO_CERTIFICATE', 'not a certificate', { cause: error })
  }
  try {
    verifyChain([Buffer.from(certificate.rawData).toString('base64')], [{ certificate: org.caCertificatePem, org: org.org }], {
      usage: options.kind === 'node' ? 'tls' : 'signing',
      currentDate: options.now ?? new Date(),
    })
  } catch (error) {
    throw new CertsError('CW_CERTS_REQUEST_INVALID', `the certificate does not fit this node's CA and profile: ${(error as Error).message}`, { cause: error })
  }
  const keyPem = await readFile(files.key, 'utf8')
  const fromKey = Buffer.from(await webcrypto.subtle.exportKey('spki', await publicKeyOf(keyPem)))
  if (!fromKey.equals(Buffer.from(certificate.publicKey.rawData))) {
    throw new CertsError('CW_CERTS_REQUEST_INVALID', 'the certificate is not for the pending key (signed from another request?)')
  }
  const target = FILES[options.kind]
  await writePublicFile(join(dir, target.certificate), certificate.toString('pem') + '\n')
  await rename(files.key, join(dir, target.key))
  return { path: join(dir, target.certificate), fingerprint: certificateFingerprint(new Uint8Array(certificate.rawData)) }
}

async function publicKeyOf(privateKeyPem: string): Promise<webcrypto.CryptoKey> {
  const privateKey = await privateKeyFromPem(privateKeyPem)
  const jwk = await webcrypto.subtle.exportKey('jwk', privateKey)
  delete jwk.d
  return webcrypto.subtle.importKey('jwk', { ...jwk, key_ops: ['verify'] }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])
}
