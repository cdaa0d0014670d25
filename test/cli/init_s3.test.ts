/**
 * `caseway init --s3-endpoint … --s3-bucket …` makes a node whose evidence lives in an S3
 * bucket (a real s3rver here): the configuration names the environment variables holding the
 * keys, never the keys; the node started from it stores uploaded evidence as objects under the
 * prefix. Without the keys in the environment, init refuses and leaves no node behind.
 */
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { LocalClient } from '../../client/local_client.ts'
import { generatedContent } from '../../testkit/content.ts'
import { freePorts, startNodeProcess } from '../../testkit/node_process.ts'
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3Server } from '../../node/test/support/s3_server.ts'
import { caseway } from '../support/cli.ts'

const KEYS = { CASEWAY_S3_ACCESS_KEY: S3RVER_ACCESS_KEY, CASEWAY_S3_SECRET_KEY: S3RVER_SECRET_KEY }

async function initArgs(dir: string, endpoint: string, bucket: string): Promise<string[]> {
  const [federationPort, localPort] = await freePorts(2)
  return [
    'init',
    ...['--org', 'metro-pd', '--name', 'Metro PD', '--dir', dir],
    ...['--federation-port', String(federationPort), '--local-port', String(localPort)],
    ...['--s3-endpoint', endpoint, '--s3-bucket', bucket, '--s3-prefix', 'metro-pd/'],
  ]
}

// spec: CW-LOC-013
t.test('init writes an S3 blob store whose keys come from the environment; evidence lands in the bucket', async (t) => {
  const s3 = await startS3Server(t)
  const dir = join(t.testdir(), 'node')
  const init = await caseway(await initArgs(dir, s3.endpoint, s3.bucket), undefined, KEYS)
  t.equal(init.code, 0, init.stderr)
  const written = await readFile(join(dir, 'caseway.json'), 'utf8')
  t.same(JSON.parse(written).storage, {
    blobs: {
      kind: 's3',
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      prefix: 'metro-pd/',
      accessKey: { env: 'CASEWAY_S3_ACCESS_KEY' },
      secretKey: { env: 'CASEWAY_S3_SECRET_KEY' },
    },
  })
  t.notMatch(written, S3RVER_SECRET_KEY, 'no key in the configuration file')

  const node = await startNodeProcess({ dir, adminToken: true, env: { ...process.env, ...KEYS } })
  t.teardown(() => node.stop('SIGKILL'))
  const api = new LocalClient({ baseUrl: node.localUrl, token: node.adminToken! })
  const theCase = await api.createCase({ caseNumber: 'MPD-1', title: 'Lobby' })
  const evidence = await api.uploadEvidence(theCase.id, { name: 'photo.jpg', category: 'photo', mediaType: 'image/jpeg' }, generatedContent(100_000, 'photo'))
  // One chunk (smaller than transfers.chunkSize): its object is named by the evidence digest.
  t.same(await s3.keys('metro-pd/'), [`metro-pd/sha256/${evidence.digest.replace(/^sha256:/, '')}`], 'the evidence is an object under the prefix')
})

t.test('init refuses an S3 store without its keys in the environment, and half an S3 option', async (t) => {
  const s3 = await startS3Server(t)
  const dir = join(t.testdir(), 'node')
  const env = { CASEWAY_S3_ACCESS_KEY: '', CASEWAY_S3_SECRET_KEY: '' }
  const missing = await caseway(await initArgs(dir, s3.endpoint, s3.bucket), undefined, env)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /storage\.blobs\.accessKey/, 'names the key that is missing')
  await t.rejects(access(join(dir, 'caseway.json')), 'no node made')

  const half = await caseway(['init', '--org', 'metro-pd', '--name', 'Metro PD', '--dir', dir, '--s3-endpoint', s3.endpoint], undefined, KEYS)
  t.not(half.code, 0)
  t.match(half.stderr, /--s3-endpoint and --s3-bucket go together/)
})
