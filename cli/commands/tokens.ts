/**
 * `caseway tokens create`: a local API bearer token for a user, made straight in the node's
 * database (also while the node runs: SQLite's WAL lets a second writer wait its turn). The
 * secret goes to stdout, once; what was done goes to stderr. A user that does not exist yet is
 * created with the token's role; an existing one must allow it (no admin token for a member,
 * none for a disabled user). Creation is audited (node-wide chain).
 *
 * `caseway tokens list` and `caseway tokens revoke <id>` go through the running node's local
 * API (CW-LOC-010), authenticated by `--token`, else `CASEWAY_TOKEN`, else the node
 * directory's `admin.token`: an administrator sees and revokes every token, anyone else its own.
 *
 * @module
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { apiOptions, withClient, type ApiOptions } from '../local_api.ts'
import { isoTime, print, printable, printError } from '../output.ts'

interface CreateOptions {
  dir: string
  user: string
  role: 'admin' | 'member'
  name?: string
  expiresInDays?: number
}

interface ListOptions extends ApiOptions {
  json?: boolean
  user?: string
}

function parseDays(value: string): number {
  const days = Number(value)
  if (!/^[0-9]{1,5}$/.test(value) || days < 1) throw new InvalidArgumentError('must be a whole number of days, at least 1')
  return days
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
    .option('--name <name>', 'what the token is for (shown by tokens list)')
    .option('--expires-in-days <days>', 'lifetime in days (default auth.tokens.defaultDays, at most auth.tokens.maxDays)', parseDays)
    .option('--dir <dir>', 'node directory', './data')
    .action(async (options: CreateOptions) => {
      const { loadConfig } = await import('../../node/src/config/load.ts')
      const { openConfiguredMetadataStore } = await import('../../node/src/store/open_metadata_store.ts')
      const { createToken } = await import('../../node/src/access/tokens.ts')
      const { auditedTransaction } = await import('../../node/src/audit/audit_trail.ts')
      const { pino } = await import('pino')
      const config = await loadConfig(options.dir)
      const store = await openConfiguredMetadataStore(config)
      try {
        const existed = (await store.principals.getUser(options.user)) !== undefined
        const clock = { now: () => new Date() }
        const created = await createToken(
          { store, clock, config, log: pino({ level: 'silent' }), transaction: auditedTransaction(store, clock) },
          {
            userId: options.user,
            role: options.role,
            ...(options.name === undefined ? {} : { name: options.name }),
            ...(options.expiresInDays === undefined ? {} : { expiresInDays: options.expiresInDays }),
          },
        )
        if (!existed) printError(`created user ${printable(created.userId)} (${created.role})\n`)
        printError(`token ${created.id} for ${printable(created.userId)} (${created.role}), expires ${isoTime(created.expiresAt)}; the secret is shown once:\n`)
        print(`${created.token}\n`)
      } finally {
        await store.close()
      }
    })

  apiOptions(
    tokens
      .command('list')
      .description("list tokens (never their secrets): an administrator's token sees all, anyone else's only its own")
      .option('--user <id>', "only this user's tokens (administrators)")
      .option('--json', 'print the list as JSON'),
  ).action(async (options: ListOptions) => {
    const list = await withClient(options, (client) => client.listTokens(options.user))
    if (options.json === true) {
      print(JSON.stringify(list, null, 2) + '\n')
      return
    }
    print('ID                                    STATUS   ROLE    USER  EXPIRES  LAST USED  NAME\n')
    for (const t of list) {
      print(
        `${t.id}  ${t.status.padEnd(7)}  ${t.role.padEnd(6)}  ${printable(t.userId)}  ${isoTime(t.expiresAt)}  ${isoTime(t.lastUsedAt)}  ${printable(t.name)}\n`,
      )
    }
  })

  apiOptions(
    tokens
      .command('revoke')
      .description('revoke a token at once (an administrator any, anyone else its own)')
      .argument('<id>', 'the token id (from tokens list)'),
  ).action(async (id: string, options: ApiOptions) => {
    const revoked = await withClient(options, (client) => client.revokeToken(id))
    printError(`token ${revoked.id} of ${printable(revoked.userId)} revoked at ${isoTime(revoked.revokedAt)}\n`)
  })
}
