/**
 * A real S3 protocol server for the tests: s3rver on 127.0.0.1, a free port, a fresh directory,
 * one bucket; stopped (and its directory removed) when the test ends. s3rver accepts the
 * signatures of its fixed credentials S3RVER/S3RVER, which is what the stores are given.
 */
import { mkdtemp, rm, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from 'minio'
import S3rver from 's3rver'
import type { S3BlobStoreOptions } from '../../src/store/s3_blob_store.ts'

interface TestHandle {
  teardown(fn: () => unknown): void
}

export interface TestS3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  readonly bucket: string
  /** Options for `openS3BlobStore` against this server (no prefix). */
  readonly storeOptions: S3BlobStoreOptions
  /** A client of its own, to look at the bucket behind the store's back. */
  readonly client: Client
  /** Every key in the bucket under `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>
  /** Sets the Last-Modified of the object at `key` `ms` in the past (s3rver reports its file's mtime). */
  backdate(key: string, ms: number): Promise<void>
}

export const S3RVER_ACCESS_KEY = 'S3RVER'
export const S3RVER_SECRET_KEY = 'S3RVER'

/** `storage.blobs` for a node whose blobs are under `prefix` in this server's bucket. */
export function s3BlobSettings(s3: Pick<TestS3Server, 'endpoint' | 'bucket'>, prefix: string): Record<string, string> {
  return { kind: 's3', endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY, prefix }
}

export async function startS3Server(t: TestHandle, bucket = 'caseway-blobs'): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'caseway-s3rver-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] })
  const { port } = await server.run()
  t.teardown(async () => {
    // The client keeps connections alive: close them, or close() waits for their idle timeout.
    server.httpServer?.closeAllConnections()
    await server.close()
    await rm(directory, { recursive: true, force: true })
  })
  const endpoint = `http://127.0.0.1:${port}`
  const storeOptions: S3BlobStoreOptions = { endpoint, bucket, region: 'us-east-1', accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY }
  const client = new Client({
    endPoint: '127.0.0.1',
    port,
    useSSL: false,
    accessKey: S3RVER_ACCESS_KEY,
    secretKey: S3RVER_SECRET_KEY,
    region: 'us-east-1',
    pathStyle: true,
  })
  return {
    endpoint,
    bucket,
    storeOptions,
    client,
    async keys(prefix = '') {
      const found: string[] = []
      for await (const item of client.listObjectsV2(bucket, prefix, true)) {
        const name = (item as { name?: string }).name
        if (name !== undefined) found.push(name)
      }
      return found.sort()
    },
    async backdate(key, ms) {
      const parts = key.split('/')
      const then = new Date(Date.now() - ms)
      await utimes(join(directory, bucket, ...parts.slice(0, -1), `${parts.at(-1)}._S3rver_object`), then, then)
    },
  }
}
