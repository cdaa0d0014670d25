/**
 * What two real node processes refuse over real mutual TLS on 127.0.0.1: connections without a
 * valid partner certificate, certificates speaking for another organization, manifests that
 * are tampered with or wider than their policy, chunk requests for someone else's share, and
 * what the sender's policy or the share's expiry forbids. Every refusal is checked by its code,
 * and for offers, by the absence of any external case afterwards.
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { createOrgCa, issueNodeCertificate } from '#certs'
import { buildPartnerBundle, certificateFingerprint, chunkStream } from '#protocol'
import { generatedContent } from '../../../testkit/content.ts'
import { LocalApiError, type LocalClient, type Share } from '../../../client/local_client.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { evidence, signedManifest, tamperPayload, type ManifestOptions } from '../../../testkit/fixtures/manifests.ts'
import { pemOf } from '../../../testkit/fixtures/orgs.ts'
import { CRAFTED, testPolicy } from '../../../testkit/fixtures/policies.ts'
import { attempt, readPki, type ClientTls } from '../support/mtls.ts'
import { pair, startOrg } from '../support/processes.ts'

const settings = { transfers: { retryBaseMs: 100, retryMaxMs: 1000 } }
const [metro, county] = await Promise.all([
  startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings }),
  startOrg(t, { org: 'county-da', name: 'County DA', settings }),
])
await pair(metro, county)
const [metroPki, countyPki] = await Promise.all([readPki(metro.node.pkiDir), readPki(county.node.pkiDir)])

const SHARE_SECONDS = 60
/** A manifest metro-pd's keys sign, as metro-pd's node never would. */
function crafted(options: ManifestOptions = {}) {
  return signedManifest({ org: 'metro-pd', signer: metroPki.signer }, 'county-da', {
    policy: testPolicy(CRAFTED),
    lifetime: 3600,
    fields: { caseNumber: 'X-1', title: 'Crafted case' },
    ...options,
  })
}

