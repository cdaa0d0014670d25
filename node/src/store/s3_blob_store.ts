/**
 * The blob store on S3 (MinIO in production), with the `minio` client: one object per blob at
 * `<prefix>sha256/<64 hex>`.
 *
 * How a wrong digest never becomes a visible object: every byte is hashed as it flows
 * (`verified`), and nothing is made visible under the digest's key before the last byte matched.
 * - A blob of at most one part (`partSize`, 8 MiB by default; evidence chunks are 4 MiB unless
 *   configured otherwise) is held in memory — one part, never more — and PUT to its final key
 *   only after its digest matched: wrong bytes never leave the process.
 * - A larger blob is sent part by part, as its bytes arrive, as a multipart upload to a
 *   temporary key `<prefix>tmp/<replica>/<instance>/<random>`. The multipart upload is completed
 *   only once the digest matched (an incomplete one is no object at all), then copied server-side
 *   to the final key, and the temporary object deleted. On a mismatch, an over-size or a failing
 *   source, the upload is aborted and the temporary key deleted (both best-effort: what is left
 *   is under tmp/, never under sha256/).
 * Concurrent puts of one digest (in one process they take turns; several replicas may race) each
 * use their own temporary key and write identical verified bytes to the final key, so whichever
 * lands last, the blob is correct. A put of a digest already
 * stored writes it again rather than skipping it: that is what refreshes its Last-Modified, from
 * which the collector's grace period counts (S3 has no other way to touch an object).
 *
 * Temporary keys carry the replica's id (default: host name and process id — stable across
 * restarts in a container, where the node is pid 1; distinct for two nodes on one host) and a
 * random id of this store instance. At open, the store deletes the temporary objects of earlier instances of its own
 * replica (crashed or stopped: a replica runs one instance at a time) and any temporary object
 * older than `staleAfterMs` (24 h by default, far longer than any upload), so it never deletes
 * another live replica's upload in flight. Incomplete multipart uploads are no object; they are
 * left to the server (MinIO's stale_uploads_expiry, S3's AbortIncompleteMultipartUpload lifecycle
 * rule; see the README), since listing them is not something every S3 server offers.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import { hostname } from 'node:os'
import { Readable } from 'node:stream'
import { Client, CopyConditions } from 'minio'
import { RequestError } from '#protocol'
import type { BlobPut, BlobStore, ByteRange, StoredBlob } from './blob_store.ts'
import { checkedMaxBytes, checkRange, digestHex, sourceChunks, verified } from './blob_source.ts'

/** S3 refuses parts below 5 MiB (but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024
const DEFAULT_PART_SIZE = 8 * 1024 * 1024
const DEFAULT_STALE_AFTER_MS = 24 * 60 * 60 * 1000
const DEFAULT_IDLE_TIMEOUT_MS = 60_000

export interface S3BlobStoreOptions {
  /** `https://host[:port]` or `http://host[:port]`. */
  readonly endpoint: string
  readonly bucket: string
  readonly region: string
  readonly accessKey: string
  readonly secretKey: string
  /** Prepended to every key (`caseway/`); '' by default. */
  readonly prefix?: string
  /** Path-style requests (`host/bucket/key`), as MinIO and most S3-compatible servers expect; default true. */
  readonly pathStyle?: boolean
  /** This replica's id in temporary keys (default: `<host name>-<pid>`); distinct per replica. */
  readonly replicaId?: string
  /** Bytes per multipart part, at least 5 MiB (default 8 MiB). */
  readonly partSize?: number
  /** Temporary objects older than this are deleted at open, whoever wrote them (default 24 h). */
  readonly staleAfterMs?: number
  /** A request whose connection stays silent this long fails (default 60 s): a hung server never holds a job forever. */
  readonly idleTimeoutMs?: number
}

/** Thrown at open when the bucket cannot be used; the message never carries a credential. */
export class S3BlobStoreError extends Error {
  override name = 'S3BlobStoreError'
}

/** Opens the S3 blob store: checks the bucket, then deletes stale temporary objects (see the module comment). */
export async function openS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  const store = new S3BlobStore(options)
  await bucketAnswers(store.client, options)
  await store.removeStaleTemporaries()
  return store
}

