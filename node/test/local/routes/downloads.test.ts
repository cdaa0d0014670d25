/**
 * Downloads over real HTTP (SPEC.md CW-LOC-027, CW-LOC-028): HEAD, single byte ranges in their
 * three forms, the digest as entity tag with If-Range, 416 with `Content-Range: bytes *` and the
 * size, the whole file for a list of ranges, and a download broken off and resumed whose two
 * parts concatenate to the file's digest. On evidence of a local case and of an external case.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { chunkStream, type CaseManifest, type SharingPolicy } from '#protocol'
import type { InboundShareWithManifest } from '../../../src/store/metadata_store.ts'
import { piecesOf } from '../../support/fixtures.ts'
import { createTestApp } from '../../support/local_app.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp({ transfers: { chunkSize: 65536 } })
await ta.app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => ta.close())
const base = `http://127.0.0.1:${(ta.app.server.address() as AddressInfo).port}`
const digestOf = (bytes: Uint8Array) => 'sha256:' + createHash('sha256').update(bytes).digest('hex')

/** Three and a bit chunks of 64 KiB, so ranges cross chunk boundaries. */
const bytes = randomBytes(3 * 65536 + 1234)
const theCase = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Ranges' } }, token: ta.memberToken })).json()
const query = new URLSearchParams({ name: 'camera.mp4', category: 'video', mediaType: 'video/mp4' })
const uploaded = await ta.call({
  method: 'POST',
  url: `/api/v1/cases/${theCase.id}/evidence?${query.toString()}`,
  headers: { 'content-type': 'application/octet-stream' },
  payload: piecesOf(bytes, 50_000),
  token: ta.memberToken,
})
const evidence = uploaded.json()

/** An external case holding the same bytes (its chunks stored as a received share's would be). */
async function insertExternal(): Promise<InboundShareWithManifest> {
  const chunks = chunkStream(piecesOf(bytes), 65536)
  let step = await chunks.next()
  while (step.done !== true) {
    await ta.ctx.blobs.put(step.value.digest, step.value.data)
    step = await chunks.next()
  }
  const summary = step.value
  const now = Math.floor(Date.now() / 1000)
  const policy = { ...policyBody(), id: 'da-policy', version: 2 } as SharingPolicy
  policy.permissions = { ...policy.permissions, download: true }
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: 'county-da',
    aud: ta.ctx.identity.org,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    share: { id: randomUUID(), revision: 1, scope: 'evidence', live: false },
    case: { id: 'da-9', fields: { title: 'Fraud' }, folders: [] },
    evidence: [
      {
        id: 'ledger',
        name: 'ledger.pdf',
        category: 'document',
        mediaType: 'application/pdf',
        size: summary.size,
        digest: summary.digest,
        chunkSize: 65536,
        chunks: summary.chunks,
        doNotDisclose: false,
      },
    ],
    grants: ['aGVhZGVy.cGF5bG9hZA.c2ln'],
  }
  const record: InboundShareWithManifest = {
    id: randomUUID(),
    senderOrg: 'county-da',
    senderName: 'County DA',
    shareId: manifest.share.id,
    revision: 1,
    manifestJws: 'aGVhZGVy.cGF5bG9hZA.c2ln',
    manifestDigest: 'sha256:' + '1'.repeat(64),
    manifest,
    policy,
    status: 'complete',
    statusDetail: null,
    receivedAt: now,
    completedAt: now,
    expiresAt: now + 3600,
    receiptJws: null,
  }
  await ta.ctx.store.inboundShares.insert(record)
  return record
}
const external = await insertExternal()

const routes = [
  { name: 'evidence', url: `/api/v1/evidence/${evidence.id}/content` },
  { name: 'external evidence', url: `/api/v1/external-cases/${external.id}/evidence/ledger/content` },
]

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return fetch(base + url, { method, headers: { authorization: `Bearer ${ta.memberToken}`, ...headers } })
}

const size = bytes.length
const etag = `"${digestOf(bytes)}"`

