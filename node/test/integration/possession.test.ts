/**
 * Proof of possession against two real node processes over real mutual TLS (issue 11, findings
 * 1 and 2). metro-pd is a paired partner that learned the digest, size and chunk digests of
 * evidence in a county-da case it was never shown (from a court filing, say) and has one
 * insider at county-da. It offers an item with those digests, naming the insider. Before the
 * possession rule, county-da answered that nothing was needed, completed the external case from
 * its own blobs and let the insider download the sealed evidence. Now it asks metro-pd for every
 * chunk; metro-pd cannot deliver them, so the external case stays incomplete and nothing of it
 * can be downloaded. The answer is also the same for digests county-da does not hold at all.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { chunkStream, digestBytes, type EvidenceItem } from '#protocol'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { LocalApiError, LocalClient } from '../../../client/local_client.ts'
import { signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { CRAFTED, testPolicy } from '../../../testkit/fixtures/policies.ts'
import { attempt, readPki, type ClientTls } from '../support/mtls.ts'
import { chunkRequests, pair, startOrg } from '../support/processes.ts'

const settings = { transfers: { retryBaseMs: 100, retryMaxMs: 1000 } }
const [metro, county] = await Promise.all([
  startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings }),
  startOrg(t, { org: 'county-da', name: 'County DA', settings }),
])
await pair(metro, county)
const [metroPki, countyPki] = await Promise.all([readPki(metro.node.pkiDir), readPki(county.node.pkiDir)])
/** metro-pd's real node certificate, as a client of county-da. */
const asMetro: ClientTls = { ca: countyPki.caPem, ...metroPki.tls }
const countyOffers = `${county.node.federationEndpoint}/federation/v1/offers`

async function chunksOf(size: number, seed: string, chunkSize: number): Promise<string[]> {
  const chunks = chunkStream(generatedContent(size, seed), chunkSize)
  let step = await chunks.next()
  while (step.done !== true) step = await chunks.next()
  return step.value.chunks
}

/** An offer of one item with these digests, signed with metro-pd's real keys, naming `insider`. */
async function offerOf(item: EvidenceItem) {
  const signed = await signedManifest({ org: 'metro-pd', signer: metroPki.signer }, 'county-da', {
    policy: testPolicy(CRAFTED),
    lifetime: 3600,
    fields: { caseNumber: 'X-1', title: 'Nothing to see' },
    items: [item],
    recipients: [{ kind: 'user', id: 'insider' }],
  })
  const { answer, error } = await attempt(countyOffers, asMetro, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: signed.jws })
  if (answer === undefined) throw new Error(`offer not answered: ${error}`)
  return { ...signed, answer }
}

// county-da's own case, never shared with anyone: a local officer uploaded the evidence.
const SIZE = 200_000
const sealedCase = await county.api.createCase({ caseNumber: 'CDA-9', title: 'Sealed' })
const sealed = await county.api.uploadEvidence(
  sealedCase.id,
  { name: 'sealed.mp4', category: 'video', mediaType: 'video/mp4' },
  generatedContent(SIZE, 'sealed'),
)
const sealedChunks = await chunksOf(SIZE, 'sealed', sealed.chunkSize)
// The insider: an ordinary member of county-da.
await county.api.createUser({ id: 'insider', role: 'member' })
const insider = new LocalClient({ baseUrl: county.process.localUrl, token: (await county.api.createToken('insider', 'member')).token })

const item = (digest: string, chunks: string[]): EvidenceItem => ({
  id: `ev-${digest.slice(7, 19)}`,
  name: 'copy.mp4',
  category: 'video',
  mediaType: 'video/mp4',
  size: SIZE,
  digest,
  chunkSize: sealed.chunkSize as EvidenceItem['chunkSize'],
  chunks,
  doNotDisclose: false,
})

// spec: CW-POS-001, CW-POS-003, CW-FED-003, CW-LOC-001
t.test("a partner that knows a local item's digests is asked for every chunk, and the insider gets nothing", async (t) => {
  const attack = await offerOf(item(sealed.digest, sealedChunks))
  t.equal(attack.answer.status, 202)
  // Before the possession rule: `needed` was [] and the external case completed from local blobs.
  t.same(attack.answer.json(), { share: attack.manifest.share.id, revision: 1, status: 'receiving', needed: sealedChunks }, 'every chunk is needed')

  // county-da asks metro-pd's node for each chunk; it has no such share and answers 404.
  await waitFor(
    'county-da pulled every chunk of the offer from metro-pd',
    async (seen) => {
      const counts = chunkRequests(await metro.logs(), attack.manifest.share.id)
      seen(`${counts.size} of ${sealedChunks.length} chunks requested`)
      return sealedChunks.every((digest) => counts.has(digest)) || undefined
    },
    { timeoutMs: 30_000 },
  )
  const external = (await insider.listExternalCases()).find((summary) => summary.shareId === attack.manifest.share.id)
  t.ok(external, 'the insider sees the external case (it names them)')
  t.not(external!.status, 'complete', 'it does not complete from blobs metro-pd never delivered')
  try {
    await insider.downloadExternalEvidence(external!.id, attack.manifest.evidence[0]!.id)
    t.fail('the sealed evidence was downloaded')
  } catch (error) {
    t.ok(error instanceof LocalApiError)
    t.equal((error as LocalApiError).problem?.code, 'CW_ERR_CONFLICT', 'still being received: nothing to download')
  }
})

// spec: CW-POS-002
t.test('the answer is the same whether or not the node holds the chunks', async (t) => {
  const held = await offerOf(item(sealed.digest, sealedChunks))
  const unheldChunks = sealedChunks.map(() => digestBytes(randomBytes(32)))
  const unheld = await offerOf(item(digestBytes(randomBytes(32)), unheldChunks))
  const shape = (answer: Awaited<ReturnType<typeof offerOf>>['answer'], chunks: string[]) => {
    const body = answer.json()
    return { status: answer.status, answer: { ...body, share: 'S', needed: (body['needed'] as string[]).map((digest) => chunks.indexOf(digest)) } }
  }
  t.same(shape(held.answer, sealedChunks), shape(unheld.answer, unheldChunks))
  t.same(shape(held.answer, sealedChunks).answer.needed, [...sealedChunks.keys()], 'both list every chunk, in manifest order')
})
