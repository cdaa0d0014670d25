/**
 * Generates the test vectors in `protocol/vectors/` (format: `vectors.schema.json`, guide:
 * `README.md`): signed manifests, receipts, revocations and grant chains, valid and broken
 * one way each, with the trust anchors, audience and validation time to check them at and
 * the result SPEC.md requires.
 *
 * Keys and certificates are fresh on every run, so the files change when regenerated; times
 * are fixed (`VALIDATION_TIME`). Before writing, every vector is run through this library
 * (`run-vectors.ts`); any disagreement is printed and nothing is written.
 *
 * `npm run gen:vectors`
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, KeyObject, sign as nodeSign, webcrypto } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { createOrgCa, issueCertificate, issueNodeCertificate, issueSigningCertificate, type KeyedCertificate } from '#certs'
import { x509 } from '#protocol/x509'
import { canonicalJson } from '../src/canonical/canonicalize.ts'
import { digestBytes, digestJson } from '../src/canonical/digest.ts'
import { onwardGrant, originGrant } from '../src/grant/build.ts'
import { signObject, type Signer } from '../src/jws/sign.ts'
import type { SignedType } from '../src/jws/types.ts'
import type { CaseManifest, DeliveryReceipt, EvidenceItem, Grant, Revocation, SharingPolicy } from '../src/types.gen.ts'
import type { TrustAnchor } from '../src/x509/chain.ts'
import { OID, orgUri } from '../src/x509/org_uri.ts'
import { mismatch, runVector, VECTOR_DIR, type Vector, type VectorFile } from './run-vectors.ts'

const VALIDATION_TIME = '2025-06-01T12:00:00Z'
const NOW = new Date(VALIDATION_TIME)
const T = Math.floor(NOW.getTime() / 1000)
const DAY = 86_400
const CHUNK = 65_536

// ---------------------------------------------------------------------------------------------
// Organizations

interface Party {
  org: string
  ca: KeyedCertificate
  signing: KeyedCertificate
  signer: Signer
  anchor: TrustAnchor
}

const pem = (cert: KeyedCertificate) => cert.certificate.toString('pem')
const der64 = (cert: KeyedCertificate) => Buffer.from(cert.certificate.rawData).toString('base64')
const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url')

async function party(org: string, name: string): Promise<Party> {
  const ca = await createOrgCa({ org, name, now: NOW })
  const signing = await issueSigningCertificate(ca, { org, name, now: NOW })
  return { org, ca, signing, signer: { privateKey: signing.privateKey, chain: [pem(signing)] }, anchor: { certificate: pem(ca), org } }
}

const pd = await party('springfield-pd', 'Springfield Police Department')
const da = await party('county-da', 'Springfield County District Attorney')
const court = await party('superior-court', 'Springfield Superior Court')
const lab = await party('state-lab', 'State Crime Laboratory')
/** The verifier's anchors: every org that signs something here (state-lab only receives). */
const ANCHORS = [pd, da, court].map((p) => p.anchor)

/** Certificates that are wrong one way each (all for springfield-pd unless named otherwise). */
const rogueCa = await createOrgCa({ org: 'rogue', name: 'Rogue CA', now: NOW })
const rogueLeaf = await issueSigningCertificate(rogueCa, { org: pd.org, name: 'Springfield Police Department', now: NOW })
const expiredLeaf = await issueSigningCertificate(pd.ca, {
  org: pd.org,
  name: 'Springfield Police Department',
  notBefore: new Date(NOW.getTime() - 400 * DAY * 1000),
  notAfter: new Date(NOW.getTime() - DAY * 1000),
})
const futureLeaf = await issueSigningCertificate(pd.ca, {
  org: pd.org,
  name: 'Springfield Police Department',
  notBefore: new Date(NOW.getTime() + DAY * 1000),
  notAfter: new Date(NOW.getTime() + 300 * DAY * 1000),
})
const tlsLeaf = await issueNodeCertificate(pd.ca, { org: pd.org, name: 'Springfield Police Department', hosts: ['caseway.springfield-pd.example'], now: NOW })
const secondLeaf = await issueSigningCertificate(pd.ca, { org: pd.org, name: 'Springfield Police Department', now: NOW })
const edKeys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair
const edLeaf = await issueCertificate(pd.ca, {
  subject: 'CN=Springfield Police Department Caseway signing Ed25519, O=Springfield Police Department',
  uris: [orgUri(pd.org)],
  keyUsage: x509.KeyUsageFlags.digitalSignature,
  extendedKeyUsage: [OID.documentSigning],
  keys: edKeys,
  now: NOW,
})
const signerOf = (leaf: KeyedCertificate, ...issuers: KeyedCertificate[]): Signer => ({ privateKey: leaf.privateKey, chain: [leaf, ...issuers].map(pem) })

// ---------------------------------------------------------------------------------------------
// Content

function evidenceItem(id: string, fields: Omit<EvidenceItem, 'id' | 'digest' | 'chunks' | 'chunkSize' | 'doNotDisclose'>): EvidenceItem {
  const content = Buffer.alloc(fields.size, `${id} content `)
  const chunks: string[] = []
  for (let offset = 0; offset < content.length; offset += CHUNK) chunks.push(digestBytes(content.subarray(offset, offset + CHUNK)))
  return { id, ...fields, digest: digestBytes(content), chunkSize: CHUNK, chunks, doNotDisclose: false }
}

