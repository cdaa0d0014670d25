/**
 * Opens the blob store the configuration names (`storage.blobs`): the filesystem at its
 * directory (relative to the node directory) or S3. The only place that knows both kinds.
 *
 * @module
 */
import { nodePath } from '../config/load.ts'
import type { NodeConfig } from '../config/schema.ts'
import type { BlobStore } from './blob_store.ts'
import { openFsBlobStore } from './fs_blob_store.ts'
import { openS3BlobStore } from './s3_blob_store.ts'

export async function openConfiguredBlobStore(config: NodeConfig): Promise<BlobStore> {
  const blobs = config.storage.blobs
  if (blobs.kind === 'fs') return openFsBlobStore(nodePath(config, blobs.dir))
  return openS3BlobStore({
    endpoint: blobs.endpoint,
    bucket: blobs.bucket,
    region: blobs.region,
    accessKey: blobs.accessKey,
    secretKey: blobs.secretKey,
    prefix: blobs.prefix,
    pathStyle: blobs.pathStyle,
  })
}
