import { randomBytes, randomUUID, createHash } from 'node:crypto'
import t from 'tap'
import { enforceManifest, verifyManifest, type CaseManifest } from '#protocol'
import { createCase, createFolder } from '../../src/cases/cases.ts'
import { assignPolicy, importPartner, setPartnerEnabled } from '../../src/partners/partners.ts'
import { createPolicy, createPolicyVersion } from '../../src/partners/policies.ts'
import { createShare, getShare, listShares } from '../../src/sending/share_case.ts'
import type { EvidenceRecord } from '../../src/store/metadata_store.ts'
import type { NodeContext } from '../../src/context.ts'
import { createTestContext } from '../support/context.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'
import { addPartner, upload } from '../support/fixtures.ts'
import { policyBody } from '../../../testkit/fixtures/policies.ts'

let now = new Date()
const tc = await createTestContext({ clock: { now: () => now } })
t.teardown(() => tc.close())
const { ctx } = tc
const { partner: da, policy: daPolicy } = await addPartner(ctx, 'county-da')

/** A case with nested folders and every kind of item the selection rules care about. */
async function buildCase(context: NodeContext = ctx) {
  const theCase = await createCase(context, { fields: { caseNumber: '2025-0042', title: 'Burglary', tags: ['garage'], description: 'internal notes' } })
  const scene = await createFolder(context, theCase.id, { name: 'Scene' })
  const photos = await createFolder(context, theCase.id, { name: 'Photos', parentId: scene.id })
  const interviews = await createFolder(context, theCase.id, { name: 'Interviews' })
  await createFolder(context, theCase.id, { name: 'Empty' })
  const video = await upload(context, theCase.id, { name: 'cctv.mp4', folderId: photos.id }, randomBytes(200_000))
  const photo = await upload(context, theCase.id, { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg' })
  const secret = await upload(context, theCase.id, { name: 'informant.mp4', folderId: scene.id, doNotDisclose: true })
  const audio = await upload(context, theCase.id, { name: 'call.wav', category: 'audio', mediaType: 'audio/wav' })
  const transcript = await upload(context, theCase.id, {
    name: 'cctv.txt',
    category: 'document',
    mediaType: 'text/plain',
    folderId: interviews.id,
    attachmentOf: video.id,
  })
  const secretNote = await upload(context, theCase.id, { name: 'informant.txt', category: 'document', mediaType: 'text/plain', attachmentOf: secret.id })
  return { theCase, folders: { scene, photos, interviews }, items: { video, photo, secret, audio, transcript, secretNote } }
}

async function manifestOf(shareId: string): Promise<{ jws: string; manifest: CaseManifest }> {
  const revision = await ctx.store.outboundShares.getRevision(shareId, 1)
  const jws = revision!.manifestJws
  const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as CaseManifest
  return { jws, manifest: payload }
}

const ids = (items: { id: string }[]) => items.map((item) => item.id)

// spec: CW-POL-002, CW-POL-003, CW-MAN-001, CW-MAN-002, CW-PROV-001, CW-PROV-007, CW-POL-004
t.test('a case share carries what the policy allows, and the partner verifies and accepts it', async (t) => {
  const { theCase, folders, items } = await buildCase()
  const { share, revision, manifest } = await createShare(ctx, {
    caseId: theCase.id,
    partnerOrg: 'county-da',
    scope: 'case',
    createdBy: 'alice',
    message: 'For charging',
    recipients: [{ kind: 'agency', id: 'county-da' }],
  })

  t.same(ids(manifest.evidence), [items.video.id, items.photo.id, items.transcript.id], 'DND, its attachment and the audio category are left out')
  t.same(manifest.case.fields, { caseNumber: '2025-0042', title: 'Burglary', tags: ['garage'] }, 'fields filtered to the policy')
  t.same(
    manifest.case.folders,
    [
      { id: folders.scene.id, name: 'Scene' },
      { id: folders.photos.id, name: 'Photos', parent: folders.scene.id },
      { id: folders.interviews.id, name: 'Interviews' },
    ],
    'folders holding shared items and their ancestors, parents first',
  )
  t.match(manifest.share, { id: share.id, revision: 1, scope: 'case', live: true, message: 'For charging' })
  t.equal(manifest.share.previous, undefined)
  t.ok(manifest.evidence.every((item) => item.doNotDisclose === false))

  // The partner's perspective: our CA is its anchor, it is the audience.
  const verified = await verifyManifest(revision.manifestJws, { trustAnchors: [tc.self.anchor], audience: da.org, currentDate: now })
  enforceManifest(verified)
  t.equal(verified.digest, revision.manifestDigest)
  t.same(verified.manifest, manifest)
  t.same(verified.chain.effectivePolicy, daPolicy)
  const grant = verified.chain.grants[0]!
  t.match(grant, { iss: 'county-pd', aud: 'county-da', depth: 0, originator: 'county-pd', share: share.id, revision: 1 })
  t.same(grant.evidence, [...new Set(manifest.evidence.map((item) => item.digest))].sort())
  t.equal(grant.exp, manifest.exp)
  t.equal(manifest.exp - manifest.iat, 86_400, 'min(configured 30 days, policy 1 day)')
  t.equal(share.expiresAt, manifest.exp)

  t.match(share, { status: 'processing', revision: 1, scope: 'case', partnerOrg: 'county-da', createdBy: 'alice' })
  t.same(share.policy, daPolicy)
  t.same(tc.jobs.at(-1), { kind: 'offer', ref: share.id, payload: { revision: 1 } })
  const nowSeconds = Math.floor(now.getTime() / 1000)
  t.equal(await ctx.store.outboundShares.isChunkServable('county-da', share.id, items.video.chunks[0]!, nowSeconds), true)
  t.equal(await ctx.store.outboundShares.isChunkServable('county-da', share.id, items.secret.chunks[0]!, nowSeconds), false, 'DND chunks are not servable')
  t.same(await ctx.store.outboundShares.get(share.id), share)
})

// spec: CW-POL-002
t.test('a folder share takes the folder and its subfolders, without DND', async (t) => {
  const { theCase, folders, items } = await buildCase()
  const { manifest, share } = await createShare(ctx, {
    caseId: theCase.id,
    partnerOrg: 'county-da',
    scope: 'folders',
    folderIds: [folders.scene.id],
    createdBy: 'alice',
  })
  t.same(ids(manifest.evidence), [items.video.id])
  t.same(
    manifest.case.folders.map((f) => f.name),
    ['Scene', 'Photos'],
  )
  t.same(share.folderIds, [folders.scene.id])
  t.equal(manifest.share.live, true)
  await t.rejects(createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'folders', folderIds: ['nope'], createdBy: 'alice' }), {
    code: 'CW_ERR_BAD_REQUEST',
    at: '/folderIds/0',
  })
  await t.rejects(createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'folders', createdBy: 'alice' }), {
    code: 'CW_ERR_BAD_REQUEST',
    at: '/folderIds',
  })
})

