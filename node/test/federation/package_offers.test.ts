/**
 * Package offers on a node in process (SPEC.md §22, CW-PKG-012, CW-PKG-016, CW-PKG-017): the
 * receiver's refusals store nothing and leave no package visible — wrong typ, wrong audience,
 * issuer ≠ the mTLS peer, an unknown recipient, expired, a package over the partner's bytes
 * bound; a package whose bytes changed after signing is refused after its pull and never
 * visible; and a sender whose partner has no EP-10 leaves the link share failed, saying so.
 */
import { createServer } from 'node:https'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { digestBytes, signObject, type PackageOffer } from '#protocol'
import { buildPackage, digestContent, layoutMembers, streamLayout } from '#packaging'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'
import { startTestNode, type TestNode } from '../support/federation_node.ts'
import { controlPackage } from '../../src/links/control_packages.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]
const now = () => Math.floor(Date.now() / 1000)

function packageOffer(overrides: Partial<PackageOffer> = {}): PackageOffer {
  return {
    cwv: '0.2',
    iss: 'bravo',
    aud: 'alpha',
    iat: now(),
    exp: now() + 3600,
    jti: randomUUID(),
    package: randomUUID(),
    recipients: [{ kind: 'user', id: 'clerk' }],
    format: 'zip',
    size: 4096,
    manifest: `sha256:${'b'.repeat(64)}`,
    ...overrides,
  }
}

function post(node: TestNode, from: TestOrg, jws: string): Promise<RawResponse> {
  return rawRequest(
    `${node.url}/federation/v1/package-offers`,
    { ca: alpha.caPem, cert: from.identity.tls.cert, key: from.identity.tls.key },
    { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws },
  )
}

const node = await startTestNode(t, alpha, { limits: { partners: { bytesPerDay: 10_000 } } })
await node.addPartner(bravo)
await node.addPartner(charlie)
await node.store.principals.upsertUser({
  id: 'clerk',
  name: 'Clerk',
  email: null,
  badge: null,
  role: 'member',
  kind: 'user',
  disabled: false,
  createdAt: now(),
  updatedAt: now(),
})

// spec: CW-PKG-012, CW-PKG-017, CW-QUO-003
t.test('every refused package offer stores nothing', async (t) => {
  const cases: Array<[string, () => Promise<string>, TestOrg, number, string]> = [
    ['wrong typ', () => signObject('package', { ...packageOffer() }, bravo.signer), bravo, 422, 'CW_ERR_TYP_INVALID'],
    ['wrong audience', () => signObject('package-offer', { ...packageOffer({ aud: 'charlie' }) }, bravo.signer), bravo, 422, 'CW_ERR_AUDIENCE_MISMATCH'],
    ['expired', () => signObject('package-offer', { ...packageOffer({ iat: now() - 7200, exp: now() - 3600 }) }, bravo.signer), bravo, 422, 'CW_ERR_EXPIRED'],
    [
      'issuer is not the mTLS peer',
      () => signObject('package-offer', { ...packageOffer({ iss: 'charlie' }) }, charlie.signer),
      bravo,
      403,
      'CW_ERR_PEER_MISMATCH',
    ],
    [
      'unknown recipient',
      () => signObject('package-offer', { ...packageOffer({ recipients: [{ kind: 'group', id: 'nobody' }] }) }, bravo.signer),
      bravo,
      409,
      'CW_ERR_CONFLICT',
    ],
    [
      'over the partner bytes bound',
      () => signObject('package-offer', { ...packageOffer({ size: 10_001 }) }, bravo.signer),
      bravo,
      429,
      'CW_ERR_QUOTA_EXCEEDED',
    ],
  ]
  for (const [what, sign, from, status, code] of cases) {
    const answer = await post(node, from, await sign())
    t.equal(answer.status, status, what)
    t.match(answer.json(), { code }, what)
    if (code === 'CW_ERR_QUOTA_EXCEEDED') t.equal(answer.headers['retry-after'], undefined, 'waiting does not help')
  }
  t.same(await node.store.inboundPackages.list(), [], 'nothing stored')
  t.same(
    (await node.store.jobs.list()).filter((job) => job.kind === 'package-pull'),
    [],
    'no pull queued',
  )
})

// spec: CW-PKG-012
t.test('an accepted offer is answered 202, the same offer again 200; nothing is visible before the pull', async (t) => {
  const jws = await signObject('package-offer', { ...packageOffer() }, bravo.signer)
  const first = await post(node, bravo, jws)
  t.equal(first.status, 202)
  t.match(first.json(), { status: 'receiving' })
  const again = await post(node, bravo, jws)
  t.equal(again.status, 200)
  const [held] = await node.store.inboundPackages.list()
  t.equal(held?.state, 'receiving')
  t.equal(held?.content, null, 'no content before the package is pulled and verified')
})

