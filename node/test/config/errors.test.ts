/**
 * A bad configuration fails with one line naming the key at fault and what is wrong with it; an
 * enum lists its allowed values (issue 16, finding 9), and a file read from disk is named too.
 */
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts'

const base = { org: 'metro-pd', name: 'Metro PD', federation: { port: 8443, publicUrl: 'https://localhost:8443' }, local: { port: 8080 } }

function failure(raw: unknown): ConfigError {
  try {
    parseConfig(raw, '/tmp')
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('parseConfig accepted it')
}

t.test('an enum violation names the key and lists the allowed values', async (t) => {
  const error = failure({ ...base, log: { level: 'loud' } })
  t.equal(error.message, 'invalid configuration: log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"')
  t.equal(error.key, 'log.level')
  t.match(
    failure({ ...base, transfers: { chunkSize: 1000 } }).message,
    /^invalid configuration: transfers\.chunkSize: must be one of 65536, 131072, .*16777216$/,
  )
  t.match(
    failure({ ...base, federation: { ...base.federation, protocolVersions: ['0.9'] } }).message,
    'federation.protocolVersions.0: must be one of "0.1", "0.2"',
  )
})

t.test('a missing key is named itself, an unknown one with its section', async (t) => {
  const missing = failure({ ...base, federation: { publicUrl: 'https://localhost:8443' } })
  t.equal(missing.message, 'invalid configuration: federation.port: missing (required)')
  t.equal(missing.key, 'federation.port')
  t.equal(failure({ ...base, log: { lvl: 'info' } }).message, 'invalid configuration: log: unknown field "lvl"')
})

t.test('loadConfig names the file as well', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'caseway.json')
  await writeFile(file, JSON.stringify({ ...base, log: { level: 'loud' } }))
  await chmod(file, 0o600)
  await t.rejects(loadConfig(dir), {
    name: 'ConfigError',
    key: 'log.level',
    file,
    message: `${file}: invalid configuration: log.level: must be one of "fatal", `,
  })
})
