/**
 * The S3 blob store against a real S3 protocol server (s3rver, started here on 127.0.0.1 with
 * a free port and its own directory): the BlobStore contract, then what only S3 does — the key
 * layout, a prefix, and the cleanup of temporary objects that spares another replica's upload.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { buffer } from 'node:stream/consumers'
import { openS3BlobStore } from '../../src/store/s3_blob_store.ts'
import { startS3Server } from '../support/s3_server.ts'
import { blobStoreContract, chunked, digestOf } from './blob_store_contract.ts'

/** The smallest part S3 accepts: blobs above it take the multipart way. */
const PART_SIZE = 5 * 1024 * 1024

t.test('the BlobStore contract', async (t) => {
  blobStoreContract(
    t,
    async (t) => {
      const s3 = await startS3Server(t)
      const store = await openS3BlobStore({ ...s3.storeOptions, partSize: PART_SIZE })
      const nameOf = (digest: string) => `sha256/${digest.slice('sha256:'.length)}`
      return { store, stored: () => s3.keys(), nameOf, backdate: (digest, ms) => s3.backdate(nameOf(digest), ms) }
    },
    // Three parts: the multipart upload to a temporary key, completed only once the digest matched.
    { largeBytes: 2 * PART_SIZE + 1234, flatMemoryMiB: 96 },
  )
})

t.test('a prefix holds every key the store writes', async (t) => {
  const s3 = await startS3Server(t)
  const store = await openS3BlobStore({ ...s3.storeOptions, prefix: 'agency/caseway/', partSize: PART_SIZE })
  const small = randomBytes(1000)
  const large = randomBytes(PART_SIZE + 10)
  await store.put(digestOf(small), small)
  await store.put(digestOf(large), chunked(large, 65_536))
  await store.check()
  t.same(await s3.keys(), [`agency/caseway/sha256/${digestOf(small).slice(7)}`, `agency/caseway/sha256/${digestOf(large).slice(7)}`].sort())
  t.ok((await buffer(await store.get(digestOf(large), { start: PART_SIZE - 5, end: PART_SIZE + 4 }))).equals(large.subarray(PART_SIZE - 5, PART_SIZE + 5)))
  await t.rejects(openS3BlobStore({ ...s3.storeOptions, prefix: '../up' }), TypeError)
})

// spec: CW-LOC-044
t.test('open: cleans its own replica stale temporaries and old ones, never another live replica', async (t) => {
  const s3 = await startS3Server(t)
  const leftover = Buffer.from('half an upload')
  const keys = {
    ownCrashed: 'tmp/replica-a/0011223344556677/abc',
    otherInFlight: 'tmp/replica-b/8899aabbccddeeff/def',
    blob: `sha256/${digestOf(leftover).slice(7)}`,
  }
  for (const key of Object.values(keys)) await s3.client.putObject(s3.bucket, key, leftover, leftover.byteLength)

  const store = await openS3BlobStore({ ...s3.storeOptions, replicaId: 'replica-a' })
  t.same(await s3.keys(), [keys.blob, keys.otherInFlight].sort(), "replica-a's earlier instance cleaned; replica-b's upload and the blob kept")
  t.ok((await buffer(await store.get(digestOf(leftover)))).equals(leftover))

  // A temporary object older than staleAfterMs is a crash whoever wrote it (s3rver stamps now,
  // so an age of 0 makes every existing one old).
  await openS3BlobStore({ ...s3.storeOptions, replicaId: 'replica-c', staleAfterMs: 0 })
  t.same(await s3.keys(), [keys.blob])
})

t.test('open refuses a missing bucket, naming it and not the credentials', async (t) => {
  const s3 = await startS3Server(t)
  const err = await openS3BlobStore({ ...s3.storeOptions, bucket: 'no-such-bucket', secretKey: 'S3RVER' }).catch((e: unknown) => e)
  t.match(err, { name: 'S3BlobStoreError', message: /bucket no-such-bucket does not exist/ })
  t.notMatch((err as Error).message, /S3RVER/)
})

t.test('a server that stops answering fails the request instead of holding it', async (t) => {
  // Accepts connections and never says a word.
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => void sockets.add(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })
  const port = (silent.address() as AddressInfo).port
  const options = { endpoint: `http://127.0.0.1:${port}`, bucket: 'caseway-blobs', region: 'us-east-1', accessKey: 'a', secretKey: 'b', idleTimeoutMs: 200 }
  const err = await openS3BlobStore(options).catch((e: unknown) => e)
  t.match(err, { name: 'S3BlobStoreError', message: /cannot reach bucket .*idle for 200 ms/ })
})

t.test('options are checked', async (t) => {
  const s3 = await startS3Server(t)
  await t.rejects(openS3BlobStore({ ...s3.storeOptions, endpoint: 'ftp://127.0.0.1' }), TypeError)
  await t.rejects(openS3BlobStore({ ...s3.storeOptions, endpoint: `${s3.endpoint}/path` }), TypeError)
  await t.rejects(openS3BlobStore({ ...s3.storeOptions, partSize: 1024 }), TypeError)
})