// spec: CW-PKG-016
t.test('a partner whose node has no EP-10 leaves the link share failed, saying so', async (t) => {
  // bravo's "node": an HTTPS server with bravo's certificate that knows no package offers.
  const server = createServer({ cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }, (_request, response) => {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const sender = await startTestNode(t, charlie, { runJobs: true })
  await sender.addPartner(bravo, `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`)
  const { package: linkId } = await controlPackage(sender.ctx, 'bravo', {
    items: [{ size: 500, category: 'document' }],
    recipient: { kind: 'user', id: 'clerk' },
  })
  const failed = await waitFor('the link share failed', async () => {
    const link = await sender.store.linkShares.get(linkId)
    return link?.state === 'failed' ? link : undefined
  })
  t.match(failed.failure, /bravo's node does not accept packages/)
})

/** A one-item ZIP package signed by `org`, its bytes in memory (small); `tamper` flips an evidence byte after signing. */
async function zipPackage(org: TestOrg, tamper: boolean): Promise<{ id: string; bytes: Buffer; manifest: string }> {
  const id = randomUUID()
  const content = Buffer.from('evidence bytes of a test package\n'.repeat(40))
  const digested = await digestContent(
    (async function* () {
      yield content
    })(),
  )
  const built = await buildPackage({
    packageId: id,
    format: 'zip',
    createdAt: now(),
    expiresAt: now() + 3600,
    sender: { org: org.org, name: org.name },
    case: { id: 'case-1', fields: {} },
    evidence: [{ id: 'item-0', name: 'item-0.txt', folders: [], size: digested.size, sha256: digested.sha256, crc32: digested.crc32 }],
    retainFolderStructure: false,
    tableOfContents: false,
    transcripts: false,
    signer: org.signer,
    caCertificate: org.caPem,
  })
  const parts: Uint8Array[] = []
  const open = (member: { path: string }, start: number, end: number) => {
    const source = built.sources.get(member.path)!
    return [(source.kind === 'generated' ? Buffer.from(source.bytes) : content).subarray(start, end)]
  }
  for await (const part of streamLayout(layoutMembers('zip', built.members), open)) parts.push(part)
  const bytes = Buffer.concat(parts)
  if (tamper) {
    const at = bytes.indexOf(content.subarray(0, 40)) + 5
    bytes[at] = bytes[at]! ^ 0x01
  }
  return { id, bytes, manifest: digestBytes(built.jws) }
}

// spec: CW-PKG-014, CW-PKG-017
t.test('a package whose bytes were changed after signing is refused after its pull and never visible; an intact one is received', async (t) => {
  const packages = new Map<string, Buffer>()
  // bravo's node serves EP-11 (whole packages only: they are small).
  const server = createServer({ cert: bravo.identity.tls.cert, key: bravo.identity.tls.key, ca: alpha.caPem, requestCert: true }, (request, response) => {
    const bytes = packages.get(decodeURIComponent((request.url ?? '').split('/').pop() ?? ''))
    if (bytes === undefined) return void response.writeHead(404, { 'content-type': 'application/problem+json' }).end('{"code":"CW_ERR_NOT_FOUND"}')
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const receiver = await startTestNode(t, alpha, { runJobs: true })
  await receiver.addPartner(bravo, `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`)
  await receiver.store.principals.upsertUser({
    id: 'clerk',
    name: 'Clerk',
    email: null,
    badge: null,
    role: 'member',
    kind: 'user',
    disabled: false,
    createdAt: now(),
    updatedAt: now(),
  })
  const settled = (packageId: string) =>
    waitFor(`package ${packageId} settled`, async () => {
      const held = await receiver.store.inboundPackages.find('bravo', packageId)
      return held?.state === 'receiving' ? undefined : held
    })
  for (const tamper of [true, false]) {
    const pkg = await zipPackage(bravo, tamper)
    packages.set(pkg.id, pkg.bytes)
    const offer = packageOffer({ package: pkg.id, size: pkg.bytes.length, manifest: pkg.manifest })
    t.equal((await post(receiver, bravo, await signObject('package-offer', { ...offer }, bravo.signer))).status, 202)
    const held = await settled(pkg.id)
    if (tamper) {
      t.equal(held?.state, 'refused', 'the tampered package is refused')
      t.match(held?.failure, /CW_ERR_PACKAGE_MEMBER_ALTERED|altered|differs/i)
      t.equal(held?.content, null, 'nothing of it is stored as the package')
    } else {
      t.equal(held?.state, 'received', 'the intact package is received')
      t.equal(held?.content?.chunks.length, 1)
    }
  }
})

// spec: CW-PKG-015
t.test('a package revocation binds its issuer to the peer; a revoked package is refused 410 on its next offer', async (t) => {
  const revoke = (from: TestOrg, signer: TestOrg, packageId: string) =>
    signObject(
      'revocation',
      { cwv: '0.2', iss: signer.org, aud: 'alpha', iat: now(), exp: now() + 600, jti: randomUUID(), share: packageId, revokedAt: now() },
      signer.signer,
    ).then((jws) =>
      rawRequest(
        `${node.url}/federation/v1/package-revocations`,
        { ca: alpha.caPem, cert: from.identity.tls.cert, key: from.identity.tls.key },
        { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws },
      ),
    )
  const offer = packageOffer()
  const jws = await signObject('package-offer', { ...offer }, bravo.signer)
  t.equal((await post(node, bravo, jws)).status, 202)
  const mismatched = await revoke(bravo, charlie, offer.package)
  t.equal(mismatched.status, 403)
  t.match(mismatched.json(), { code: 'CW_ERR_PEER_MISMATCH' })
  t.equal((await node.store.inboundPackages.find('bravo', offer.package))?.state, 'receiving', 'not revoked by another org')
  const revoked = await revoke(bravo, bravo, offer.package)
  t.equal(revoked.status, 200)
  t.same(revoked.json(), { share: offer.package, status: 'revoked' })
  const again = await post(node, bravo, jws)
  t.equal(again.status, 410)
  t.match(again.json(), { code: 'CW_ERR_SHARE_REVOKED' })
})