const permissions = { view: true as const, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } }
const content = { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video', 'document'], attachments: false }
const review = await metro.api.createPolicy({ id: 'review', name: 'Review (60 s)', permissions, content, maxDurationSeconds: SHARE_SECONDS })
await metro.api.assignPolicy('county-da', review.id)

const theCase = await metro.api.createCase({ caseNumber: 'MPD-7', title: 'Robbery' })
const ITEM_SIZE = 200_000
const item = await metro.api.uploadEvidence(theCase.id, { name: 'clip.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(ITEM_SIZE, 'clip'))
const chunkDigests = await chunksOf(ITEM_SIZE, 'clip', item.chunkSize)
const share = await deliveredShare(metro.api, await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' }))

const countyHealthz = `${county.node.federationEndpoint}/federation/v1/healthz`
const countyOffers = `${county.node.federationEndpoint}/federation/v1/offers`
const chunkUrl = (shareId: string, digest: string) =>
  `${metro.node.federationEndpoint}/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/${encodeURIComponent(digest)}`
/** metro-pd's real node certificate, as a client of county-da. */
const asMetro: ClientTls = { ca: countyPki.caPem, ...metroPki.tls }
/** county-da's real node certificate, as a client of metro-pd. */
const asCounty: ClientTls = { ca: metroPki.caPem, ...countyPki.tls }

async function chunksOf(size: number, seed: string, chunkSize: number): Promise<string[]> {
  const chunks = chunkStream(generatedContent(size, seed), chunkSize)
  let step = await chunks.next()
  while (step.done !== true) step = await chunks.next()
  return step.value.chunks
}

async function deliveredShare(api: LocalClient, created: Share): Promise<Share> {
  return waitFor(
    `share ${created.id} delivered`,
    async (seen) => {
      const current = await api.getShare(created.id)
      seen(`${current.status} ${current.statusCode ?? ''}`)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 30_000 },
  )
}

async function refused(call: Promise<unknown>): Promise<LocalApiError> {
  try {
    await call
  } catch (error) {
    if (error instanceof LocalApiError) return error
    throw error
  }
  throw new Error('expected a refusal')
}

async function externalShareIds(): Promise<string[]> {
  return (await county.api.listExternalCases()).map((summary) => summary.shareId)
}

async function offerToCounty(jws: string) {
  return attempt(countyOffers, asMetro, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws })
}

// spec: CW-TLS-002, CW-TLS-003, CW-FED-010
t.test("a partner's real node certificate reaches healthz (the control for the refusals below)", async (t) => {
  const { answer } = await attempt(countyHealthz, asMetro)
  t.equal(answer?.status, 200)
  t.same(answer?.json(), { status: 'ok', org: 'county-da' })
})

// spec: CW-TLS-002, CW-TLS-005
t.test('a client without a certificate is closed before any HTTP', async (t) => {
  const { answer, error } = await attempt(countyHealthz, { ca: countyPki.caPem })
  t.equal(answer, undefined, 'no HTTP answer')
  t.match(error, /CERTIFICATE_REQUIRED|certificate required|ECONNRESET|EPIPE/)
})

// spec: CW-TLS-002, CW-TRUST-004, CW-TLS-005
t.test('a client certificate from an unknown CA is closed before any HTTP', async (t) => {
  const ca = await createOrgCa({ org: 'mallory', name: 'Mallory' })
  const cert = await issueNodeCertificate(ca, { org: 'mallory', name: 'Mallory', hosts: ['127.0.0.1'] })
  const { answer, error } = await attempt(countyHealthz, { ca: countyPki.caPem, ...(await pemOf(cert)) })
  t.equal(answer, undefined, 'no HTTP answer')
  t.match(error, /UNKNOWN_CA|unknown ca|ECONNRESET|EPIPE/)
})

// spec: CW-TLS-002, CW-TLS-003, CW-ID-006, CW-TRUST-004, CW-TLS-005
t.test("a certificate from county-da's own CA naming metro-pd does not speak for metro-pd", async (t) => {
  // county-da's own CA is not pinned on county-da's listener: the gate closes the connection.
  const forged = await issueNodeCertificate(countyPki.ca, { org: 'metro-pd', name: 'Metro PD', hosts: ['127.0.0.1'] })
  const { answer, error } = await attempt(countyHealthz, { ca: countyPki.caPem, ...(await pemOf(forged)) })
  t.equal(answer, undefined, 'no HTTP answer')
  t.match(error, /ECONNRESET|EPIPE|socket hang up/)
})

// spec: CW-TLS-003, CW-TRUST-005, CW-ID-006, CW-TLS-006
t.test("a certificate from metro-pd's CA naming county-da is refused: a partner CA vouches only for its own org", async (t) => {
  const forged = await issueNodeCertificate(metroPki.ca, { org: 'county-da', name: 'County DA', hosts: ['127.0.0.1'] })
  const { answer, error } = await attempt(countyHealthz, { ca: countyPki.caPem, ...(await pemOf(forged)) })
  t.equal(error, undefined, 'the handshake passes: the chain leads to a pinned CA')
  t.equal(answer?.status, 403)
  t.equal(answer?.json()['code'], 'CW_ERR_PARTNER_UNKNOWN')
})

// spec: CW-FED-001, CW-SIG-008, CW-SIG-013
t.test('a tampered manifest from the real partner is refused and leaves no external case', async (t) => {
  const before = await externalShareIds()
  const { jws, manifest } = await crafted()
  const tampered = tamperPayload(jws, (payload) => {
    ;(payload['case'] as { fields: Record<string, string> }).fields['title'] = 'Something else'
  })
  const { answer } = await offerToCounty(tampered)
  t.equal(answer?.status, 422)
  t.equal(answer?.json()['code'], 'CW_ERR_SIGNATURE_INVALID')
  const after = await externalShareIds()
  t.same(after, before, 'no external case was created')
  t.notOk(after.includes(manifest.share.id))
})

// spec: CW-FED-001, CW-POL-003
t.test('a manifest carrying a category its policy excludes is refused with CW_ERR_POLICY_VIOLATION', async (t) => {
  const before = await externalShareIds()
  const { item: photo } = await evidence('photo-1', Buffer.from('not really a photo'), { category: 'photo' })
  const { jws } = await crafted({ items: [photo] })
  const { answer } = await offerToCounty(jws)
  t.equal(answer?.status, 403)
  t.equal(answer?.json()['code'], 'CW_ERR_POLICY_VIOLATION')
  t.same(await externalShareIds(), before, 'no external case was created')
})

// spec: CW-FED-001, CW-POL-003
t.test('a manifest carrying a do-not-disclose item is refused with CW_ERR_DO_NOT_DISCLOSE', async (t) => {
  const before = await externalShareIds()
  const { item: secret } = await evidence('secret-1', Buffer.from('informant'), { category: 'document', doNotDisclose: true })
  const { jws } = await crafted({ items: [secret] })
  const { answer } = await offerToCounty(jws)
  t.equal(answer?.status, 403)
  t.equal(answer?.json()['code'], 'CW_ERR_DO_NOT_DISCLOSE')
  t.same(await externalShareIds(), before, 'no external case was created')
})

// spec: CW-FED-001, CW-POL-004
t.test('an origin grant lasting longer than its policy allows is refused with CW_ERR_DURATION_EXCEEDED', async (t) => {
  const before = await externalShareIds()
  const { jws } = await crafted({
    policy: testPolicy(CRAFTED, { maxDurationSeconds: 600 }),
    lifetime: 600,
    grantLifetime: 1200,
  })
  const { answer } = await offerToCounty(jws)
  t.equal(answer?.status, 403)
  t.equal(answer?.json()['code'], 'CW_ERR_DURATION_EXCEEDED')
  t.same(await externalShareIds(), before, 'no external case was created')
})

// spec: CW-FED-005, CW-TLS-003
t.test('a chunk of a share addressed to another partner is not found, as is a digest the share does not list', async (t) => {
  // A third organization, pinned by metro-pd as a partner of its own.
  const labCa = await createOrgCa({ org: 'state-lab', name: 'State Lab' })
  const labPem = labCa.certificate.toString('pem')
  await metro.api.importPartner(
    buildPartnerBundle({ org: 'state-lab', name: 'State Lab', endpoint: 'https://127.0.0.1:9', caCertificatePem: labPem }),
    certificateFingerprint(labPem),
  )
  const labCert = await issueNodeCertificate(labCa, { org: 'state-lab', name: 'State Lab', hosts: ['127.0.0.1'] })
  const asLab: ClientTls = { ca: metroPki.caPem, ...(await pemOf(labCert)) }
  const digest = chunkDigests[0]!

  const own = await attempt(chunkUrl(share.id, digest), asCounty)
  t.equal(own.answer?.status, 200, 'the addressee gets the chunk')
  t.equal(
    `sha256:${createHash('sha256')
      .update(own.answer?.body ?? Buffer.alloc(0))
      .digest('hex')}`,
    digest,
  )

  const other = await attempt(chunkUrl(share.id, digest), asLab)
  t.equal(other.answer?.status, 404, 'another partner does not')
  t.equal(other.answer?.json()['code'], 'CW_ERR_NOT_FOUND')

  const unlisted = await attempt(chunkUrl(share.id, `sha256:${'0'.repeat(64)}`), asCounty)
  t.equal(unlisted.answer?.status, 404)
  t.equal(unlisted.answer?.json()['code'], 'CW_ERR_NOT_FOUND')
})

// spec: CW-POL-006, CW-POL-007
t.test("the receiver refuses a download the sender's policy does not permit", async (t) => {
  const viewOnly = await metro.api.createPolicy({
    id: 'view-only',
    name: 'View only',
    permissions: { ...permissions, download: false },
    content,
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', viewOnly.id)
  const second = await deliveredShare(
    metro.api,
    await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [item.id] }),
  )
  const summary = (await county.api.listExternalCases()).find((candidate) => candidate.shareId === second.id)!
  const external = await county.api.getExternalCase(summary.id)
  t.equal(external.policy.permissions.download, false)
  const refusal = await refused(county.api.downloadExternalEvidence(external.id, external.evidence[0]!.id))
  t.equal(refusal.status, 403)
  t.equal(refusal.code, 'CW_ERR_ACTION_NOT_ALLOWED')

  // The first share keeps the policy it was made under.
  const first = (await county.api.listExternalCases()).find((candidate) => candidate.shareId === share.id)!
  const firstCase = await county.api.getExternalCase(first.id)
  const download = await county.api.downloadExternalEvidence(first.id, firstCase.evidence[0]!.id)
  t.equal(download.digest, item.digest)
})

// spec: CW-FED-005, CW-POL-006
t.test('once the share has expired, the sender answers 410 for its chunks and the receiver closes the external case', async (t) => {
  const later = (SHARE_SECONDS + 60) * 1000
  const digest = chunkDigests[0]!
  t.equal((await attempt(chunkUrl(share.id, digest), asCounty)).answer?.status, 200, 'served while the share lasts')

  // Both nodes again, each with its clock past the share's expiry.
  t.equal((await metro.stop()).code, 0, 'metro-pd stops cleanly')
  t.equal((await county.stop()).code, 0, 'county-da stops cleanly')
  await Promise.all([metro.start({ clockOffsetMs: later }), county.start({ clockOffsetMs: later })])

  const { answer } = await attempt(chunkUrl(share.id, digest), asCounty)
  t.equal(answer?.status, 410)
  t.equal(answer?.json()['code'], 'CW_ERR_SHARE_EXPIRED')
  t.equal((await metro.api.getShare(share.id)).status, 'expired', "the sender's share reads expired")

  const summary = (await county.api.listExternalCases()).find((candidate) => candidate.shareId === share.id)!
  t.equal(summary.status, 'expired')
  const closed = await refused(county.api.getExternalCase(summary.id))
  t.equal(closed.status, 410)
  t.equal(closed.code, 'CW_ERR_SHARE_EXPIRED')
  const download = await refused(county.api.downloadExternalEvidence(summary.id, item.id))
  t.equal(download.code, 'CW_ERR_SHARE_EXPIRED')
})
