/**
 * Signers that are wrong one way each, made at run time for the refusal tests: from a CA the
 * target never pinned, or from the harness's own CA with the wrong validity, profile or key.
 * Made once per harness (key generation takes a moment).
 *
 * @module
 */
import { generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from 'node:crypto'
import { createOrgCa, generateKeyPair, issueCertificate, issueNodeCertificate, issueSigningCertificate, type KeyedCertificate } from '#certs'
import { OID, orgUri, type Signer } from '#protocol'
import { x509 } from '#protocol/x509'
import type { Harness } from './harness_dir.ts'

const DAY_MS = 86_400_000

export interface WrongSigners {
  /**
   * A CA the target never pinned that names the harness's org (self-signed, CA:TRUE without a
   * path length constraint, so that a verifier taking it from x5c as an anchor builds a path).
   */
  rogueCa: KeyedCertificate
  /** Signs as the harness's org with a certificate of {@link rogueCa}; x5c = [leaf, rogue CA]. */
  unpinned: Signer
  /** Signs as auxiliary org 2 with a certificate the harness's CA issued (the harness's CA speaks only for the harness). */
  aux2ByHarnessCa: Signer
  /** Signs as the harness with a certificate auxiliary org 1's CA issued (trust-only, speaks only for aux 1). */
  harnessByAux1Ca: Signer
  /** An organization the target has no anchor for (its own unpinned CA). */
  stranger: { org: string; ca: KeyedCertificate; signer: Signer }
  /** The harness's signing profile from its pinned CA, expired yesterday. */
  expired: Signer
  /** … valid only from tomorrow. */
  notYetValid: Signer
  /** A TLS certificate (serverAuth, clientAuth) of the harness from its pinned CA. */
  tls: Signer
  /** The harness's pinned CA itself as the signer. */
  ca: Signer
  /** A second valid signing certificate of the harness (another key). */
  second: KeyedCertificate
  /** A valid Ed25519 signing certificate of the harness. */
  ed25519: KeyedCertificate
  /** Not wrong at all: the harness signing with EdDSA through {@link ed25519} (CW-SIG-002, CW-SIG-015). */
  eddsa: Signer
  /** An RSA key (no certificate). */
  rsa: KeyObject
  /** x5c = [leaf, intermediate CA naming the harness]: the harness's CA has pathLenConstraint 0. */
  underIntermediate: Signer
  /** Signing profile, but no organization URI / two of them / a malformed org id (CW-ID-006). */
  noOrg: Signer
  twoOrgs: Signer
  badOrgId: Signer
  /** documentSigning together with clientAuth (CW-ID-004 forbids it). */
  signingAndClientAuth: Signer
  /** No extendedKeyUsage at all. */
  noEku: Signer
  /** anyExtendedKeyUsage only. */
  anyEku: Signer
  /** A P-384 key (neither P-256 nor Ed25519), signing profile. */
  p384: KeyedCertificate
  /** Signing profile plus a critical extension no verifier knows. */
  unknownCritical: Signer
}

const pem = (one: KeyedCertificate) => one.certificate.toString('pem')
const signerOf = (leaf: KeyedCertificate, ...issuers: KeyedCertificate[]): Signer => ({ privateKey: leaf.privateKey, chain: [leaf, ...issuers].map(pem) })

async function make(harness: Harness): Promise<WrongSigners> {
  const { main } = harness
  const now = Date.now()
  const rogueCa = await selfSignedCa(main.org, `${main.name} (unpinned)`)
  const rogueLeaf = await issueSigningCertificate(rogueCa, { org: main.org, name: main.name })
  const strangerOrg = `${main.org.slice(0, 55)}-stranger`
  const strangerCa = await createOrgCa({ org: strangerOrg, name: 'Conformance stranger' })
  const strangerLeaf = await issueSigningCertificate(strangerCa, { org: strangerOrg, name: 'Conformance stranger' })
  const expired = await issueSigningCertificate(main.ca, {
    org: main.org,
    name: main.name,
    notBefore: new Date(now - 30 * DAY_MS),
    notAfter: new Date(now - DAY_MS),
  })
  const notYetValid = await issueSigningCertificate(main.ca, {
    org: main.org,
    name: main.name,
    notBefore: new Date(now + DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
  })
  const tls = await issueNodeCertificate(main.ca, { org: main.org, name: main.name, hosts: ['localhost'] })
  const second = await issueSigningCertificate(main.ca, { org: main.org, name: main.name })
  const edKeys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair
  const ed25519 = await issueCertificate(main.ca, {
    subject: `CN=${main.name} Caseway signing Ed25519, O=${main.name}`,
    uris: [orgUri(main.org)],
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsage: [OID.documentSigning],
    keys: edKeys,
  })
  const [aux1, aux2] = harness.aux as [Harness['aux'][number], Harness['aux'][number]]
  const aux2ByHarnessCa = await issueSigningCertificate(main.ca, { org: aux2.org, name: aux2.name })
  const harnessByAux1Ca = await issueSigningCertificate(aux1.ca, { org: main.org, name: main.name })
  const profile = (uris: string[], extendedKeyUsage?: string[], keys?: webcrypto.CryptoKeyPair) =>
    issueCertificate(main.ca, {
      subject: `CN=${main.name} Caseway signing, O=${main.name}`,
      uris,
      keyUsage: x509.KeyUsageFlags.digitalSignature,
      ...(extendedKeyUsage === undefined ? {} : { extendedKeyUsage }),
      ...(keys === undefined ? {} : { keys }),
    })
  const own = [orgUri(main.org)]
  const intermediate = await issueCertificate(main.ca, {
    subject: `CN=${main.name} Caseway intermediate CA, O=${main.name}`,
    uris: own,
    ca: true,
    keyUsage: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
  })
  const underIntermediate = await issueSigningCertificate(intermediate, { org: main.org, name: main.name })
  const p384Keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair
  return {
    rogueCa,
    underIntermediate: signerOf(underIntermediate, intermediate),
    noOrg: signerOf(await profile([], [OID.documentSigning])),
    twoOrgs: signerOf(await profile([...own, orgUri(harness.aux[0]!.org)], [OID.documentSigning])),
    badOrgId: signerOf(await profile(['urn:caseway:org:Not_An_Org_Id'], [OID.documentSigning])),
    signingAndClientAuth: signerOf(await profile(own, [OID.documentSigning, OID.clientAuth])),
    noEku: signerOf(await profile(own)),
    anyEku: signerOf(await profile(own, ['2.5.29.37.0'])),
    p384: await profile(own, [OID.documentSigning], p384Keys),
    unknownCritical: signerOf(await withUnknownCriticalExtension(main.ca, main.org, main.name)),
    unpinned: signerOf(rogueLeaf, rogueCa),
    aux2ByHarnessCa: signerOf(aux2ByHarnessCa),
    harnessByAux1Ca: signerOf(harnessByAux1Ca),
    stranger: { org: strangerOrg, ca: strangerCa, signer: signerOf(strangerLeaf) },
    expired: signerOf(expired),
    notYetValid: signerOf(notYetValid),
    tls: signerOf(tls),
    ca: { privateKey: main.ca.privateKey, chain: [main.caPem] },
    second,
    ed25519,
    eddsa: signerOf(ed25519),
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  }
}

/** The signing profile of CW-ID-004 plus a critical private extension (1.3.6.1.4.1.55555.1). */
async function withUnknownCriticalExtension(ca: KeyedCertificate, org: string, name: string): Promise<KeyedCertificate> {
  const keys = await generateKeyPair()
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex').replace(/^./, '1'),
    subject: `CN=${name} Caseway signing, O=${name}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: orgUri(org) }], false),
      new x509.ExtendedKeyUsageExtension([OID.documentSigning], false),
      new x509.Extension('1.3.6.1.4.1.55555.1', true, new Uint8Array([0x05, 0x00])),
    ],
  })
  return { certificate, privateKey: keys.privateKey }
}

/** An organization CA profile (CW-ID-001) without a path length constraint. */
async function selfSignedCa(org: string, name: string): Promise<KeyedCertificate> {
  const keys = await generateKeyPair()
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^./, '1'),
    name: `CN=${name} Caseway CA, O=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: orgUri(org) }], false),
    ],
  })
  return { certificate, privateKey: keys.privateKey }
}

const made = new WeakMap<Harness, Promise<WrongSigners>>()

/** The wrong signers for `harness`, made on first use. */
export function wrongSigners(harness: Harness): Promise<WrongSigners> {
  let signers = made.get(harness)
  if (signers === undefined) {
    signers = make(harness)
    made.set(harness, signers)
  }
  return signers
}
