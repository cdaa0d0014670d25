/**
 * Where a node directory keeps things, read from its `caseway.json`: commands that take
 * `--dir` find the PKI the way the node does, wherever `pki.dir` points.
 *
 * @module
 */
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { NodeConfig } from '../node/src/config/schema.ts'
import { UsageError } from './errors.ts'

/** The configuration of the node in `dir` and the absolute path of its PKI directory. */
export async function pkiOf(dir: string): Promise<{ config: NodeConfig; pkiDir: string }> {
  const { loadConfig, nodePath } = await import('../node/src/config/load.ts')
  const config = await loadConfig(dir)
  return { config, pkiDir: nodePath(config, config.pki.dir) }
}

/**
 * The PKI directory that `dir` names: a node directory's (it holds `caseway.json`), or `dir`
 * itself (an organization directory as `certs init-org` makes it, or a PKI directory).
 */
export async function pkiDirOf(dir: string): Promise<string> {
  const exists = (path: string) =>
    access(path).then(
      () => true,
      () => false,
    )
  if (!(await exists(dir))) throw new UsageError(`no directory ${dir}: give a node directory with --dir (or a certificate file or organization directory)`)
  return (await exists(join(dir, 'caseway.json'))) ? (await pkiOf(dir)).pkiDir : dir
}
