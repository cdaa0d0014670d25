/**
 * The conformance control endpoints EP-6..EP-8 (SPEC.md §21) over real mutual TLS between two
 * fixture nodes: alpha is the node under test, bravo plays the harness (it calls alpha's
 * control endpoints as itself and receives what alpha sends on its own federation listener).
 */
import { Writable } from 'node:stream'
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import {
  assertControlRevisionAnswer,
  assertControlShareAnswer,
  assertHealthAnswer,
  assertProblemDocument,
  assertRevocationAnswer,
  FEDERATION_PATHS,
  type SharingPolicy,
} from '#protocol'
import { createFederationServer } from '../../src/federation/server.ts'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { FEDERATION, testPolicy } from '../../../testkit/fixtures/policies.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { startTestNode, type TestNode } from '../support/federation_node.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

/** A policy that leaves out attachments and the `audio` category; shares `title` and `summary`. */
const narrowPolicy = (): SharingPolicy => testPolicy(FEDERATION, { content: { evidenceCategories: ['photo', 'document'], attachments: false } })

interface Pair {
  sender: TestNode
  receiver: TestNode
}

/** alpha (control on unless told) and bravo, partners of each other; alpha assigns bravo `policy` unless it is null. */
async function pair(t: Test, options: { control?: boolean; policy?: SharingPolicy | null } = {}): Promise<Pair> {
  const [sender, receiver] = await Promise.all([
    startTestNode(t, alpha, {
      runJobs: true,
      ...(options.control === undefined ? { conformanceControl: true } : options.control ? { conformanceControl: true } : {}),
    }),
    startTestNode(t, bravo, { runJobs: true }),
  ])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const policy = options.policy === undefined ? narrowPolicy() : options.policy
  if (policy !== null) await assignPolicy(sender.ctx, 'bravo', (await createPolicy(sender.ctx, policy)).id)
  return { sender, receiver }
}

/** POST `body` to `node` as `as` (its TLS identity), JSON unless told otherwise. */
function post(node: TestNode, as: TestOrg, path: string, body?: unknown, contentType = 'application/json'): Promise<RawResponse> {
  const text = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  return rawRequest(
    node.url + path,
    { ca: node.org.caPem, cert: as.identity.tls.cert, key: as.identity.tls.key },
    { method: 'POST', headers: text === undefined ? {} : { 'content-type': contentType }, ...(text === undefined ? {} : { body: text }) },
  )
}

/** A refusal: its status, and a problem document with `code` (checked against the protocol schema). */
function refused(t: Test, response: RawResponse, status: number, code: string, at?: string): Record<string, unknown> {
  t.equal(response.status, status, `answered ${status}`)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  const problem = response.json()
  t.doesNotThrow(() => assertProblemDocument(problem), 'a problem document (CW-ERR-001)')
  t.equal(problem['code'], code)
  if (at !== undefined) t.equal(problem['at'], at, `at ${at}`)
  return problem
}

function inboundOf(receiver: TestNode, shareId: string, check: (status: string) => boolean, what: string) {
  return waitFor(
    what,
    async () => {
      const inbound = await receiver.store.inboundShares.find('alpha', shareId)
      return inbound !== undefined && check(inbound.status) ? inbound : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

// spec: CW-CTL-001
t.test('off by default: the control paths are unknown (404 CW_ERR_NOT_FOUND), the rest of the API answers as before', async (t) => {
  const { sender } = await pair(t, { control: false })
  t.equal(sender.ctx.config.conformance.control, false, 'the default configuration')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlShares, { items: [{ size: 1, category: 'photo' }] }), 404, 'CW_ERR_NOT_FOUND')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlRevoke('any'), {}), 404, 'CW_ERR_NOT_FOUND')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlEvidence('any'), { items: [{ size: 1, category: 'photo' }] }), 404, 'CW_ERR_NOT_FOUND')
  t.same(await sender.store.cases.list(), [], 'nothing was made')
  // The answers are serialized with the protocol's schemas.
  const health = await rawRequest(sender.url + FEDERATION_PATHS.healthz, { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key })
  t.equal(health.status, 200)
  t.doesNotThrow(() => assertHealthAnswer(health.json()))
  t.same(health.json(), { status: 'ok', org: 'alpha' })
})

