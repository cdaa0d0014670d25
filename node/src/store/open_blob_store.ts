/**
 * Opens the blob store the configuration names (`storage.blobs`): the filesystem at its
 * directory (relative to the node directory) or S3. The only place that knows both kinds.
 *
 * @module
 */
import { nodePath, replicaIdOf } from '../config/load.ts'
import type { NodeConfig } from '../config/schema.ts'
import type { BlobStore } from './blob_store.ts'
import { openFsBlobStore } from './fs_blob_store.ts'
import type { S3BlobStoreOptions } from './s3_blob_store.ts'

export async function openConfiguredBlobStore(config: NodeConfig): Promise<BlobStore> {
  const blobs = config.storage.blobs
  // Temporary uploads carry the replica's name: a replica starting cleans its own, never another's.
  const replicaId = replicaIdOf(config)
  if (blobs.kind === 'fs') return openFsBlobStore(nodePath(config, blobs.dir), { replicaId })
  // Loaded only when configured: the S3 client and its XML parser are about 15 MB of a node's memory.
  const { openS3BlobStore } = await import('./s3_blob_store.ts')
  return openS3BlobStore({ ...s3StoreOptions(blobs), replicaId })
}

/** The S3 store's options from `storage.blobs` of kind `s3`. */
export function s3StoreOptions(blobs: Extract<NodeConfig['storage']['blobs'], { kind: 's3' }>): S3BlobStoreOptions {
  return {
    endpoint: blobs.endpoint,
    bucket: blobs.bucket,
    region: blobs.region,
    accessKey: blobs.accessKey,
    secretKey: blobs.secretKey,
    prefix: blobs.prefix,
    pathStyle: blobs.pathStyle,
  }
}