// spec: CW-POL-002, CW-POL-003
t.test('explicitly selected evidence the policy excludes is refused, naming the item', async (t) => {
  const { theCase, items } = await buildCase()
  const share = (evidenceIds: string[]) => createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds, createdBy: 'alice' })
  await t.rejects(share([items.photo.id, items.secret.id]), { code: 'CW_ERR_DO_NOT_DISCLOSE', at: '/evidenceIds/1', message: new RegExp(items.secret.id) })
  await t.rejects(share([items.audio.id]), { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidenceIds/0' })
  await t.rejects(share([items.transcript.id]), { code: 'CW_ERR_BAD_REQUEST', at: '/evidenceIds/0' }, 'an attachment needs its item')
  const other = await buildCase()
  await t.rejects(share([other.items.photo.id]), { code: 'CW_ERR_BAD_REQUEST', at: '/evidenceIds/0' }, 'evidence of another case')
  const before = (await ctx.store.outboundShares.list(theCase.id)).length
  t.equal(before, 0, 'nothing stored by refused shares')
  const { manifest } = await share([items.transcript.id, items.video.id])
  t.same(ids(manifest.evidence), [items.transcript.id, items.video.id])
  t.equal(manifest.share.live, false, 'a subset share is not live')
  t.same(
    manifest.case.folders.map((f) => f.name),
    ['Interviews', 'Scene', 'Photos'],
  )
})