/**
 * Whether the store's bucket answers with these credentials, touching nothing in it (for
 * `caseway doctor`, which may run beside the node).
 *
 * @throws {S3BlobStoreError} naming the endpoint and bucket when it cannot be reached or does not exist.
 */
export async function checkS3Bucket(options: S3BlobStoreOptions): Promise<void> {
  await bucketAnswers(new S3BlobStore(options).client, options)
}

async function bucketAnswers(client: Client, options: S3BlobStoreOptions): Promise<void> {
  let exists: boolean
  try {
    exists = await client.bucketExists(options.bucket)
  } catch (err) {
    throw new S3BlobStoreError(`S3 blob store at ${options.endpoint}: cannot reach bucket ${options.bucket}: ${messageOf(err)}`, { cause: err })
  }
  if (!exists) throw new S3BlobStoreError(`S3 blob store at ${options.endpoint}: bucket ${options.bucket} does not exist`)
}

class S3BlobStore implements BlobStore {
  readonly client: Client
  readonly #bucket: string
  readonly #prefix: string
  readonly #partSize: number
  readonly #staleAfterMs: number
  readonly #replicaId: string
  /** The last put of each digest in progress here, settled either way: the next one waits for it. */
  readonly #putting = new Map<string, Promise<void>>()
  /** New for every store instance: tells this instance's temporary objects from a crashed predecessor's. */
  readonly #instanceId = randomBytes(8).toString('hex')