// spec: CW-CTL-001
t.test('enabled, the node says so once at start-up, as a warning', async (t) => {
  const lines: Array<{ level: number; conformanceControl?: unknown }> = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  const on = await startTestNode(t, alpha, { conformanceControl: true })
  const off = await startTestNode(t, bravo)
  for (const node of [on, off]) {
    const server = await createFederationServer(node.ctx, { logger: pino({ level: 'info' }, sink) })
    await server.app.ready()
    await server.app.close()
  }
  const warnings = lines.filter((line) => line.conformanceControl === true)
  t.equal(warnings.length, 1, 'one line, for the node that enabled them')
  t.equal(warnings[0]?.level, 40, 'at level warn')
  t.equal(lines.filter((line) => line.level >= 40).length, 1, 'and no other warning')
})

// spec: CW-CTL-002, CW-CTL-003, CW-POL-002, CW-POL-004, CW-REVN-001, CW-REV-004, CW-LOC-001
t.test('EP-6 shares a new case with the caller under its policy; EP-8 makes the next revision; EP-7 revokes it at the caller', async (t) => {
  const { sender, receiver } = await pair(t)
  const created = await post(sender, bravo, FEDERATION_PATHS.controlShares, {
    items: [
      { size: 70_000, category: 'photo' },
      { size: 100, category: 'photo', doNotDisclose: true },
      { size: 50, category: 'audio' },
      { size: 10, category: 'photo', attachmentOf: 0 },
      { size: 0, category: 'document' },
    ],
    fields: { title: 'Control case', secret: 'not in the policy' },
    expiresInSeconds: 3600,
  })
  t.equal(created.status, 201)
  const answer = created.json()
  t.doesNotThrow(() => assertControlShareAnswer(answer))
  const shareId = answer['share'] as string

  // The sender made the case with every item, and a share like a user's, on the record as the partner's doing.
  const items = await sender.store.cases.listEvidence(answer['case'] as string)
  t.same(
    items.map((item) => [item.name, item.size, item.category, item.doNotDisclose, item.mediaType]),
    [
      ['item-0.bin', 70_000, 'photo', false, 'application/octet-stream'],
      ['item-1.bin', 100, 'photo', true, 'application/octet-stream'],
      ['item-2.bin', 50, 'audio', false, 'application/octet-stream'],
      ['item-3.bin', 10, 'photo', false, 'application/octet-stream'],
      ['item-4.bin', 0, 'document', false, 'application/octet-stream'],
    ],
  )
  t.equal(items[3]!.attachmentOf, items[0]!.id, 'attachmentOf names the earlier item')
  const outbound = (await sender.store.outboundShares.get(shareId))!
  t.match(outbound, { partnerOrg: 'bravo', scope: 'case', recipients: [{ kind: 'agency', id: 'bravo' }], createdBy: 'conformance:bravo' })
  t.equal(outbound.expiresAt - outbound.createdAt, 3600, 'expiresInSeconds was honoured')
  t.equal(await sender.store.cases.getAccess(answer['case'] as string), undefined, 'the case has no owner: administrators only')

  // The receiver gets only what the policy allows: no do-not-disclose item, no audio, no attachment, no field outside it.
  const inbound = await inboundOf(receiver, shareId, (status) => status === 'complete', 'the receiver to complete revision 1')
  t.equal(inbound.manifest.case.id, answer['case'])
  t.same(inbound.manifest.case.fields, { title: 'Control case' })
  t.same(
    inbound.manifest.evidence.map((item) => [item.name, item.size]),
    [
      ['item-0.bin', 70_000],
      ['item-4.bin', 0],
    ],
  )
  t.equal(inbound.manifest.exp - inbound.manifest.iat, 3600)
  await waitFor('delivered', async () => ((await sender.store.outboundShares.get(shareId))?.status === 'delivered' ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 25,
  })

  // EP-8: two items, one revision; the do-not-disclose one is left out of it.
  const added = await post(sender, bravo, FEDERATION_PATHS.controlEvidence(shareId), {
    items: [
      { size: 2000, category: 'photo' },
      { size: 5, category: 'photo', doNotDisclose: true },
    ],
  })
  t.equal(added.status, 200)
  t.doesNotThrow(() => assertControlRevisionAnswer(added.json()))
  t.same(added.json(), { share: shareId, revision: 2 })
  t.equal((await sender.store.outboundShares.get(shareId))?.revision, 2, 'one revision for both items')
  const second = await waitFor(
    'revision 2 verified at the receiver',
    async () => {
      const row = await receiver.store.inboundShares.getRevision(inbound.id, 2)
      return row?.transfer === 'verified' ? row : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
  t.same(
    second.manifest.evidence.map((item) => [item.name, item.size]),
    [
      ['item-0.bin', 70_000],
      ['item-4.bin', 0],
      ['item-0.bin', 2000],
    ],
  )
  t.equal(second.manifest.share.previous, inbound.manifestDigest, 'revision 2 follows revision 1')
  // Items the policy leaves out change nothing the share carries: no revision.
  const nothing = await post(sender, bravo, FEDERATION_PATHS.controlEvidence(shareId), { items: [{ size: 5, category: 'audio' }] })
  t.same(nothing.json(), { share: shareId, revision: 2 })

  // EP-7: revoked at once on the sender, delivered to the receiver on EP-5.
  const revoked = await post(sender, bravo, FEDERATION_PATHS.controlRevoke(shareId))
  t.equal(revoked.status, 200)
  t.doesNotThrow(() => assertRevocationAnswer(revoked.json()))
  t.same(revoked.json(), { share: shareId, status: 'revoked' })
  t.equal((await sender.store.outboundShares.get(shareId))?.status, 'revoked')
  await inboundOf(receiver, shareId, (status) => status === 'revoked', 'the receiver to revoke')
  t.same((await post(sender, bravo, FEDERATION_PATHS.controlRevoke(shareId), {})).json(), { share: shareId, status: 'revoked' }, 'again: same answer')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlEvidence(shareId), { items: [{ size: 1, category: 'photo' }] }), 409, 'CW_ERR_CONFLICT')
})

