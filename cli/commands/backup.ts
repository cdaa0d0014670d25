/**
 * `caseway backup`, `caseway backup verify` and `caseway restore` for a node on the embedded
 * default (SQLite and the filesystem blob store). The backup is taken while the node may run;
 * restore is into a stopped node's directory. The archive holds the node's private keys.
 *
 * `backup verify` prints `ok <members> members <bytes> bytes index sha256:<hex>`, or exits 1
 * with one line naming the first bad member.
 *
 * @module
 */
import type { Command } from 'commander'
import { UsageError } from '../errors.ts'
import { print, printError } from '../output.ts'

interface BackupCommandOptions {
  dir: string
  out: string
}

interface RestoreCommandOptions {
  dir: string
  force?: boolean
  index?: string
}

const INDEX_OPTION = ['--index <sha256>', 'the index SHA-256 that caseway backup printed (kept apart from the archive): refuse any other'] as const

/** `sha256:<hex>` or `<hex>` → hex. */
function parseIndex(value: string): string {
  const hex = value.replace(/^sha256:/, '').toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError(`--index: not a SHA-256 (sha256:<64 hex>): ${value}`)
  return hex
}

export function register(program: Command): void {
  const backup = program
    .command('backup')
    .description('write a verified archive of a node (database snapshot, blobs, configuration and keys); works while the node runs')
    .option('--dir <dir>', 'node directory', './data')
    .option('--out <file>', 'the archive to write (it holds private keys: keep it as safe as the node)')
    .action(async (options: Partial<BackupCommandOptions>) => {
      if (options.out === undefined) throw new UsageError('give the archive to write with --out <file>')
      const { createBackup } = await import('../../node/src/operations/backup.ts')
      const made = await createBackup({ dir: options.dir ?? './data', out: options.out })
      printError(`backup ${options.out}: ${made.members} members, ${made.bytes} bytes\n`)
      print(`index sha256:${made.manifestSha256}\n`)
    })

  backup
    .command('verify')
    .description('check a backup offline: every member against its index, every blob against its digest, the database snapshot opens')
    .argument('<file>', 'the backup archive')
    .option(...INDEX_OPTION, parseIndex)
    .action(async (file: string, options: { index?: string }) => {
      const { verifyBackup } = await import('../../node/src/operations/restore.ts')
      const read = await verifyBackup(file, options)
      print(`ok ${read.members} members ${read.bytes} bytes index sha256:${read.manifestSha256}\n`)
    })

  program
    .command('restore')
    .description('restore a backup into a node directory (checked first; all or nothing)')
    .argument('<file>', 'the backup archive')
    .option('--dir <dir>', 'node directory to restore into (must be empty or absent)', './data')
    .option('--force', 'replace a node directory that is not empty (stop its node first)')
    .option(...INDEX_OPTION, parseIndex)
    .action(async (file: string, options: RestoreCommandOptions) => {
      const { restoreBackup } = await import('../../node/src/operations/restore.ts')
      const read = await restoreBackup({ file, ...options })
      printError(`restored ${read.header.org} as of ${read.header.created} into ${options.dir}: ${read.members} members\n`)
    })
}
