/**
 * The first administrator's token (CW-LOC-011): minted once, when the node directory is made,
 * and written to `admin.token` in it (mode 0600, readable by the node's owner only). It is
 * never printed: `caseway init` and `caseway start` say where the file is. Starting a node
 * mints nothing; a lost or expired admin token is replaced with `caseway tokens create` on the
 * node directory.
 *
 * @module
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { auditedTransaction } from '../audit/audit_trail.ts'
import type { NodeConfig } from '../config/schema.ts'
import { openConfiguredMetadataStore } from '../store/open_metadata_store.ts'
import { createToken, type CreatedToken } from './tokens.ts'

/** The file in the node directory that holds the first admin token. */
export const ADMIN_TOKEN_FILE = 'admin.token'

/** Where the admin token of the node in `dir` is (or would be). */
export function adminTokenPath(dir: string): string {
  return join(dir, ADMIN_TOKEN_FILE)
}

/**
 * Mints an admin token for user `admin` (created when missing) straight in the node's database
 * and writes it to `admin.token` (0600), replacing one that is there. Audited as made by the
 * node itself.
 */
export async function mintAdminTokenFile(config: NodeConfig): Promise<{ path: string; token: Omit<CreatedToken, 'token'> }> {
  const store = await openConfiguredMetadataStore(config)
  try {
    const clock = { now: () => new Date() }
    const created = await createToken(
      { store, clock, config, log: pino({ level: 'silent' }), transaction: auditedTransaction(store, clock) },
      { userId: 'admin', role: 'admin', name: 'first administrator (caseway init)' },
    )
    const path = adminTokenPath(config.dir)
    // Mode applies when the file is created; an existing file is replaced by a new one.
    await writeFile(path + '.tmp', created.token + '\n', { mode: 0o600, flag: 'w' })
    await chmod(path + '.tmp', 0o600)
    await rename(path + '.tmp', path)
    const { token: _secret, ...info } = created
    return { path, token: info }
  } finally {
    await store.close()
  }
}

/** The token in `admin.token` of the node in `dir`; undefined when there is no such file. */
export async function readAdminTokenFile(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(adminTokenPath(dir), 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}