// spec: CW-CTL-002
t.test('EP-7 and EP-8 act only on shares EP-6 made for the caller: anything else is 404, like an unknown id', async (t) => {
  const { sender } = await pair(t)
  await sender.addPartner(charlie)
  const made = (await post(sender, bravo, FEDERATION_PATHS.controlShares, { items: [{ size: 10, category: 'photo' }] })).json()
  const shareId = made['share'] as string
  const body = { items: [{ size: 1, category: 'photo' }] }

  // charlie, an enabled partner, acting on bravo's control share.
  const unknown = refused(t, await post(sender, charlie, FEDERATION_PATHS.controlRevoke('no-such-share'), {}), 404, 'CW_ERR_NOT_FOUND')
  const notCharlies = refused(t, await post(sender, charlie, FEDERATION_PATHS.controlRevoke(shareId), {}), 404, 'CW_ERR_NOT_FOUND')
  t.equal(notCharlies['detail'], (unknown['detail'] as string).replace('no-such-share', shareId), 'the same answer as an unknown id')
  refused(t, await post(sender, charlie, FEDERATION_PATHS.controlEvidence(shareId), body), 404, 'CW_ERR_NOT_FOUND')

  // A share to bravo that a user made, not EP-6.
  const theCase = await createCase(sender.ctx, { fields: { title: 'Made by a user' } })
  await uploadEvidence(sender.ctx, theCase.id, { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg' }, Readable.from([randomBytes(100)]))
  const { share: userShare } = await createShare(sender.ctx, { caseId: theCase.id, partnerOrg: 'bravo', scope: 'case', createdBy: 'alice' })
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlRevoke(userShare.id), {}), 404, 'CW_ERR_NOT_FOUND')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlEvidence(userShare.id), body), 404, 'CW_ERR_NOT_FOUND')

  t.not((await sender.store.outboundShares.get(shareId))?.status, 'revoked', "bravo's control share is untouched")
  t.equal((await sender.store.outboundShares.get(shareId))?.revision, 1)
  t.not((await sender.store.outboundShares.get(userShare.id))?.status, 'revoked', "the user's share is untouched")
  t.equal((await sender.store.cases.listEvidence(theCase.id)).length, 1)
})