  constructor(options: S3BlobStoreOptions) {
    const url = new URL(options.endpoint)
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.username !== '' || url.search !== '') {
      throw new TypeError('endpoint must be http(s)://host[:port], without path, user or query')
    }
    const partSize = options.partSize ?? DEFAULT_PART_SIZE
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) throw new TypeError('partSize must be an integer of at least 5 MiB')
    const prefix = options.prefix ?? ''
    if (prefix !== '' && !/^[A-Za-z0-9._\-/]*\/$/.test(prefix)) throw new TypeError('prefix must end with / and hold only A-Z a-z 0-9 . _ - /')
    const useSSL = url.protocol === 'https:'
    this.client = new Client({
      endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
      useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      pathStyle: options.pathStyle ?? true,
      transport: idleTimingOut(useSSL ? https : http, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS),
    })
    this.#bucket = options.bucket
    this.#prefix = prefix
    this.#partSize = partSize
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS
    // A key segment: no slash, nothing a server might choke on.
    this.#replicaId = (options.replicaId ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9._-]/g, '_') || 'replica'
  }

  #key(digest: string): string {
    return `${this.#prefix}sha256/${digestHex(digest)}`
  }

  get #tmpPrefix(): string {
    return `${this.#prefix}tmp/`
  }

  #tempKey(name: string): string {
    return `${this.#tmpPrefix}${this.#replicaId}/${this.#instanceId}/${name}`
  }

  async removeStaleTemporaries(): Promise<void> {
    const stale: string[] = []
    const oldest = Date.now() - this.#staleAfterMs
    for await (const item of this.client.listObjectsV2(this.#bucket, this.#tmpPrefix, true)) {
      const key = (item as { name?: string }).name
      if (key === undefined) continue
      const [replica, instance] = key.slice(this.#tmpPrefix.length).split('/')
      const ours = replica === this.#replicaId && instance !== this.#instanceId
      const lastModified = (item as { lastModified?: Date }).lastModified
      if (ours || (lastModified !== undefined && lastModified.getTime() < oldest)) stale.push(key)
    }
    for (const key of stale) await this.client.removeObject(this.#bucket, key)
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined
  }

  async size(digest: string): Promise<number | undefined> {
    const key = this.#key(digest)
    try {
      return (await this.client.statObject(this.#bucket, key)).size
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async put(digest: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: { maxBytes?: number }): Promise<void> {
    // Puts of one digest in this process take turns: each still verifies and writes its bytes,
    // but two never copy onto the same key at once (s3rver, unlike S3 and MinIO, fails a
    // CopyObject racing another to the same key).
    const turn = (this.#putting.get(digest) ?? Promise.resolve()).then(() => this.#put(digest, source, options))
    const settled = turn.then(
      () => undefined,
      () => undefined,
    )
    this.#putting.set(digest, settled)
    try {
      await turn
    } finally {
      if (this.#putting.get(digest) === settled) this.#putting.delete(digest)
    }
  }

  /** Each blob put on its own, side by side: an object is durable once its PUT is answered, so there is nothing to share. */
  async putBatch(blobs: readonly BlobPut[]): Promise<PromiseSettledResult<void>[]> {
    if (!Array.isArray(blobs)) throw new TypeError('blobs must be an array')
    return Promise.allSettled(blobs.map(({ digest, bytes, maxBytes }) => this.put(digest, bytes, maxBytes === undefined ? {} : { maxBytes })))
  }

  async #put(digest: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: { maxBytes?: number }): Promise<void> {
    const key = this.#key(digest)
    const maxBytes = checkedMaxBytes(options?.maxBytes)
    const chunks = sourceChunks(source)
    // At most one part is held: it is sent as soon as it is full.
    let pending: Uint8Array[] = []
    let pendingBytes = 0
    let upload: MultipartUpload | undefined
    try {
      for await (const chunk of verified(chunks, digest, maxBytes)) {
        // A copy: the piece is held past the next one, and a source may reuse its buffer.
        pending.push(Buffer.from(chunk))
        pendingBytes += chunk.byteLength
        if (pendingBytes >= this.#partSize) {
          upload ??= await this.#startUpload()
          await this.#sendPart(upload, Buffer.concat(pending, pendingBytes))
          pending = []
          pendingBytes = 0
        }
      }
      // The digest matched (verified throws otherwise): the bytes may now become visible.
      if (upload === undefined) {
        await this.client.putObject(this.#bucket, key, Buffer.concat(pending, pendingBytes), pendingBytes)
        return
      }
      if (pendingBytes > 0) await this.#sendPart(upload, Buffer.concat(pending, pendingBytes))
      pending = []
      await this.client.completeMultipartUpload(this.#bucket, upload.key, upload.uploadId, upload.parts)
      upload.completed = true
      await this.client.copyObject(this.#bucket, key, `/${this.#bucket}/${upload.key}`, new CopyConditions())
    } catch (err) {
      if (upload !== undefined && !upload.completed) {
        await this.client.abortMultipartUpload(this.#bucket, upload.key, upload.uploadId).catch(() => undefined)
      }
      throw err
    } finally {
      if (upload !== undefined) await this.client.removeObject(this.#bucket, upload.key).catch(() => undefined)
    }
  }

  async #startUpload(): Promise<MultipartUpload> {
    const key = this.#tempKey(randomBytes(16).toString('hex'))
    const uploadId = await this.client.initiateNewMultipartUpload(this.#bucket, key, {})
    return { key, uploadId, parts: [], completed: false }
  }

  async #sendPart(upload: MultipartUpload, bytes: Buffer): Promise<void> {
    const part = upload.parts.length + 1
    const { etag } = await this.client.uploadPart(
      { bucketName: this.#bucket, objectName: upload.key, uploadID: upload.uploadId, partNumber: part, headers: { 'Content-Length': bytes.byteLength } },
      bytes,
    )
    upload.parts.push({ part, etag })
  }

  async get(digest: string, range?: ByteRange): Promise<Readable> {
    const key = this.#key(digest)
    checkRange(range)
    try {
      if (range === undefined) return await this.client.getObject(this.#bucket, key)
      // S3 answers a range past the end with what there is: the size decides, as on a filesystem.
      const size = (await this.client.statObject(this.#bucket, key)).size
      if (range.end >= size) throw new RequestError('CW_ERR_RANGE_INVALID', 'range outside the blob')
      const length = range.end - range.start + 1
      return exactRange(await this.client.getPartialObject(this.#bucket, key, range.start, length), range.start, length)
    } catch (err) {
      if (isNotFound(err)) throw new RequestError('CW_ERR_NOT_FOUND', 'blob not found')
      throw err
    }
  }

  async *list(): AsyncGenerator<StoredBlob> {
    const prefix = `${this.#prefix}sha256/`
    // The client pages through the listing (1,000 keys a request) as it is iterated.
    for await (const item of this.client.listObjectsV2(this.#bucket, prefix, true)) {
      const { name, size, lastModified } = item as { name?: string; size?: number; lastModified?: Date }
      const hex = name?.slice(prefix.length)
      if (hex === undefined || !/^[0-9a-f]{64}$/.test(hex) || size === undefined || lastModified === undefined) continue
      yield { digest: `sha256:${hex}`, size, modifiedAt: lastModified }
    }
  }

  async delete(digest: string, options?: { unmodifiedSince?: Date }): Promise<boolean> {
    const key = this.#key(digest)
    try {
      const { lastModified } = await this.client.statObject(this.#bucket, key)
      if (options?.unmodifiedSince !== undefined && lastModified > options.unmodifiedSince) return false
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
    await this.client.removeObject(this.#bucket, key)
    return true
  }

  async check(): Promise<void> {
    // Under tmp/ with this instance's id: a probe left by a crash is cleaned like any temporary object.
    const probe = this.#tempKey('probe-' + randomBytes(8).toString('hex'))
    const bytes = randomBytes(32)
    try {
      await this.client.putObject(this.#bucket, probe, bytes, bytes.byteLength)
      const back: Buffer[] = []
      for await (const chunk of await this.client.getObject(this.#bucket, probe)) back.push(chunk as Buffer)
      if (!Buffer.concat(back).equals(bytes)) throw new Error('blob store probe read back different bytes')
    } finally {
      await this.client.removeObject(this.#bucket, probe).catch(() => undefined)
    }
  }
}

interface MultipartUpload {
  readonly key: string
  readonly uploadId: string
  readonly parts: { part: number; etag: string }[]
  completed: boolean
}

/**
 * `request` of `node:http(s)` whose requests fail once their connection was idle `ms` (the
 * minio client sets no timeout): an upload, a ranged read or a stat against a server that stopped
 * answering ends in an error the job runner retries, instead of waiting for ever.
 */
function idleTimingOut(module: typeof http | typeof https, ms: number): Pick<typeof http, 'request'> {
  const request = (options: http.RequestOptions, callback?: (response: http.IncomingMessage) => void): http.ClientRequest => {
    const req = module.request(options, callback)
    req.setTimeout(ms, () => req.destroy(Object.assign(new Error(`S3 request idle for ${ms} ms`), { code: 'ETIMEDOUT' })))
    return req
  }
  // The minio client calls request(options, callback) only; the other overloads are never used.
  return { request: request as typeof http.request }
}

/**
 * The bytes `start`..`start + length - 1` of a ranged answer, exactly: the server's answer is
 * taken at its Content-Range, not on trust. A proxy that drops the Range header answers 200 with
 * the whole object, and some servers widen a range (s3rver answers `bytes=0-0` with the whole
 * object): without this, such an answer would hand out wrong bytes. Too few bytes is an error.
 */
function exactRange(response: Readable, start: number, length: number): Readable {
  const contentRange = (response as Readable & { headers?: Record<string, unknown> }).headers?.['content-range']
  const first = typeof contentRange === 'string' ? /^bytes (\d+)-/.exec(contentRange)?.[1] : undefined
  let skip = start - (first === undefined ? 0 : Number(first))
  if (skip < 0) {
    response.destroy()
    throw new Error(`S3 answered the range from byte ${first}, after the byte ${start} asked for`)
  }
  let left = length
  async function* bytes(): AsyncGenerator<Buffer> {
    // Leaving the loop early (return) destroys the response: nothing is read past the range.
    for await (const chunk of response as AsyncIterable<Buffer>) {
      let part = chunk
      if (skip > 0) {
        const skipped = Math.min(skip, part.byteLength)
        skip -= skipped
        part = part.subarray(skipped)
      }
      if (part.byteLength > left) part = part.subarray(0, left)
      left -= part.byteLength
      if (part.byteLength > 0) yield part
      if (left === 0) return
    }
    throw new Error(`S3 answered the range with ${length - left} of ${length} bytes`)
  }
  return Readable.from(bytes(), { objectMode: false })
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'NoSuchKey' || code === 'NotFound'
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
