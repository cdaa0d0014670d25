/**
 * Opens the metadata store the configuration names (`storage.metadata`): SQLite at its file
 * (relative to the node directory) or PostgreSQL. The only place that knows both kinds.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { nodePath } from '../config/load.ts'
import type { NodeConfig } from '../config/schema.ts'
import type { MetadataStore } from './metadata_store.ts'
import { openSqliteMetadataStore } from './sqlite/sqlite_metadata_store.ts'

export interface OpenConfiguredOptions {
  /** For tools next to a running node (`caseway audit verify`, `caseway doctor`): nothing is created, migrated or written. */
  readOnly?: boolean
}

export async function openConfiguredMetadataStore(config: NodeConfig, options: OpenConfiguredOptions = {}): Promise<MetadataStore> {
  const metadata = config.storage.metadata
  const readOnly = options.readOnly === true
  if (metadata.kind === 'sqlite') return openSqliteMetadataStore(nodePath(config, metadata.database), { readOnly })
  const tls =
    metadata.tls === undefined
      ? undefined
      : {
          rejectUnauthorized: metadata.tls.rejectUnauthorized,
          ...(metadata.tls.ca === undefined ? {} : { ca: await readFile(nodePath(config, metadata.tls.ca), 'utf8') }),
        }
  // Loaded only when configured: a SQLite node does not carry the PostgreSQL driver.
  const { openPostgresMetadataStore } = await import('./postgres/postgres_metadata_store.ts')
  return openPostgresMetadataStore({ url: metadata.url, poolSize: metadata.poolSize, readOnly, ...(tls === undefined ? {} : { tls }) })
}