// spec: CW-CTL-001, CW-FMT-004
t.test('bad bodies are 400 CW_ERR_BAD_REQUEST naming the field, other media types 415, over 64 KiB 413; nothing is made', async (t) => {
  const { sender } = await pair(t)
  const path = FEDERATION_PATHS.controlShares
  refused(t, await post(sender, bravo, path, { items: [{ size: 1, category: 'photo' }], extra: true }), 400, 'CW_ERR_BAD_REQUEST', '/extra')
  refused(t, await post(sender, bravo, path, { items: [{ size: 1, category: 'photo', name: 'x.bin' }] }), 400, 'CW_ERR_BAD_REQUEST', '/items/0/name')
  refused(t, await post(sender, bravo, path, { items: [] }), 400, 'CW_ERR_BAD_REQUEST', '/items')
  refused(
    t,
    await post(sender, bravo, path, { items: Array.from({ length: 21 }, () => ({ size: 1, category: 'photo' })) }),
    400,
    'CW_ERR_BAD_REQUEST',
    '/items',
  )
  refused(t, await post(sender, bravo, path, { items: [{ size: 16_777_217, category: 'photo' }] }), 400, 'CW_ERR_BAD_REQUEST', '/items/0/size')
  refused(t, await post(sender, bravo, path, { items: [{ size: 1, category: 'photo', attachmentOf: 0 }] }), 400, 'CW_ERR_BAD_REQUEST', '/items/0/attachmentOf')
  refused(t, await post(sender, bravo, path, { items: [{ size: 1, category: 'photo' }], expiresInSeconds: 0 }), 400, 'CW_ERR_BAD_REQUEST', '/expiresInSeconds')
  refused(t, await post(sender, bravo, path, { items: [{ size: 1, category: 'photo' }], fields: { title: 7 } }), 400, 'CW_ERR_BAD_REQUEST', '/fields/title')
  refused(t, await post(sender, bravo, path, '{"items": ['), 400, 'CW_ERR_BAD_REQUEST')
  refused(t, await post(sender, bravo, path), 400, 'CW_ERR_BAD_REQUEST')
  refused(t, await post(sender, bravo, path, 'aaa.bbb.ccc', 'application/jose'), 415, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
  refused(t, await post(sender, bravo, path, 'items', 'text/plain'), 415, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
  const large = JSON.stringify({ items: [{ size: 1, category: 'photo' }], fields: { title: 'x'.repeat(70_000) } })
  refused(t, await post(sender, bravo, path, large), 413, 'CW_ERR_TOO_LARGE')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlRevoke('any'), { reason: 'x' }), 400, 'CW_ERR_BAD_REQUEST', '/reason')
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlEvidence('any'), { items: [{ size: 1 }] }), 400, 'CW_ERR_BAD_REQUEST', '/items/0')
  t.same(await sender.store.cases.list(), [], 'no case was made')
})

// spec: CW-CTL-003
t.test('a caller without a policy assigned gets 409 CW_ERR_CONFLICT, and no case is made', async (t) => {
  const { sender } = await pair(t, { policy: null })
  refused(t, await post(sender, bravo, FEDERATION_PATHS.controlShares, { items: [{ size: 1, category: 'photo' }] }), 409, 'CW_ERR_CONFLICT')
  t.same(await sender.store.cases.list(), [])
})
