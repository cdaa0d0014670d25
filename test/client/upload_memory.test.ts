/**
 * `LocalClient.uploadEvidence` streams: a file much larger than what the client may hold goes
 * through with the client's buffers bounded. (A `fetch` that may follow redirects clones the
 * request, and cloning tees a streamed body: the branch never sent would keep every byte.)
 */
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { LocalClient } from '../../client/local_client.ts'

const MIB = 1024 * 1024
const UPLOAD_MIB = 320

t.test('an upload of hundreds of MiB keeps the memory of a few chunks', async (t) => {
  // Reads the body, hashing it and keeping nothing, and answers like the node does.
  const server = createServer((request, response) => {
    const hash = createHash('sha256')
    let size = 0
    request.on('data', (piece: Buffer) => {
      hash.update(piece)
      size += piece.byteLength
    })
    request.on('end', () => {
      response.writeHead(201, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ id: 'e1', size, digest: `sha256:${hash.digest('hex')}` }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const client = new LocalClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'cw_test' })

  let peakBuffers = 0
  const expected = createHash('sha256')
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let index = 0; index < UPLOAD_MIB; index += 1) {
      // A fresh buffer each time, as a file read stream gives.
      const piece = Buffer.alloc(MIB, index % 251)
      expected.update(piece)
      yield piece
      peakBuffers = Math.max(peakBuffers, process.memoryUsage().arrayBuffers)
    }
  }
  const evidence = await client.uploadEvidence('case-1', { name: 'big.bin', category: 'video' }, body())
  t.equal(evidence.size, UPLOAD_MIB * MIB)
  t.equal(evidence.digest, `sha256:${expected.digest('hex')}`)
  t.ok(peakBuffers < (UPLOAD_MIB / 2) * MIB, `at most half the upload held at once (peak ${Math.round(peakBuffers / MIB)} MiB)`)
})