// spec: CW-POL-002
t.test('attachments are shared only when the policy allows them', async (t) => {
  const { policy } = await addPartner(
    ctx,
    'state-lab',
    policyBody({ content: { caseFields: ['title'], evidenceCategories: ['video', 'document'], attachments: false } }),
  )
  const { theCase, items } = await buildCase()
  const { manifest, revision } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'state-lab', scope: 'case', createdBy: 'bob' })
  t.same(ids(manifest.evidence), [items.video.id], 'transcript and photo left out')
  t.same(manifest.case.fields, { title: 'Burglary' })
  t.same(
    manifest.case.folders.map((f) => f.name),
    ['Scene', 'Photos'],
  )
  const lab = { anchor: tc.self.anchor }
  enforceManifest(await verifyManifest(revision.manifestJws, { trustAnchors: [lab.anchor], audience: 'state-lab', currentDate: now }))
  t.equal(policy.content.attachments, false)
  await t.rejects(
    createShare(ctx, { caseId: theCase.id, partnerOrg: 'state-lab', scope: 'evidence', evidenceIds: [items.video.id, items.transcript.id], createdBy: 'bob' }),
    { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidenceIds/1' },
  )
})

// spec: CW-LOC-031
t.test('a case share records what the policy held back from it and why', async (t) => {
  const { theCase, items } = await buildCase()
  const { share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  t.same(await ctx.store.outboundShares.listHeldBack(share.id, 1), [
    { evidenceId: items.secret.id, name: 'informant.mp4', reason: 'do-not-disclose' },
    { evidenceId: items.audio.id, name: 'call.wav', reason: 'category-excluded' },
    { evidenceId: items.secretNote.id, name: 'informant.txt', reason: 'parent-not-shared' },
  ])
  const withoutAttachments = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'state-lab', scope: 'case', createdBy: 'alice' })
  t.same(
    (await ctx.store.outboundShares.listHeldBack(withoutAttachments.share.id, 1)).map((item) => [item.name, item.reason]),
    [
      ['door.jpg', 'category-excluded'],
      ['informant.mp4', 'do-not-disclose'],
      ['call.wav', 'category-excluded'],
      ['cctv.txt', 'attachments-excluded'],
      ['informant.txt', 'attachments-excluded'],
    ],
    'a policy without attachments holds them back',
  )
  const explicit = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [items.video.id], createdBy: 'alice' })
  t.same(await ctx.store.outboundShares.listHeldBack(explicit.share.id, 1), [], 'an evidence share names its items: nothing is held back')
})

// spec: CW-POL-007
t.test('a share made under v1 keeps v1 after v2 is created and assigned', async (t) => {
  const { policy: v1 } = await addPartner(ctx, 'city-court')
  const { theCase } = await buildCase()
  const first = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'city-court', scope: 'case', createdBy: 'alice' })
  const v2 = await createPolicyVersion(
    ctx,
    v1.id,
    policyBody({ name: 'Court v2', maxDurationSeconds: 3600, content: { caseFields: ['title'], evidenceCategories: ['photo'], attachments: false } }),
  )
  await assignPolicy(ctx, 'city-court', v1.id)
  t.same((await getShare(ctx, first.share.id)).policy, v1, 'the stored share keeps v1')
  const { manifest } = await manifestOf(first.share.id)
  const grantPayload = JSON.parse(Buffer.from(manifest.grants[0]!.split('.')[1]!, 'base64url').toString('utf8'))
  t.equal(grantPayload.policy.version, 1, 'its signed grant names v1')
  const second = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'city-court', scope: 'case', createdBy: 'alice' })
  t.same(second.share.policy, v2.policy, 'a new share is made under v2')
  t.equal(second.manifest.exp - second.manifest.iat, 3600)
  t.same(Object.keys(second.manifest.case.fields), ['title'])
})

