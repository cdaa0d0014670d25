/**
 * `storage.blobs`: a directory (every earlier configuration), `{"kind": "fs"}` or
 * `{"kind": "s3"}`, validated with messages naming the key; S3 credentials come inline, from a
 * 0600 file or the environment, and are never in a message nor in the node's log.
 */
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { loadConfig, parseConfig } from '../../src/config/load.ts'
import { LOG_REDACT } from '../../src/node.ts'
import { configFailure } from '../support/config_failure.ts'

const base = { org: 'metro-pd', name: 'Metro PD', federation: { port: 8443, publicUrl: 'https://localhost:8443' }, local: { port: 8080 } }
const SECRET = 'minio-secret-Kx9-never-shown'
const ACCESS = 'caseway-access-key'
const s3 = { kind: 's3', endpoint: 'https://minio.agency.internal:9000', bucket: 'caseway-evidence', accessKey: ACCESS, secretKey: SECRET }

const failure = configFailure

t.test('a directory, as before, is the filesystem store; so is the default', async (t) => {
  t.same(parseConfig(base, '/tmp').storage.blobs, { kind: 'fs', dir: 'blobs' })
  t.same(parseConfig({ ...base, storage: { blobs: 'evidence' } }, '/tmp').storage.blobs, { kind: 'fs', dir: 'evidence' })
  t.same(parseConfig({ ...base, storage: { blobs: { kind: 'fs' } } }, '/tmp').storage.blobs, { kind: 'fs', dir: 'blobs' })
  t.same(parseConfig({ ...base, storage: { blobs: { kind: 'fs', dir: '/srv/blobs' } } }, '/tmp').storage.blobs, { kind: 'fs', dir: '/srv/blobs' })
})

t.test('s3: defaults filled in, secrets from a file or the environment', async (t) => {
  t.same(parseConfig({ ...base, storage: { blobs: s3 } }, '/tmp').storage.blobs, { ...s3, region: 'us-east-1', prefix: '', pathStyle: true })
  const dir = t.testdir()
  await writeFile(join(dir, 's3.secret'), SECRET + '\n')
  await chmod(join(dir, 's3.secret'), 0o600)
  const config = parseConfig(
    {
      ...base,
      storage: { blobs: { ...s3, accessKey: { env: 'S3_ACCESS' }, secretKey: { file: 's3.secret' }, region: 'eu-1', prefix: 'caseway/', pathStyle: false } },
    },
    dir,
    { S3_ACCESS: ACCESS },
  )
  t.match(config.storage.blobs, { kind: 's3', accessKey: ACCESS, secretKey: SECRET, region: 'eu-1', prefix: 'caseway/', pathStyle: false })
})

t.test('bad s3 settings name the key, never a credential', async (t) => {
  const cases: [unknown, string][] = [
    [{ kind: 'nfs' }, 'invalid configuration: storage.blobs.kind: must be one of "fs", "s3"'],
    [{ dir: 'x' }, 'invalid configuration: storage.blobs.kind: missing (required)'],
    [{ ...s3, bucket: undefined }, 'invalid configuration: storage.blobs.bucket: missing (required)'],
    [{ ...s3, secretKey: undefined }, 'invalid configuration: storage.blobs.secretKey: missing (required)'],
    [{ ...s3, endpoint: 'https://minio.internal/path' }, 'invalid configuration: storage.blobs.endpoint: must match pattern'],
    [{ ...s3, endpoint: 'https://user:pw@minio.internal' }, 'invalid configuration: storage.blobs.endpoint: must match pattern'],
    [{ ...s3, bucket: 'Bad_Bucket' }, 'invalid configuration: storage.blobs.bucket: must match pattern'],
    [{ ...s3, prefix: '../x' }, 'invalid configuration: storage.blobs.prefix: must match pattern'],
    [{ ...s3, acessKey: 'typo' }, 'invalid configuration: storage.blobs: unknown field "acessKey"'],
    [{ kind: 'fs', bucket: 'b' }, 'invalid configuration: storage.blobs: unknown field "bucket"'],
    [{ ...s3, secretKey: { env: 'UNSET_S3_SECRET' } }, 'invalid configuration: storage.blobs.secretKey: the environment variable UNSET_S3_SECRET is not set'],
  ]
  for (const [blobs, message] of cases) {
    const error = failure({ ...base, storage: { blobs } })
    t.match(error.message, message, JSON.stringify(blobs))
    t.notMatch(error.message, SECRET)
  }
  t.equal(failure({ ...base, storage: { blobs: '' } }).key, 'storage.blobs')
})

t.test('a caseway.json others can read must not hold the S3 keys inline', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'caseway.json')
  await writeFile(file, JSON.stringify({ ...base, storage: { blobs: s3 } }))
  await chmod(file, 0o644)
  const error = await loadConfig(dir).then(
    () => undefined,
    (err: Error) => err,
  )
  t.match(error, { name: 'ConfigError', key: 'storage.blobs.accessKey', message: /storage\.blobs\.accessKey and storage\.blobs\.secretKey inline/ })
  t.notMatch(error?.message ?? '', SECRET)
})

t.test('the node log redacts the S3 keys wherever the configuration is logged', async (t) => {
  const lines: string[] = []
  const log = pino({ level: 'info', redact: LOG_REDACT }, { write: (line: string) => void lines.push(line) })
  const config = parseConfig({ ...base, storage: { blobs: s3 } }, '/tmp')
  log.info({ config }, 'starting')
  log.info(config.storage, 'storage')
  log.info({ blobs: config.storage.blobs }, 'blobs')
  const text = lines.join('\n')
  t.notMatch(text, SECRET)
  t.notMatch(text, ACCESS)
  t.match(text, /"secretKey":"\[Redacted\]"/)
})