for (const route of routes) {
  t.test(`${route.name}: HEAD, ranges, If-Range, 416`, async (t: Test) => {
    // spec: CW-LOC-027
    const head = await get(route.url, {}, 'HEAD')
    t.equal(head.status, 200)
    t.equal(head.headers.get('content-length'), String(size))
    t.equal(head.headers.get('accept-ranges'), 'bytes')
    t.equal(head.headers.get('etag'), etag, 'the entity tag is the digest')
    t.equal((await head.arrayBuffer()).byteLength, 0, 'HEAD has no body')
    const headRange = await get(route.url, { range: 'bytes=0-9' }, 'HEAD')
    t.equal(headRange.status, 200, 'HEAD ignores Range')

    const whole = await get(route.url)
    t.equal(whole.status, 200)
    t.equal(whole.headers.get('etag'), etag)
    t.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes))

    // spec: CW-LOC-027 — the three forms of a single range, across chunk boundaries.
    const cases: Array<[string, number, number]> = [
      ['bytes=65530-131080', 65530, 131080],
      ['bytes=0-0', 0, 0],
      [`bytes=${size - 1}-`, size - 1, size - 1],
      ['bytes=70000-', 70000, size - 1],
      ['bytes=-1300', size - 1300, size - 1],
      [`bytes=-${size + 50}`, 0, size - 1],
      [`bytes=100-${size + 1000}`, 100, size - 1],
      ['BYTES = 5-9', 5, 9],
    ]
    for (const [range, start, end] of cases) {
      const partial = await get(route.url, { range })
      t.equal(partial.status, 206, range)
      t.equal(partial.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range)
      t.equal(partial.headers.get('content-length'), String(end - start + 1), range)
      t.ok(Buffer.from(await partial.arrayBuffer()).equals(bytes.subarray(start, end + 1)), `${range}: the bytes of the range`)
    }

    // spec: CW-LOC-028 — If-Range: the range only while the file is the one the client has.
    const matching = await get(route.url, { range: 'bytes=10-19', 'if-range': etag })
    t.equal(matching.status, 206)
    await matching.arrayBuffer()
    const stale = await get(route.url, { range: 'bytes=10-19', 'if-range': `"sha256:${'0'.repeat(64)}"` })
    t.equal(stale.status, 200, 'another entity tag: the whole file')
    t.ok(Buffer.from(await stale.arrayBuffer()).equals(bytes))
    const dated = await get(route.url, { range: 'bytes=10-19', 'if-range': 'Sat, 05 Dec 2026 08:00:00 GMT' })
    t.equal(dated.status, 200, 'a date never validates (no Last-Modified)')
    await dated.arrayBuffer()

    // spec: CW-LOC-028 — ranges that select no byte: 416 with the size.
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const refused = await get(route.url, { range })
      t.equal(refused.status, 416, range)
      t.equal(refused.headers.get('content-range'), `bytes */${size}`, range)
      t.match(refused.headers.get('content-type'), /^application\/problem\+json/)
      t.equal(((await refused.json()) as { code: string }).code, 'CW_ERR_RANGE_INVALID', range)
    }

    // spec: CW-LOC-028 — a list of ranges, another unit, a malformed range: the whole file.
    for (const range of ['bytes=0-9,20-29', 'items=0-1', 'bytes=9-5', 'bytes=abc', 'bytes=1-2-3']) {
      const ignored = await get(route.url, { range })
      t.equal(ignored.status, 200, range)
      t.notOk(ignored.headers.get('content-range'), range)
      t.ok(Buffer.from(await ignored.arrayBuffer()).equals(bytes), `${range}: the whole file`)
    }
  })

  t.test(`${route.name}: a download broken off is resumed and the parts make the file`, async (t: Test) => {
    // The first attempt breaks off after some bytes arrived.
    const first = await get(route.url)
    const reader = first.body!.getReader()
    const received: Uint8Array[] = []
    let count = 0
    while (count < 100_000) {
      const { value, done } = await reader.read()
      if (done === true) break
      received.push(value)
      count += value.byteLength
    }
    await reader.cancel()
    t.ok(count < size, `broken off after ${count} of ${size} bytes`)
    // As `curl -C -` does: the rest from where it stopped, only if it is still the same file.
    const rest = await get(route.url, { range: `bytes=${count}-`, 'if-range': first.headers.get('etag')! })
    t.equal(rest.status, 206)
    t.equal(rest.headers.get('content-range'), `bytes ${count}-${size - 1}/${size}`)
    const whole = Buffer.concat([...received, new Uint8Array(await rest.arrayBuffer())])
    t.equal(digestOf(whole), digestOf(bytes), "the parts concatenate to the file's digest")
    t.equal(`"${digestOf(whole)}"`, first.headers.get('etag'))
  })
}

t.test('a download is audited with the bytes sent; HEAD and 416 send none', async (t: Test) => {
  const recorded: Array<{ type: string; bytes?: number }> = []
  const original = ta.ctx.record.bind(ta.ctx)
  ta.ctx.record = (async (event: { type: string; bytes?: number }) => {
    recorded.push(event)
    return original(event as never)
  }) as typeof ta.ctx.record
  t.teardown(() => {
    ta.ctx.record = original
  })
  for (const route of routes) {
    await (await get(route.url, {}, 'HEAD')).arrayBuffer()
    await (await get(route.url, { range: `bytes=${size}-` })).arrayBuffer()
    await (await get(route.url, { range: 'bytes=100-199' })).arrayBuffer()
    await (await get(route.url)).arrayBuffer()
  }
  t.same(
    recorded.filter((e) => e.type === 'evidence.downloaded').map((e) => e.bytes),
    [100, size, 100, size],
  )
})