t.test('the partner must exist, be enabled and have a policy', async (t) => {
  const { theCase } = await buildCase()
  const share = (partnerOrg: string) => createShare(ctx, { caseId: theCase.id, partnerOrg, scope: 'case', createdBy: 'alice' })
  await t.rejects(share('unknown-org'), { code: 'CW_ERR_CONFLICT' })
  const sheriff = await createTestOrg('sheriff')
  await importPartner(ctx, sheriff.bundle, sheriff.bundle.caFingerprint)
  await t.rejects(share('sheriff'), { code: 'CW_ERR_CONFLICT', message: /no sharing policy/ })
  await assignPolicy(ctx, 'sheriff', (await createPolicy(ctx, policyBody())).id)
  await setPartnerEnabled(ctx, 'sheriff', false)
  await t.rejects(share('sheriff'), { code: 'CW_ERR_CONFLICT', message: /disabled/ })
  await t.rejects(createShare(ctx, { caseId: 'missing', partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' }), { code: 'CW_ERR_NOT_FOUND' })
  await t.rejects(
    createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice', recipients: [{ kind: 'robot' as never, id: 'x' }] }),
    { code: 'CW_ERR_BAD_REQUEST', at: '/recipients/0' },
  )
})

t.test('an imported case is not shared under a new origin grant', async (t) => {
  const id = randomUUID()
  await ctx.store.cases.insert({ id, fields: {}, createdAt: 1, updatedAt: 1, importedFrom: 'inbound-1' })
  await t.rejects(createShare(ctx, { caseId: id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' }), { code: 'CW_ERR_CONFLICT' })
})

t.test('listShares and getShare report status; an expired share reads as expired', async (t) => {
  const { theCase } = await buildCase()
  const { share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  t.same(
    (await listShares(ctx, theCase.id)).map((s) => [s.id, s.status]),
    [[share.id, 'processing']],
  )
  await ctx.store.outboundShares.updateStatus(share.id, 'rejected', 'CW_ERR_POLICY_VIOLATION', 'category', share.createdAt + 1)
  t.match(await getShare(ctx, share.id), { status: 'rejected', statusCode: 'CW_ERR_POLICY_VIOLATION', statusDetail: 'category' })
  const second = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  const saved = now
  now = new Date((second.share.expiresAt + 1) * 1000)
  t.teardown(() => {
    now = saved
  })
  t.equal((await getShare(ctx, second.share.id)).status, 'expired')
  await t.rejects(getShare(ctx, 'missing'), { code: 'CW_ERR_NOT_FOUND' })
  await t.rejects(listShares(ctx, 'missing'), { code: 'CW_ERR_NOT_FOUND' })
})

t.test('the configured share duration applies when shorter than the policy allows', async (t) => {
  const short = await createTestContext({ org: 'town-pd', transfers: { shareDurationSeconds: 600 } })
  t.teardown(() => short.close())
  await addPartner(short.ctx, 'county-da')
  const { theCase } = await buildCase(short.ctx)
  const { manifest } = await createShare(short.ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  t.equal(manifest.exp - manifest.iat, 600)
})

// Its speed is measured by `npm run bench` (many small items), never asserted here.
t.test('a 10,000-item case share is created, signed and stored, DND items left out', async (t) => {
  const theCase = await createCase(ctx, { fields: { title: 'Large' } })
  const folder = await createFolder(ctx, theCase.id, { name: 'Bulk' })
  const records: EvidenceRecord[] = []
  for (let index = 0; index < 10_000; index++) {
    const digest = 'sha256:' + createHash('sha256').update(`item ${index}`).digest('hex')
    records.push({
      id: `item-${index}`,
      caseId: theCase.id,
      folderId: index % 2 === 0 ? folder.id : null,
      name: `photo-${index}.jpg`,
      category: 'photo',
      mediaType: 'image/jpeg',
      size: 1000,
      digest,
      chunkSize: 65536,
      chunks: [digest],
      doNotDisclose: index % 100 === 0,
      attachmentOf: null,
      createdAt: 1,
    })
  }
  await ctx.store.transaction(async (store) => {
    for (const record of records) await store.cases.insertEvidence(record)
  })
  const { manifest, share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  t.equal(manifest.evidence.length, 9_900, 'DND items left out')
  t.ok(await ctx.store.outboundShares.isChunkServable('county-da', share.id, records[1]!.digest, Math.floor(now.getTime() / 1000)))
  t.ok((await ctx.store.outboundShares.getRevision(share.id, 1)) !== undefined)
})
