/**
 * `caseway tokens create`: a local API bearer token for a user, made straight in the node's
 * database (also while the node runs: SQLite's WAL lets a second writer wait its turn). The
 * secret goes to stdout, once; what was done goes to stderr. A user that does not exist yet is
 * created with the token's role; an existing one must allow it (no admin token for a member,
 * none for a disabled user).
 *
 * @module
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { print, printable, printError } from '../output.ts'

interface CreateOptions {
  dir: string
  user: string
  role: 'admin' | 'member'
}

function parseRole(value: string): 'admin' | 'member' {
  if (value !== 'admin' && value !== 'member') throw new InvalidArgumentError('role must be admin or member')
  return value
}

export function register(program: Command): void {
  const tokens = program.command('tokens').description("manage the local API's bearer tokens")

  tokens
    .command('create')
    .description('create a bearer token for a user and print it once (the user is created if missing)')
    .requiredOption('--user <id>', 'the user the token belongs to')
    .requiredOption('--role <role>', "admin or member (at most the user's role)", parseRole)
    .option('--dir <dir>', 'node directory', './data')
    .action(async (options: CreateOptions) => {
      const { loadConfig, nodePath } = await import('../../node/src/config/load.ts')
      const { openSqliteMetadataStore } = await import('../../node/src/store/sqlite/sqlite_metadata_store.ts')
      const { createToken } = await import('../../node/src/access/tokens.ts')
      const { pino } = await import('pino')
      const config = await loadConfig(options.dir)
      const store = await openSqliteMetadataStore(nodePath(config, config.storage.database))
      try {
        const existed = (await store.getUser(options.user)) !== undefined
        const created = await createToken(
          { store, clock: { now: () => new Date() }, log: pino({ level: 'silent' }) },
          { userId: options.user, role: options.role },
        )
        if (!existed) printError(`created user ${printable(created.userId)} (${created.role})\n`)
        printError(`token ${created.id} for ${printable(created.userId)} (${created.role}); the secret is shown once:\n`)
        print(`${created.token}\n`)
      } finally {
        await store.close()
      }
    })
}