const EVIDENCE = {
  video: evidenceItem('ev-video-1', { name: 'bodycam-0412.mp4', category: 'video', mediaType: 'video/mp4', size: 200_000, folder: 'f-scene' }),
  photo: evidenceItem('ev-photo-1', { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg', size: 50_000, folder: 'f-photos' }),
  note: evidenceItem('ev-note-1', { name: 'door-note.txt', category: 'document', mediaType: 'text/plain', size: 0, attachmentOf: 'ev-photo-1' }),
  report: evidenceItem('ev-report-1', { name: 'incident-report.pdf', category: 'document', mediaType: 'application/pdf', size: 70_000 }),
}
const ALL_EVIDENCE = Object.values(EVIDENCE)
const ONWARD_EVIDENCE = [EVIDENCE.photo, EVIDENCE.note, EVIDENCE.report]
const digests = (items: readonly EvidenceItem[]) => items.map((item) => item.digest)
const FIELDS = { title: 'Burglary at 742 Evergreen Terrace', summary: 'Forced entry through the rear door.', offenses: ['burglary', 'criminal mischief'] }

function policy(
  id: string,
  overrides: {
    download?: boolean
    import?: boolean
    applyUpdates?: boolean
    shareOnward: SharingPolicy['permissions']['shareOnward']
    caseFields: string[]
    evidenceCategories: string[]
    attachments?: boolean
    maxDurationSeconds: number
  },
): SharingPolicy {
  return {
    id,
    version: 1,
    name: id.replaceAll('-', ' '),
    permissions: {
      view: true,
      download: overrides.download ?? true,
      import: overrides.import ?? true,
      applyUpdates: overrides.applyUpdates ?? true,
      shareOnward: overrides.shareOnward,
    },
    content: { caseFields: overrides.caseFields, evidenceCategories: overrides.evidenceCategories, attachments: overrides.attachments ?? true },
    maxDurationSeconds: overrides.maxDurationSeconds,
  }
}

/** The originator's policy for the DA, the DA's for the court, the court's for the lab. */
const P0 = () =>
  policy('investigative-partner', {
    shareOnward: { allowed: true, maxDepth: 2, partners: [court.org, lab.org] },
    caseFields: ['title', 'summary', 'offenses', 'location'],
    evidenceCategories: ['video', 'photo', 'document'],
    maxDurationSeconds: 90 * DAY,
  })
const P1 = () =>
  policy('prosecution-to-court', {
    applyUpdates: false,
    shareOnward: { allowed: true, maxDepth: 1, partners: [lab.org] },
    caseFields: ['title', 'summary', 'offenses'],
    evidenceCategories: ['video', 'photo', 'document'],
    maxDurationSeconds: 60 * DAY,
  })
const P2 = () =>
  policy('court-to-lab', {
    import: false,
    applyUpdates: false,
    shareOnward: { allowed: false, maxDepth: 0, partners: [] },
    caseFields: ['title', 'offenses'],
    evidenceCategories: ['photo', 'document'],
    maxDurationSeconds: 30 * DAY,
  })

// ---------------------------------------------------------------------------------------------
// Grants and signed objects

const GRANT_IAT = T - 3_600

/** pd → da (→ court → lab): `hops` grants of the standard chain, unsigned. */
function chainPayloads(hops: 1 | 2 | 3): Grant[] {
  const g0 = originGrant({
    iss: pd.org,
    aud: da.org,
    share: 'spd-share-0117',
    policy: P0(),
    evidence: digests(ALL_EVIDENCE),
    iat: GRANT_IAT,
    exp: T + 30 * DAY,
    jti: 'spd-grant-0117',
  })
  const grants = [g0]
  if (hops >= 2) grants.push(onwardGrant(g0, { aud: court.org, share: 'da-share-0042', policy: P1(), iat: GRANT_IAT, exp: T + 25 * DAY, jti: 'da-grant-0042' }))
  if (hops >= 3) {
    grants.push(
      onwardGrant(grants[1]!, {
        aud: lab.org,
        share: 'court-share-0007',
        policy: P2(),
        evidence: digests(ONWARD_EVIDENCE),
        iat: GRANT_IAT,
        exp: T + 20 * DAY,
        jti: 'court-grant-0007',
      }),
    )
  }
  return grants
}

const ISSUERS = [pd, da, court]

/** Recomputes every `parent` from the (possibly edited) previous grant. */
function relink(grants: Grant[]): Grant[] {
  for (let index = 1; index < grants.length; index++) grants[index]!.parent = digestJson(grants[index - 1])
  return grants
}

/** Signs each grant with its issuer's key, without signGrant's checks (broken grants too). */
async function signGrants(grants: readonly Grant[], signers: readonly Signer[] = grants.map((_, index) => ISSUERS[index]!.signer)): Promise<string[]> {
  return Promise.all(grants.map((grant, index) => signRaw('grant', grant, signers[index]!)))
}

function signRaw(type: SignedType, payload: object, signer: Signer): Promise<string> {
  return signObject(type, payload as Record<string, unknown>, signer)
}

function manifestPayload(options: {
  jti: string
  iss: Party
  aud: Party
  grants: string[]
  evidence?: EvidenceItem[]
  fields?: Record<string, string | string[]>
}): CaseManifest {
  return {
    cwv: '0.1',
    iss: options.iss.org,
    aud: options.aud.org,
    iat: T - 300,
    exp: T + DAY,
    jti: options.jti,
    share: {
      id: `share-${options.jti}`,
      revision: 1,
      scope: 'case',
      live: true,
      message: 'For review.',
      recipients: [{ kind: 'agency', id: options.aud.org }],
    },
    case: {
      id: 'case-2025-0117',
      fields: structuredClone(options.fields ?? FIELDS),
      folders: [
        { id: 'f-scene', name: 'Scene' },
        { id: 'f-photos', name: 'Photos', parent: 'f-scene' },
      ],
    },
    evidence: structuredClone(options.evidence ?? ALL_EVIDENCE),
    grants: options.grants,
  }
}

/** A direct share pd → da: one grant, all evidence. */
async function directManifest(jti: string, edit: (manifest: CaseManifest) => void = () => {}): Promise<CaseManifest> {
  const manifest = manifestPayload({ jti, iss: pd, aud: da, grants: await signGrants(chainPayloads(1)) })
  edit(manifest)
  return manifest
}

/** An onward share court → lab over three grants; `editGrants` may change them before signing. */
async function onwardManifest(
  jti: string,
  editGrants: (grants: Grant[]) => void = () => {},
  signers?: Signer[],
  evidence = ONWARD_EVIDENCE,
): Promise<CaseManifest> {
  const grants = chainPayloads(3)
  editGrants(grants)
  return manifestPayload({
    jti,
    iss: court,
    aud: lab,
    grants: await signGrants(grants, signers),
    evidence,
    fields: { title: FIELDS.title, offenses: FIELDS.offenses },
  })
}

function receiptPayload(jti: string, status: 'delivered' | 'rejected', manifestDigest: string): DeliveryReceipt {
  const receipt: DeliveryReceipt = {
    cwv: '0.1',
    iss: da.org,
    aud: pd.org,
    iat: T - 60,
    exp: T + 7 * DAY,
    jti,
    share: 'share-cw-valid-manifest-direct',
    revision: 1,
    manifest: manifestDigest,
    status,
  }
  if (status === 'rejected') receipt.problem = { code: 'CW_ERR_POLICY_VIOLATION', detail: 'evidence category "video" is not allowed by the policy' }
  return receipt
}

function revocationPayload(jti: string): Revocation {
  return {
    cwv: '0.1',
    iss: pd.org,
    aud: da.org,
    iat: T - 60,
    exp: T + 7 * DAY,
    jti,
    share: 'share-cw-valid-manifest-direct',
    revokedAt: T - 60,
    reason: 'Case sealed by court order.',
  }
}

/** A hand-made compact JWS: any header, any payload, a real ES256/EdDSA signature with `key`. */
function craft(header: Record<string, unknown>, payload: unknown, sign?: (input: Buffer) => Uint8Array): string {
  const body = typeof payload === 'string' ? payload : canonicalJson(payload)
  const input = `${b64u(JSON.stringify(header))}.${b64u(body)}`
  return `${input}.${sign === undefined ? '' : b64u(sign(Buffer.from(input)))}`
}
/** The same JWS with one base64url character of its signature changed (still canonical base64url). */
function corruptSignature(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string]
  return `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`
}
const es256 = (key: webcrypto.CryptoKey) => (input: Buffer) => nodeSign('sha256', input, { key: KeyObject.from(key), dsaEncoding: 'ieee-p1363' })
const eddsa = (key: webcrypto.CryptoKey) => (input: Buffer) => nodeSign(null, input, KeyObject.from(key))
const TYP = { manifest: 'caseway-manifest+jws', grant: 'caseway-grant+jws', receipt: 'caseway-receipt+jws', revocation: 'caseway-revocation+jws' }

// ---------------------------------------------------------------------------------------------
// Vectors

const FILES: Record<string, string> = {
  valid: 'Objects a conforming verifier accepts, of versions 0.1 and 0.2 (CW-VER-005).',
  sig: 'JWS shape and header: size, serialization, algorithm, critical and key headers, typ, x5c, signature (CW-FMT-005, CW-SIG-001..005, CW-SIG-008).',
  cert: "The signer's certificate: chain to a pinned CA, validity, signing profile (CW-SIG-006, CW-SIG-007).",
  claims: 'Claims after the signature: version, issuer, audience, time (CW-VER-001, CW-SIG-009..011).',
  schema: 'Schema and semantic rules of the payload (CW-FMT-004, CW-MAN-001, CW-MAN-002, CW-MAN-005, CW-REC-001).',
  policy: "The receiver's policy checks of a verified manifest against the effective policy (CW-POL-003, CW-POL-004, CW-PROV-007).",
  prov: 'Provenance chains: every grant verified, then links, then narrowing (CW-PROV-001..009, CW-POL-005, CW-POL-009).',
}
const vectors = new Map<string, Vector[]>(Object.keys(FILES).map((name) => [name, []]))

interface VectorInput {
  description: string
  spec: string[]
  kind?: Vector['kind']
  input: string | string[]
  issuer?: string
  trustAnchors?: TrustAnchor[]
  audience: string
  maxBytes?: number
  expected: string
  /** The payload signed, for accepted vectors. */
  payload?: unknown
}

function add(file: string, name: string, vector: VectorInput): void {
  const entry: Vector = {
    id: `cw::${file}::${name}`,
    description: vector.description,
    spec: vector.spec,
    kind: vector.kind ?? 'manifest',
    input: vector.input,
    trustAnchors: vector.trustAnchors ?? ANCHORS,
    audience: vector.audience,
    validationTime: VALIDATION_TIME,
    expected: vector.expected,
  }
  if (vector.issuer !== undefined) entry.issuer = vector.issuer
  if (vector.maxBytes !== undefined) entry.maxBytes = vector.maxBytes
  if (vector.expected === 'accept') {
    if (vector.payload === undefined) throw new Error(`${entry.id}: an accepted vector needs its payload`)
    entry.expectedPayloadDigest = digestJson(vector.payload)
  }
  // Key order as in the schema, so the files read the same way.
  const ordered = Object.fromEntries(
    ['id', 'description', 'spec', 'kind', 'input', 'issuer', 'trustAnchors', 'audience', 'validationTime', 'maxBytes', 'expected', 'expectedPayloadDigest']
      .filter((key) => Object.hasOwn(entry, key))
      .map((key) => [key, entry[key as keyof Vector]]),
  ) as unknown as Vector
  vectors.get(file)!.push(ordered)
}

// --- valid -----------------------------------------------------------------------------------

const direct = await directManifest('cw-valid-manifest-direct')
const directJws = await signRaw('manifest', direct, pd.signer)
add('valid', 'manifest-direct', {
  description:
    'A direct share springfield-pd → county-da: one grant, four evidence items (one an attachment, one empty), ES256, x5c = the signing certificate only.',
  spec: ['CW-SIG-001', 'CW-SIG-002', 'CW-SIG-003', 'CW-MAN-001', 'CW-MAN-002', 'CW-PROV-001', 'CW-PROV-007', 'CW-POL-003'],
  input: directJws,
  audience: da.org,
  expected: 'accept',
  payload: direct,
})

const onward = await onwardManifest('cw-valid-manifest-onward')
add('valid', 'manifest-onward-depth-3', {
  description:
    'An onward share superior-court → state-lab carrying three grants (springfield-pd → county-da → superior-court → state-lab), each narrower; the manifest carries only what the last grant allows.',
  spec: ['CW-PROV-001', 'CW-PROV-002', 'CW-PROV-003', 'CW-PROV-004', 'CW-PROV-005', 'CW-PROV-006', 'CW-PROV-007', 'CW-POL-005'],
  input: await signRaw('manifest', onward, court.signer),
  audience: lab.org,
  expected: 'accept',
  payload: onward,
})

const edManifest = await directManifest('cw-valid-manifest-eddsa')
add('valid', 'manifest-eddsa', {
  description: 'A manifest signed with EdDSA by an Ed25519 signing certificate (issued by a P-256 org CA).',
  spec: ['CW-SIG-002'],
  input: await signRaw('manifest', edManifest, signerOf(edLeaf)),
  audience: da.org,
  expected: 'accept',
  payload: edManifest,
})

const withCa = await directManifest('cw-valid-manifest-x5c-with-ca')
add('valid', 'manifest-x5c-with-ca', {
  description: 'x5c holds the signing certificate followed by the pinned org CA itself.',
  spec: ['CW-SIG-003', 'CW-SIG-006'],
  input: await signRaw('manifest', withCa, signerOf(pd.signing, pd.ca)),
  audience: da.org,
  expected: 'accept',
  payload: withCa,
})

const revision2 = await directManifest('cw-valid-manifest-revision-2', (m) => {
  m.share.revision = 2
  m.share.previous = digestJson(direct)
})
add('valid', 'manifest-revision-2', {
  description: 'Revision 2 of a share, naming the digest of revision 1 in share.previous.',
  spec: ['CW-MAN-001'],
  input: await signRaw('manifest', revision2, pd.signer),
  audience: da.org,
  expected: 'accept',
  payload: revision2,
})

const skewed = await directManifest('cw-valid-manifest-clock-skew', (m) => {
  m.iat = T + 45
})
add('valid', 'manifest-iat-within-skew', {
  description: 'iat is 45 s after the validation time: within the 60 s clock-skew allowance.',
  spec: ['CW-SIG-011'],
  input: await signRaw('manifest', skewed, pd.signer),
  audience: da.org,
  expected: 'accept',
  payload: skewed,
})

const delivered = receiptPayload('cw-valid-receipt-delivered', 'delivered', digestJson(direct))
add('valid', 'receipt-delivered', {
  description: 'county-da tells springfield-pd that cw::valid::manifest-direct was delivered.',
  spec: ['CW-REC-001'],
  kind: 'receipt',
  input: await signRaw('receipt', delivered, da.signer),
  audience: pd.org,
  expected: 'accept',
  payload: delivered,
})

const rejected = receiptPayload('cw-valid-receipt-rejected', 'rejected', digestJson(direct))
add('valid', 'receipt-rejected', {
  description: 'A rejection receipt naming the problem code.',
  spec: ['CW-REC-001'],
  kind: 'receipt',
  input: await signRaw('receipt', rejected, da.signer),
  audience: pd.org,
  expected: 'accept',
  payload: rejected,
})

const revocation = revocationPayload('cw-valid-revocation')
add('valid', 'revocation', {
  description: 'springfield-pd revokes its share with county-da.',
  spec: ['CW-REV-001'],
  kind: 'revocation',
  input: await signRaw('revocation', revocation, pd.signer),
  audience: da.org,
  expected: 'accept',
  payload: revocation,
})

const validChain = chainPayloads(3)
add('valid', 'grant-chain-depth-3', {
  description: 'The three grants of cw::valid::manifest-onward-depth-3 on their own; the last is issued by superior-court to state-lab.',
  spec: ['CW-PROV-001', 'CW-PROV-002', 'CW-PROV-003', 'CW-PROV-004', 'CW-PROV-005', 'CW-PROV-006'],
  kind: 'grant-chain',
  input: await signGrants(validChain),
  issuer: court.org,
  audience: lab.org,
  expected: 'accept',
  payload: validChain[2],
})

// --- sig ---------------------------------------------------------------------------------------

const [directHeader, directBody] = directJws.split('.') as [string, string, string]
const x5c = [der64(pd.signing)]
const sig = (name: string, description: string, spec: string[], input: string, expected: string, extra: Partial<VectorInput> = {}) =>
  add('sig', name, { description, spec, input, audience: da.org, expected, ...extra })

sig(
  'alg-none',
  'alg "none" with an empty signature (an unsecured JWS).',
  ['CW-SIG-002'],
  craft({ alg: 'none', typ: TYP.manifest, x5c }, direct),
  'CW_ERR_ALG_NOT_ALLOWED',
)
sig(
  'alg-hs256-public-key',
  'HS256 keyed with the DER SubjectPublicKeyInfo of the signing certificate (algorithm confusion).',
  ['CW-SIG-002'],
  craft({ alg: 'HS256', typ: TYP.manifest, x5c }, direct, (input) =>
    createHmac('sha256', Buffer.from(pd.signing.certificate.publicKey.rawData)).update(input).digest(),
  ),
  'CW_ERR_ALG_NOT_ALLOWED',
)
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
sig(
  'alg-rs256',
  'RS256, correctly signed with an RSA key (x5c: the P-256 signing certificate).',
  ['CW-SIG-002'],
  craft({ alg: 'RS256', typ: TYP.manifest, x5c }, direct, (input) => nodeSign('sha256', input, rsa.privateKey)),
  'CW_ERR_ALG_NOT_ALLOWED',
)
sig(
  'alg-es256-ed25519-key',
  'alg ES256 while the x5c leaf holds an Ed25519 key (signed with EdDSA): alg does not match the key.',
  ['CW-SIG-002'],
  craft({ alg: 'ES256', typ: TYP.manifest, x5c: [der64(edLeaf)] }, direct, eddsa(edLeaf.privateKey)),
  'CW_ERR_ALG_NOT_ALLOWED',
)
sig(
  'crit-unknown',
  'A crit header naming an extension ("exp"), correctly signed.',
  ['CW-SIG-004'],
  craft({ alg: 'ES256', typ: TYP.manifest, x5c, crit: ['exp'], exp: T + DAY }, direct, es256(pd.signing.privateKey)),
  'CW_ERR_CRIT_UNSUPPORTED',
)
sig(
  'b64-false',
  'RFC 7797 unencoded payload option (b64 false, crit ["b64"]), correctly signed over the encoded payload.',
  ['CW-SIG-004'],
  craft({ alg: 'ES256', typ: TYP.manifest, x5c, b64: false, crit: ['b64'] }, direct, es256(pd.signing.privateKey)),
  'CW_ERR_CRIT_UNSUPPORTED',
)
sig(
  'jwk-header',
  'A jwk header carrying the signer key next to x5c, correctly signed.',
  ['CW-SIG-003'],
  craft(
    {
      alg: 'ES256',
      typ: TYP.manifest,
      x5c,
      jwk: createPublicKey({ key: Buffer.from(pd.signing.certificate.publicKey.rawData), format: 'der', type: 'spki' }).export({ format: 'jwk' }),
    },
    direct,
    es256(pd.signing.privateKey),
  ),
  'CW_ERR_X5C_INVALID',
)
sig(
  'x5c-missing',
  'No x5c header, correctly signed.',
  ['CW-SIG-003'],
  craft({ alg: 'ES256', typ: TYP.manifest }, direct, es256(pd.signing.privateKey)),
  'CW_ERR_X5C_INVALID',
)
sig(
  'x5c-other-key',
  "x5c names another valid signing certificate of the same organization; the signature is by the first certificate's key.",
  ['CW-SIG-003', 'CW-SIG-008'],
  craft({ alg: 'ES256', typ: TYP.manifest, x5c: [der64(secondLeaf)] }, direct, es256(pd.signing.privateKey)),
  'CW_ERR_SIGNATURE_INVALID',
)
sig(
  'typ-receipt-as-manifest',
  'A correctly signed object of typ caseway-receipt+jws presented as a manifest.',
  ['CW-SIG-005'],
  await signRaw('receipt', direct, pd.signer),
  'CW_ERR_TYP_INVALID',
)
sig(
  'header-unknown-parameter',
  'A kid header next to alg, typ and x5c, correctly signed: a parameter §7 does not define is refused, not ignored (§8 step 6a).',
  ['CW-SIG-016'],
  craft({ alg: 'ES256', typ: TYP.manifest, x5c, kid: 'signing-2026' }, direct, es256(pd.signing.privateKey)),
  'CW_ERR_MALFORMED',
)
sig('typ-missing', 'No typ header, correctly signed.', ['CW-SIG-005'], craft({ alg: 'ES256', x5c }, direct, es256(pd.signing.privateKey)), 'CW_ERR_TYP_INVALID')
{
  const tampered = structuredClone(direct)
  tampered.case.fields['title'] = 'Nothing happened'
  sig(
    'payload-tampered',
    'The payload of cw::valid::manifest-direct with one case field changed (still canonical JSON), the original header and signature.',
    ['CW-SIG-008'],
    `${directHeader}.${b64u(canonicalJson(tampered))}.${directJws.split('.')[2]}`,
    'CW_ERR_SIGNATURE_INVALID',
  )
}
sig(
  'not-compact',
  'A JWS in flattened JSON serialization instead of compact.',
  ['CW-SIG-001'],
  JSON.stringify({ protected: directHeader, payload: directBody, signature: directJws.split('.')[2] }),
  'CW_ERR_MALFORMED',
)
sig(
  'payload-not-object',
  'A correctly signed JSON array as the payload.',
  ['CW-SIG-001'],
  craft({ alg: 'ES256', typ: TYP.manifest, x5c }, [direct], es256(pd.signing.privateKey)),
  'CW_ERR_MALFORMED',
)
sig('oversized', 'cw::valid::manifest-direct checked by a verifier whose size limit (maxBytes) is 4096 bytes.', ['CW-FMT-005'], directJws, 'CW_ERR_TOO_LARGE', {
  maxBytes: 4096,
})

// --- cert --------------------------------------------------------------------------------------

const certVector = async (name: string, description: string, spec: string[], signer: Signer, expected: string) =>
  add('cert', name, { description, spec, input: await signRaw('manifest', await directManifest(`cw-cert-${name}`), signer), audience: da.org, expected })

await certVector(
  'untrusted-ca',
  'Signed by a certificate naming springfield-pd, issued by a CA nobody pinned (x5c includes that CA).',
  ['CW-SIG-006', 'CW-TRUST-004'],
  signerOf(rogueLeaf, rogueCa),
  'CW_ERR_CHAIN_UNTRUSTED',
)
await certVector(
  'signing-cert-expired',
  'The signing certificate expired a day before the validation time.',
  ['CW-SIG-006'],
  signerOf(expiredLeaf),
  'CW_ERR_CERT_EXPIRED',
)
await certVector(
  'signing-cert-not-yet-valid',
  'The signing certificate becomes valid a day after the validation time.',
  ['CW-SIG-006'],
  signerOf(futureLeaf),
  'CW_ERR_CERT_NOT_YET_VALID',
)
await certVector(
  'tls-cert-signs',
  "Signed with the node's TLS certificate (serverAuth, clientAuth) instead of the signing certificate.",
  ['CW-SIG-007', 'CW-ID-004'],
  signerOf(tlsLeaf),
  'CW_ERR_CERT_USAGE',
)
await certVector('ca-cert-signs', 'Signed directly with the org CA key, x5c = the CA certificate.', ['CW-SIG-007'], signerOf(pd.ca), 'CW_ERR_CERT_USAGE')

// --- claims ------------------------------------------------------------------------------------

add('claims', 'iss-not-signer-org', {
  description: 'iss is county-da; the signing certificate names springfield-pd.',
  spec: ['CW-SIG-009'],
  input: await signRaw(
    'manifest',
    await directManifest('cw-claims-iss', (m) => {
      m.iss = da.org
      m.aud = court.org
    }),
    pd.signer,
  ),
  audience: court.org,
  expected: 'CW_ERR_ISSUER_MISMATCH',
})
add('claims', 'wrong-audience', {
  description: 'cw::valid::manifest-direct (addressed to county-da) checked by superior-court.',
  spec: ['CW-SIG-010'],
  input: directJws,
  audience: court.org,
  expected: 'CW_ERR_AUDIENCE_MISMATCH',
})
add('claims', 'expired', {
  description: 'exp is one hour before the validation time.',
  spec: ['CW-SIG-011'],
  input: await signRaw(
    'manifest',
    await directManifest('cw-claims-expired', (m) => {
      m.iat = T - 2 * DAY
      m.exp = T - 3_600
    }),
    pd.signer,
  ),
  audience: da.org,
  expected: 'CW_ERR_EXPIRED',
})
add('claims', 'issued-in-future', {
  description: 'iat is two minutes after the validation time (beyond the 60 s allowance).',
  spec: ['CW-SIG-011'],
  input: await signRaw(
    'manifest',
    await directManifest('cw-claims-future', (m) => {
      m.iat = T + 120
    }),
    pd.signer,
  ),
  audience: da.org,
  expected: 'CW_ERR_NOT_YET_VALID',
})
add('claims', 'cwv-unsupported', {
  description: 'cwv is "0.3" (a version no verifier of v0.2 supports).',
  spec: ['CW-VER-001'],
  input: await signRaw(
    'manifest',
    await directManifest('cw-claims-cwv', (m) => {
      ;(m as { cwv: string }).cwv = '0.3'
    }),
    pd.signer,
  ),
  audience: da.org,
  expected: 'CW_ERR_VERSION_UNSUPPORTED',
})
add('claims', 'receipt-expired', {
  description: 'A delivery receipt whose exp has passed.',
  spec: ['CW-SIG-011', 'CW-REC-001'],
  kind: 'receipt',
  input: await signRaw(
    'receipt',
    { ...receiptPayload('cw-claims-receipt-expired', 'delivered', digestJson(direct)), iat: T - 8 * DAY, exp: T - DAY },
    da.signer,
  ),
  audience: pd.org,
  expected: 'CW_ERR_EXPIRED',
})
add('claims', 'revocation-wrong-audience', {
  description: 'A revocation addressed to county-da, checked by superior-court.',
  spec: ['CW-SIG-010', 'CW-REV-001'],
  kind: 'revocation',
  input: await signRaw('revocation', revocationPayload('cw-claims-revocation-aud'), pd.signer),
  audience: court.org,
  expected: 'CW_ERR_AUDIENCE_MISMATCH',
})

// --- schema ------------------------------------------------------------------------------------

const schemaVector = async (name: string, description: string, spec: string[], edit: (m: CaseManifest) => void) =>
  add('schema', name, {
    description,
    spec,
    input: await signRaw('manifest', await directManifest(`cw-schema-${name}`, edit), pd.signer),
    audience: da.org,
    expected: 'CW_ERR_SCHEMA_INVALID',
  })

await schemaVector('extra-property', 'An unknown top-level property "priority".', ['CW-FMT-004'], (m) => {
  ;(m as unknown as Record<string, unknown>)['priority'] = 'high'
})
await schemaVector('wrong-type', 'An evidence size given as a string.', ['CW-FMT-004'], (m) => {
  ;(m.evidence[1] as unknown as Record<string, unknown>)['size'] = '50000'
})
await schemaVector('recipients-over-max-items', '1001 recipients; the schema allows 1000.', ['CW-FMT-004'], (m) => {
  m.share.recipients = Array.from({ length: 1001 }, (_, index) => ({ kind: 'badge' as const, id: String(1000 + index) }))
})
await schemaVector(
  'recipient-email-not-plain',
  'An e-mail recipient that smuggles a Bcc header (CR LF) into the address.',
  ['CW-FMT-006', 'CW-FMT-004'],
  (m) => {
    m.share.recipients = [{ kind: 'email', id: 'ada@county-da.example\r\nBcc: evil@elsewhere.example' }]
  },
)
await schemaVector('revision-2-without-previous', 'Revision 2 without share.previous.', ['CW-MAN-001'], (m) => {
  m.share.revision = 2
})
await schemaVector('revision-1-with-previous', 'Revision 1 with a share.previous.', ['CW-MAN-001'], (m) => {
  m.share.previous = digestJson(direct)
})
await schemaVector(
  'chunk-count-inconsistent',
  'A 200000-byte item in 65536-byte chunks lists 3 chunk digests instead of 4.',
  ['CW-MAN-002', 'CW-FMT-003'],
  (m) => {
    m.evidence[0]!.chunks.pop()
  },
)
await schemaVector('duplicate-evidence-id', 'Two evidence items with the same id.', ['CW-MAN-002'], (m) => {
  m.evidence[3]!.id = m.evidence[1]!.id
})
await schemaVector('attachment-of-unknown-item', 'attachmentOf names an item the manifest does not have.', ['CW-MAN-002'], (m) => {
  m.evidence[2]!.attachmentOf = 'ev-missing'
})
await schemaVector('folder-cycle', "Two folders that are each other's parent.", ['CW-MAN-002'], (m) => {
  m.case.folders[0]!.parent = 'f-photos'
})
add('schema', 'receipt-rejected-without-problem', {
  description: 'A receipt with status rejected and no problem.',
  spec: ['CW-REC-001', 'CW-FMT-004'],
  kind: 'receipt',
  input: await signRaw('receipt', { ...receiptPayload('cw-schema-receipt-no-problem', 'delivered', digestJson(direct)), status: 'rejected' }, da.signer),
  audience: pd.org,
  expected: 'CW_ERR_SCHEMA_INVALID',
})
add('schema', 'grant-extra-property', {
  description: 'The one grant of the chain has an unknown property "note".',
  spec: ['CW-PROV-002', 'CW-FMT-004'],
  input: await signRaw(
    'manifest',
    manifestPayload({ jti: 'cw-schema-grant-extra', iss: pd, aud: da, grants: await signGrants(chainPayloads(1).map((g) => ({ ...g, note: 'x' }))) }),
    pd.signer,
  ),
  audience: da.org,
  expected: 'CW_ERR_SCHEMA_INVALID',
})

// --- policy ------------------------------------------------------------------------------------

/** A direct share whose one grant carries `policy`, and a manifest edited by `edit`. */
async function policyVector(
  name: string,
  description: string,
  spec: string[],
  expected: string,
  grantPolicy: SharingPolicy,
  edit: (m: CaseManifest) => void = () => {},
) {
  const grants = chainPayloads(1)
  grants[0]!.policy = grantPolicy
  const manifest = manifestPayload({ jti: `cw-policy-${name}`, iss: pd, aud: da, grants: await signGrants(grants) })
  edit(manifest)
  add('policy', name, { description, spec, input: await signRaw('manifest', manifest, pd.signer), audience: da.org, expected })
}

await policyVector(
  'category-not-allowed',
  'The policy allows photo and document evidence; the manifest carries a video.',
  ['CW-POL-003'],
  'CW_ERR_POLICY_VIOLATION',
  { ...P0(), content: { ...P0().content, evidenceCategories: ['photo', 'document'] } },
)
await policyVector(
  'case-field-not-allowed',
  'The policy allows the fields title and offenses; the manifest carries summary too.',
  ['CW-POL-003'],
  'CW_ERR_POLICY_VIOLATION',
  { ...P0(), content: { ...P0().content, caseFields: ['title', 'offenses'] } },
)
await policyVector(
  'attachment-not-allowed',
  'The policy allows no attachments; the manifest carries a note attached to a photo.',
  ['CW-POL-003'],
  'CW_ERR_POLICY_VIOLATION',
  { ...P0(), content: { ...P0().content, attachments: false } },
)
await policyVector(
  'do-not-disclose',
  'An evidence item marked doNotDisclose, under a policy that allows everything it carries.',
  ['CW-POL-003', 'CW-POL-002'],
  'CW_ERR_DO_NOT_DISCLOSE',
  P0(),
  (m) => {
    m.evidence[3]!.doNotDisclose = true
  },
)
{
  const grants = chainPayloads(1)
  grants[0]!.policy.maxDurationSeconds = 7 * DAY
  add('policy', 'grant-duration-exceeded', {
    description: 'The grant lasts 30 days and 1 hour; its policy allows 7 days.',
    spec: ['CW-POL-004'],
    input: await signRaw('manifest', manifestPayload({ jti: 'cw-policy-duration', iss: pd, aud: da, grants: await signGrants(grants) }), pd.signer),
    audience: da.org,
    expected: 'CW_ERR_DURATION_EXCEEDED',
  })
}
add('policy', 'effective-policy-is-the-last', {
  description: "An onward share whose manifest carries a video: the originator's policy allows video, the last grant's (the effective policy) does not.",
  spec: ['CW-PROV-007', 'CW-POL-003'],
  input: await signRaw(
    'manifest',
    await onwardManifest(
      'cw-policy-effective',
      (grants) => {
        grants[2]!.evidence = [...grants[1]!.evidence]
      },
      undefined,
      ALL_EVIDENCE,
    ),
    court.signer,
  ),
  audience: lab.org,
  expected: 'CW_ERR_POLICY_VIOLATION',
})

// --- prov --------------------------------------------------------------------------------------

async function provVector(
  name: string,
  description: string,
  spec: string[],
  expected: string,
  editGrants: (grants: Grant[]) => void,
  options: { signers?: Signer[]; trustAnchors?: TrustAnchor[]; manifest?: (m: CaseManifest) => void } = {},
) {
  const manifest = await onwardManifest(`cw-prov-${name}`, editGrants, options.signers)
  options.manifest?.(manifest)
  const vector: VectorInput = { description, spec, input: await signRaw('manifest', manifest, court.signer), audience: lab.org, expected }
  if (options.trustAnchors !== undefined) vector.trustAnchors = options.trustAnchors
  add('prov', name, vector)
}

await provVector(
  'widened-permission',
  'county-da forbids applying updates; superior-court grants state-lab applyUpdates.',
  ['CW-PROV-004', 'CW-POL-005'],
  'CW_ERR_POLICY_WIDENED',
  (g) => {
    g[2]!.policy.permissions.applyUpdates = true
    relink(g)
  },
)
await provVector(
  'widened-category',
  "superior-court's grant allows an evidence category (audio) county-da's does not.",
  ['CW-PROV-004', 'CW-POL-005'],
  'CW_ERR_POLICY_WIDENED',
  (g) => {
    g[2]!.policy.content.evidenceCategories.push('audio')
  },
)
await provVector(
  'widened-max-depth',
  "county-da's grant keeps the originator's maxDepth 2 instead of at most 1.",
  ['CW-PROV-004', 'CW-POL-005'],
  'CW_ERR_POLICY_WIDENED',
  (g) => {
    g[1]!.policy.permissions.shareOnward.maxDepth = 2
    relink(g)
  },
)
await provVector('widened-exp', "superior-court's grant expires a day after county-da's.", ['CW-PROV-005'], 'CW_ERR_POLICY_WIDENED', (g) => {
  g[2]!.exp = g[1]!.exp + DAY
})
await provVector(
  'link-parent-digest',
  "superior-court's grant names the originator's grant as its parent.",
  ['CW-PROV-003'],
  'CW_ERR_CHAIN_LINK_BROKEN',
  (g) => {
    g[2]!.parent = digestJson(g[0])
  },
)
await provVector(
  'link-issuer',
  "county-da's grant goes to state-lab, but superior-court issues the next grant.",
  ['CW-PROV-003'],
  'CW_ERR_CHAIN_LINK_BROKEN',
  (g) => {
    g[1]!.aud = lab.org
    relink(g)
  },
)
await provVector('first-grant-has-parent', 'The first grant has depth 1 and a parent.', ['CW-PROV-001'], 'CW_ERR_CHAIN_LINK_BROKEN', (g) => {
  g[0]!.depth = 1
  g[0]!.parent = digestJson(direct)
  relink(g)
})
await provVector(
  'last-grant-audience',
  'The manifest superior-court → state-lab carries a last grant addressed to county-da (its links are intact).',
  ['CW-PROV-007'],
  'CW_ERR_CHAIN_LINK_BROKEN',
  (g) => {
    g[2]!.aud = da.org
  },
)
await provVector(
  'evidence-added-onward',
  "superior-court's grant adds an evidence digest county-da's does not have.",
  ['CW-PROV-006'],
  'CW_ERR_EVIDENCE_ALTERED',
  (g) => {
    g[2]!.evidence = [...g[2]!.evidence, digestBytes('planted')].sort()
  },
)
await provVector(
  'evidence-not-granted',
  "The manifest's report has a digest the last grant does not list (altered content).",
  ['CW-PROV-007', 'CW-MAN-003'],
  'CW_ERR_EVIDENCE_ALTERED',
  () => {},
  {
    manifest: (m) => {
      const report = m.evidence.find((item) => item.id === EVIDENCE.report.id)!
      const content = Buffer.alloc(report.size, 'altered ')
      report.digest = digestBytes(content)
      report.chunks = [digestBytes(content.subarray(0, CHUNK)), digestBytes(content.subarray(CHUNK))]
    },
  },
)
await provVector(
  'depth-exceeded',
  "county-da's grant allows no onward sharing; superior-court shares onward anyway.",
  ['CW-PROV-004'],
  'CW_ERR_CHAIN_DEPTH_EXCEEDED',
  (g) => {
    g[1]!.policy.permissions.shareOnward = { allowed: false, maxDepth: 0, partners: [lab.org] }
    relink(g)
  },
)
await provVector(
  'partner-not-allowed',
  "county-da's grant lets superior-court share onward only to springfield-pd; it shares with state-lab.",
  ['CW-PROV-004'],
  'CW_ERR_PARTNER_NOT_ALLOWED',
  (g) => {
    g[0]!.policy.permissions.shareOnward.partners = [court.org, lab.org, pd.org]
    g[1]!.policy.permissions.shareOnward.partners = [pd.org]
    g[2]!.policy.permissions.shareOnward.partners = []
    relink(g)
  },
)
await provVector(
  'untrusted-link',
  "The verifier has no trust anchor for county-da, the middle link's signer.",
  ['CW-PROV-008'],
  'CW_ERR_CHAIN_UNTRUSTED',
  () => {},
  {
    trustAnchors: [pd.anchor, court.anchor],
  },
)
await provVector(
  'grant-signed-by-other-org',
  "county-da's grant is signed by superior-court (a trusted signer, but not its issuer).",
  ['CW-PROV-002', 'CW-SIG-009'],
  'CW_ERR_ISSUER_MISMATCH',
  () => {},
  {
    signers: [pd.signer, court.signer, court.signer],
  },
)
await provVector('grant-expired', "county-da's grant (and so superior-court's) expired an hour ago.", ['CW-PROV-002', 'CW-SIG-011'], 'CW_ERR_EXPIRED', (g) => {
  for (const grant of g.slice(1)) {
    grant.iat = T - 2 * DAY
    grant.exp = T - 3_600
  }
  relink(g)
})
{
  const grants = relink(chainPayloads(3))
  const jws = await signGrants(grants)
  const wrongTyp = await signRaw('manifest', grants[1]!, da.signer)
  add('prov', 'grant-typ-manifest', {
    description: "county-da's grant is signed as typ caseway-manifest+jws.",
    spec: ['CW-PROV-002', 'CW-SIG-005'],
    kind: 'grant-chain',
    input: [jws[0]!, wrongTyp, jws[2]!],
    issuer: court.org,
    audience: lab.org,
    expected: 'CW_ERR_TYP_INVALID',
  })
  add('prov', 'grant-chain-reordered', {
    description: 'The first two grants of a valid chain swapped.',
    spec: ['CW-PROV-001', 'CW-PROV-003'],
    kind: 'grant-chain',
    input: [jws[1]!, jws[0]!, jws[2]!],
    issuer: court.org,
    audience: lab.org,
    expected: 'CW_ERR_CHAIN_LINK_BROKEN',
  })
  add('prov', 'grant-chain-middle-dropped', {
    description: 'The middle grant of a valid chain removed.',
    spec: ['CW-PROV-003'],
    kind: 'grant-chain',
    input: [jws[0]!, jws[2]!],
    issuer: court.org,
    audience: lab.org,
    expected: 'CW_ERR_CHAIN_LINK_BROKEN',
  })
  const widened = chainPayloads(3)
  widened[1]!.policy.permissions.download = false
  relink(widened)
  const widenedJws = await signGrants(widened)
  add('prov', 'signatures-before-policy', {
    description:
      "county-da's grant forbids download, which superior-court's grant allows (widened), and superior-court's signature is corrupt: every signature is verified before any policy rule.",
    spec: ['CW-PROV-002', 'CW-SIG-013'],
    kind: 'grant-chain',
    input: [widenedJws[0]!, widenedJws[1]!, corruptSignature(widenedJws[2]!)],
    issuer: court.org,
    audience: lab.org,
    expected: 'CW_ERR_SIGNATURE_INVALID',
  })
  add('prov', 'links-before-policy', {
    description:
      'The chain of cw::prov::signatures-before-policy correctly signed (widened at grant 2), checked for another issuer: link rules are checked before narrowing.',
    spec: ['CW-PROV-007', 'CW-SIG-013'],
    kind: 'grant-chain',
    input: widenedJws,
    issuer: da.org,
    audience: lab.org,
    expected: 'CW_ERR_CHAIN_LINK_BROKEN',
  })
  // Ten grants cycling through the four organizations, each correctly linked.
  const parties = [pd, da, court, lab]
  const long: Grant[] = [
    originGrant({
      iss: pd.org,
      aud: da.org,
      share: 'long-0',
      policy: { ...P0(), permissions: { ...P0().permissions, shareOnward: { allowed: true, maxDepth: 8 } } },
      evidence: digests(ALL_EVIDENCE),
      iat: GRANT_IAT,
      exp: T + 30 * DAY,
      jti: 'long-0',
    }),
  ]
  for (let index = 1; index < 10; index++) {
    const maxDepth = Math.max(0, 8 - index)
    long.push(
      onwardGrant(long[index - 1]!, {
        aud: parties[(index + 1) % 4]!.org,
        share: `long-${index}`,
        policy: { ...P0(), permissions: { ...P0().permissions, shareOnward: { allowed: maxDepth > 0, maxDepth } } },
        iat: GRANT_IAT,
        exp: T + 30 * DAY,
        jti: `long-${index}`,
      }),
    )
  }
  add('prov', 'grant-chain-too-long', {
    description: 'Ten correctly linked grants (depth 0 to 9). The chain length is checked before any grant is verified.',
    spec: ['CW-PROV-009'],
    kind: 'grant-chain',
    input: await signGrants(
      long,
      long.map((_, index) => parties[index % 4]!.signer),
    ),
    issuer: parties[9 % 4]!.org,
    audience: parties[10 % 4]!.org,
    expected: 'CW_ERR_CHAIN_DEPTH_EXCEEDED',
  })
}

// ---------------------------------------------------------------------------------------------
// Self-check, then write

/**
 * Where each refusal must point (not part of the vector format: `at` values are this
 * library's), so a regenerated vector cannot silently fail for another reason than its own.
 */
// --- v0.2: signed objects of the rules v0.2 added -------------------------------------------

/** Who shared, as Caseway names a person (CW-MAN-005): `u.` and 43 base64url characters of a SHA-256. */
const SHARED_BY = { id: `u.${createHash('sha256').update(`${pd.org}\0det-7731`).digest('base64url')}`, name: 'Det. Sarah Hollis' }

{
  const manifest = await directManifest('cw-valid-manifest-shared-by', (m) => {
    m.cwv = '0.2'
    m.share.sharedBy = structuredClone(SHARED_BY)
  })
  add('valid', 'manifest-0-2-shared-by', {
    description: 'A direct share of version 0.2 naming who shared in share.sharedBy (an opaque id and a display name); its one grant is of version 0.1.',
    spec: ['CW-MAN-005', 'CW-VER-005'],
    input: await signRaw('manifest', manifest, pd.signer),
    audience: da.org,
    expected: 'accept',
    payload: manifest,
  })
}
{
  const manifest = await directManifest('cw-valid-manifest-0-2-grants-0-1', (m) => {
    m.cwv = '0.2'
  })
  add('valid', 'manifest-0-2-with-0-1-grants', {
    description: 'A direct share of version 0.2 without sharedBy whose grant is of version 0.1: the version is checked on each object by itself.',
    spec: ['CW-VER-005'],
    input: await signRaw('manifest', manifest, pd.signer),
    audience: da.org,
    expected: 'accept',
    payload: manifest,
  })
}
{
  const manifest = await onwardManifest('cw-valid-manifest-onward-mixed-versions', (g) => {
    g[1]!.cwv = '0.2'
    relink(g)
  })
  manifest.cwv = '0.2'
  add('valid', 'manifest-onward-mixed-grant-versions', {
    description:
      "An onward share of version 0.2 over three grants of versions 0.1, 0.2 and 0.1 (county-da's grant is 0.2): a chain may mix supported versions.",
    spec: ['CW-VER-005', 'CW-PROV-002'],
    input: await signRaw('manifest', manifest, court.signer),
    audience: lab.org,
    expected: 'accept',
    payload: manifest,
  })
}
{
  const manifest = await onwardManifest('cw-valid-manifest-onward-add-recipients', (g) => {
    for (const grant of g) grant.policy.permissions.addRecipients = true
    relink(g)
  })
  manifest.cwv = '0.2'
  add('valid', 'manifest-onward-add-recipients-kept', {
    description: 'An onward share of version 0.2 whose three grants all permit addRecipients: each child keeps what its parent permits.',
    spec: ['CW-POL-008', 'CW-POL-009'],
    input: await signRaw('manifest', manifest, court.signer),
    audience: lab.org,
    expected: 'accept',
    payload: manifest,
  })
}
add('schema', 'manifest-0-1-with-shared-by', {
  description: 'A manifest of version 0.1 carrying share.sharedBy, a member only version 0.2 knows.',
  spec: ['CW-MAN-005', 'CW-FMT-004'],
  input: await signRaw(
    'manifest',
    await directManifest('cw-schema-shared-by-0-1', (m) => {
      m.share.sharedBy = structuredClone(SHARED_BY)
    }),
    pd.signer,
  ),
  audience: da.org,
  expected: 'CW_ERR_SCHEMA_INVALID',
})
await provVector(
  'widened-add-recipients',
  "county-da's grant leaves addRecipients out (false); superior-court grants state-lab addRecipients.",
  ['CW-POL-009', 'CW-POL-005'],
  'CW_ERR_POLICY_WIDENED',
  (g) => {
    g[2]!.policy.permissions.addRecipients = true
  },
  {
    manifest: (m) => {
      m.cwv = '0.2'
    },
  },
)

const EXPECTED_AT: Record<string, string | undefined> = {
  'cw::sig::alg-none': 'header.alg',
  'cw::sig::alg-hs256-public-key': 'header.alg',
  'cw::sig::alg-rs256': 'header.alg',
  'cw::sig::alg-es256-ed25519-key': 'header.alg',
  'cw::sig::crit-unknown': 'header.crit',
  'cw::sig::b64-false': 'header.crit',
  'cw::sig::jwk-header': 'header.jwk',
  'cw::sig::x5c-missing': 'header.x5c',
  'cw::sig::x5c-other-key': undefined,
  'cw::sig::typ-receipt-as-manifest': 'header.typ',
  'cw::sig::typ-missing': 'header.typ',
  'cw::sig::header-unknown-parameter': 'header.kid',
  'cw::sig::payload-tampered': undefined,
  'cw::sig::not-compact': undefined,
  'cw::sig::payload-not-object': 'payload',
  'cw::sig::oversized': undefined,
  'cw::cert::untrusted-ca': 'header.x5c',
  'cw::cert::signing-cert-expired': 'header.x5c[0]',
  'cw::cert::signing-cert-not-yet-valid': 'header.x5c[0]',
  'cw::cert::tls-cert-signs': 'header.x5c[0]',
  'cw::cert::ca-cert-signs': 'header.x5c[0]',
  'cw::claims::iss-not-signer-org': '/iss',
  'cw::claims::wrong-audience': '/aud',
  'cw::claims::expired': '/exp',
  'cw::claims::issued-in-future': '/iat',
  'cw::claims::cwv-unsupported': '/cwv',
  'cw::claims::receipt-expired': '/exp',
  'cw::claims::revocation-wrong-audience': '/aud',
  'cw::schema::extra-property': '/priority',
  'cw::schema::wrong-type': '/evidence/1/size',
  'cw::schema::recipients-over-max-items': '/share/recipients',
  'cw::schema::recipient-email-not-plain': '/share/recipients/0/id',
  'cw::schema::revision-2-without-previous': '/share/previous',
  'cw::schema::revision-1-with-previous': '/share/previous',
  'cw::schema::chunk-count-inconsistent': '/evidence/0/chunks',
  'cw::schema::duplicate-evidence-id': '/evidence/3/id',
  'cw::schema::attachment-of-unknown-item': '/evidence/2/attachmentOf',
  'cw::schema::folder-cycle': '/case/folders/0/parent',
  'cw::schema::receipt-rejected-without-problem': '',
  'cw::schema::grant-extra-property': '/grants/0/note',
  'cw::policy::category-not-allowed': '/evidence/0/category',
  'cw::policy::case-field-not-allowed': '/case/fields/summary',
  'cw::policy::attachment-not-allowed': '/evidence/2/attachmentOf',
  'cw::policy::do-not-disclose': '/evidence/3/doNotDisclose',
  'cw::policy::grant-duration-exceeded': '/grants/0/exp',
  'cw::policy::effective-policy-is-the-last': '/evidence/0/category',
  'cw::prov::widened-permission': '/grants/2/policy/permissions/applyUpdates',
  'cw::prov::widened-category': '/grants/2/policy/content/evidenceCategories/2',
  'cw::prov::widened-max-depth': '/grants/1/policy/permissions/shareOnward/maxDepth',
  'cw::prov::widened-exp': '/grants/2/exp',
  'cw::prov::link-parent-digest': '/grants/2/parent',
  'cw::prov::link-issuer': '/grants/2/iss',
  'cw::prov::first-grant-has-parent': '/grants/0/depth',
  'cw::prov::last-grant-audience': '/grants/2/aud',
  'cw::prov::evidence-added-onward': '/grants/2/evidence/0',
  'cw::prov::evidence-not-granted': '/evidence/2/digest',
  'cw::prov::depth-exceeded': '/grants/2/depth',
  'cw::prov::partner-not-allowed': '/grants/2/aud',
  'cw::prov::untrusted-link': '/grants/1',
  'cw::prov::grant-signed-by-other-org': '/grants/1/iss',
  'cw::prov::grant-expired': '/grants/1/exp',
  'cw::prov::grant-typ-manifest': '/grants/1',
  'cw::prov::grant-chain-reordered': '/grants/0/depth',
  'cw::prov::grant-chain-middle-dropped': '/grants/1/depth',
  'cw::prov::signatures-before-policy': '/grants/2',
  'cw::prov::links-before-policy': '/grants/2/iss',
  'cw::prov::grant-chain-too-long': '/grants/9',
  'cw::schema::manifest-0-1-with-shared-by': '/share',
  'cw::prov::widened-add-recipients': '/grants/2/policy/permissions/addRecipients',
}

let failures = 0
for (const list of vectors.values()) {
  for (const vector of list) {
    const outcome = await runVector(vector)
    let problem = mismatch(vector, outcome)
    if (problem === '' && vector.expected !== 'accept') {
      if (!Object.hasOwn(EXPECTED_AT, vector.id)) problem = `${vector.id}: no EXPECTED_AT entry`
      else if ((outcome.at ?? undefined) !== EXPECTED_AT[vector.id]) problem = `${vector.id}: refused at ${outcome.at}, expected at ${EXPECTED_AT[vector.id]}`
    }
    if (problem !== '') {
      failures++
      console.error(`MISMATCH ${problem}`)
    }
  }
}
if (failures > 0) {
  console.error(`${failures} vectors disagree with the library; nothing written`)
  process.exit(1)
}
let count = 0
for (const [name, list] of vectors) {
  const file: VectorFile = { $schema: './vectors.schema.json', cwv: '0.1', name, description: FILES[name]!, vectors: list }
  await writeFile(new URL(`${name}.json`, VECTOR_DIR), JSON.stringify(file, null, 2) + '\n')
  count += list.length
}
console.log(`wrote ${count} vectors in ${vectors.size} files`)
