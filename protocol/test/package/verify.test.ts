/**
 * Signing and verifying a package manifest: typ, schema and rules, and the verification time
 * defaulting to the package's own signing time.
 */
import t from 'tap'
import { createOrgCa, issueSigningCertificate } from '#certs'
import { signPackageManifest, signManifest, verifyPackageManifest, type PackageManifest } from '#protocol'

const now = new Date()
const ca = await createOrgCa({ org: 'metro-pd', name: 'Metro PD', now })
const signing = await issueSigningCertificate(ca, { org: 'metro-pd', name: 'Metro PD', now, validityDays: 30 })
const caPem = ca.certificate.toString('pem')
const signer = { privateKey: signing.privateKey, chain: [signing.certificate.toString('pem'), caPem] }
const trustAnchors = [{ certificate: caPem, org: 'metro-pd' }]
const iat = Math.floor(now.getTime() / 1000)

function manifest(overrides: Partial<PackageManifest> = {}): PackageManifest {
  return {
    cwv: '0.1',
    iss: 'metro-pd',
    iat,
    exp: iat + 86_400,
    jti: 'pkg-1',
    sender: { org: 'metro-pd', name: 'Metro PD' },
    case: { id: 'case-1', fields: { number: '2024-1' } },
    options: { format: 'zip', retainFolderStructure: true, auditTrail: false, transcripts: false, tableOfContents: false, message: false },
    files: [{ path: 'evidence/a.mp4', size: 1, sha256: 'sha256:' + '0'.repeat(64), role: 'evidence', evidence: { id: 'e1', originalName: '../a.mp4' } }],
    sha256sums: 'sha256:' + '1'.repeat(64),
    ...overrides,
  }
}

// spec: CW-PKG-002
t.test('a signed package manifest verifies, years later too', async (t) => {
  const jws = await signPackageManifest(manifest(), signer)
  const verified = await verifyPackageManifest(jws, { trustAnchors })
  t.equal(verified.manifest.jti, 'pkg-1')
  t.equal(verified.signer.org, 'metro-pd')
  t.equal(verified.verifiedAt.getTime(), iat * 1000, 'checked at its signing time')
  const later = await verifyPackageManifest(jws, { trustAnchors })
  t.ok(later, 'the default does not depend on the clock')
  await t.rejects(
    verifyPackageManifest(jws, { trustAnchors, currentDate: new Date(now.getTime() + 3 * 365 * 86_400_000) }),
    { code: 'CW_ERR_CERT_EXPIRED' },
    'at a given later date the certificate has expired',
  )
})

// spec: CW-SIG-005
t.test('a case manifest never passes as a package manifest', async (t) => {
  const jws = await signPackageManifest(manifest(), signer)
  const [, payload, signature] = jws.split('.')
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'caseway-manifest+jws', x5c: [] })).toString('base64url')
  await t.rejects(verifyPackageManifest(`${header}.${payload}.${signature}`, { trustAnchors }), { code: 'CW_ERR_TYP_INVALID' })
  t.ok(signManifest)
})

// spec: CW-PKG-005
t.test('unsafe or duplicate paths are refused when signing', async (t) => {
  for (const path of ['../x', 'a//b', 'CON.txt', 'dot.', 'A', 'evidence/A.MP4']) {
    const files = [...manifest().files, { path, size: 0, sha256: 'sha256:' + '2'.repeat(64), role: 'evidence' as const }]
    if (path === 'A') files.push({ path: 'A/b', size: 0, sha256: 'sha256:' + '2'.repeat(64), role: 'evidence' as const })
    await t.rejects(signPackageManifest(manifest({ files }), signer), TypeError, path)
  }
  await t.rejects(signPackageManifest(manifest({ files: [{ ...manifest().files[0]!, path: 'SHA256SUMS' }] }), signer), TypeError)
  await t.rejects(signPackageManifest(manifest({ sender: { org: 'other-org', name: 'x' } }), signer), TypeError)
})
