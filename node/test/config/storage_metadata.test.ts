/**
 * `storage.metadata`: absent or `{"kind": "sqlite"}` (SQLite at storage.database, as before) or
 * `{"kind": "postgres"}`, validated with messages naming the key; the URL (it holds the
 * password) comes inline, from a 0600 file or the environment, and is never in the node's log.
 */
import { pino } from 'pino'
import t from 'tap'
import { parseConfig } from '../../src/config/load.ts'
import { LOG_REDACT } from '../../src/node.ts'
import { configFailure } from '../support/config_failure.ts'

const base = { org: 'metro-pd', name: 'Metro PD', federation: { port: 8443, publicUrl: 'https://localhost:8443' }, local: { port: 8080 } }
const URL = 'postgres://caseway:db-password-Zq7-never-shown@db.agency.internal:5432/caseway'

const failure = configFailure

t.test('absent, the metadata store is SQLite at storage.database; sqlite takes its own file', async (t) => {
  t.same(parseConfig(base, '/tmp').storage.metadata, { kind: 'sqlite', database: 'caseway.db' })
  t.same(parseConfig({ ...base, storage: { database: 'node.db' } }, '/tmp').storage.metadata, { kind: 'sqlite', database: 'node.db' })
  t.same(parseConfig({ ...base, storage: { metadata: { kind: 'sqlite', database: 'other.db' } } }, '/tmp').storage.metadata, {
    kind: 'sqlite',
    database: 'other.db',
  })
})

t.test('postgres: defaults filled in, the URL from the environment', async (t) => {
  t.same(parseConfig({ ...base, storage: { metadata: { kind: 'postgres', url: URL } } }, '/tmp').storage.metadata, {
    kind: 'postgres',
    url: URL,
    poolSize: 10,
  })
  const config = parseConfig(
    { ...base, storage: { metadata: { kind: 'postgres', url: { env: 'CASEWAY_POSTGRES_URL' }, poolSize: 4, tls: { ca: 'db-ca.pem' } } } },
    '/tmp',
    { CASEWAY_POSTGRES_URL: URL },
  )
  t.same(config.storage.metadata, { kind: 'postgres', url: URL, poolSize: 4, tls: { ca: 'db-ca.pem', rejectUnauthorized: true } })
})

t.test('a wrong metadata store is refused naming the key, never showing the URL', async (t) => {
  t.match(failure({ ...base, storage: { metadata: { kind: 'mysql' } } }).message, /storage\.metadata/)
  t.match(failure({ ...base, storage: { metadata: { kind: 'postgres' } } }).message, /storage\.metadata.*url/)
  t.match(failure({ ...base, storage: { metadata: { kind: 'postgres', url: URL, poolSize: 0 } } }).message, /poolSize/)
  const missing = failure({ ...base, storage: { metadata: { kind: 'postgres', url: { env: 'CASEWAY_POSTGRES_URL' } } } })
  t.match(missing.message, /CASEWAY_POSTGRES_URL/)
  t.notMatch(missing.message, /never-shown/)
})

t.test("the node's log never carries the URL", async (t) => {
  const lines: string[] = []
  const log = pino({ redact: LOG_REDACT }, { write: (line: string) => void lines.push(line) })
  log.info({ config: parseConfig({ ...base, storage: { metadata: { kind: 'postgres', url: URL } } }, '/tmp') }, 'configuration')
  t.notMatch(lines.join(''), /never-shown/)
})
