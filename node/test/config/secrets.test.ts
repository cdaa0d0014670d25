/**
 * Secrets in caseway.json (issue 11, finding 10): inline only in a file no other user can
 * read; otherwise from a 0600 file or the environment. Messages name the key, never the value.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, parseConfig } from '../../src/config/load.ts'

const base = { org: 'county-da', name: 'County DA', federation: { port: 0, publicUrl: 'https://county-da.test' }, local: { port: 0 } }
const smtp = { host: 'smtp.example', port: 587, from: 'caseway@county-da.example', user: 'caseway' }
const PASSWORD = 'smtp-pass-Zq8-never-shown'
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdefghij-never-shown'

/** A node directory whose caseway.json (mode `mode`) holds `notifications`. */
async function nodeDir(t: { testdir(): string }, notifications: unknown, mode: number): Promise<string> {
  const dir = t.testdir()
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'caseway.json')
  await writeFile(file, JSON.stringify({ ...base, notifications }))
  await chmod(file, mode)
  return dir
}

async function secretFile(dir: string, name: string, value: string, mode: number): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, value)
  await chmod(file, mode)
  return file
}

// spec: CW-LOC-013
t.test('a caseway.json other users can read must not hold a secret inline: the message names file, key and fix', async (t) => {
  for (const mode of [0o644, 0o640, 0o604]) {
    const dir = await nodeDir(t, { smtp: { ...smtp, password: PASSWORD }, webhook: { url: 'https://hooks.example/in', secret: WEBHOOK_SECRET } }, mode)
    const error = await loadConfig(dir).then(
      () => undefined,
      (err: Error) => err,
    )
    t.ok(error, `mode ${mode.toString(8)} refused`)
    t.equal(error?.name, 'ConfigError')
    t.match(error?.message, join(dir, 'caseway.json'))
    t.match(error?.message, /notifications\.smtp\.password and notifications\.webhook\.secret inline/)
    t.match(error?.message, /chmod 600 .*\{"file": .*\{"env": /)
    t.notMatch(error?.message, PASSWORD)
    t.notMatch(error?.message, WEBHOOK_SECRET)
  }
  const owner = await nodeDir(t, { smtp: { ...smtp, password: PASSWORD } }, 0o600)
  t.equal((await loadConfig(owner)).notifications.smtp?.password, PASSWORD, 'a 0600 file may hold it inline')
  const noSecret = await nodeDir(t, { smtp: { host: 'smtp.example', port: 25, from: 'caseway@county-da.example' } }, 0o644)
  t.ok(await loadConfig(noSecret), 'a readable file without secrets is fine')
})

// spec: CW-LOC-013
t.test('secrets from a file (owner-only, relative to the node directory) or from the environment', async (t) => {
  const dir = t.testdir()
  await secretFile(dir, 'smtp.password', PASSWORD + '\n', 0o600)
  const config = parseConfig(
    {
      ...base,
      notifications: { smtp: { ...smtp, password: { file: 'smtp.password' } }, webhook: { url: 'https://hooks.example/in', secret: { env: 'CW_TEST_HOOK' } } },
    },
    dir,
    { CW_TEST_HOOK: WEBHOOK_SECRET },
  )
  t.equal(config.notifications.smtp?.password, PASSWORD, 'the final newline is not part of it')
  t.equal(config.notifications.webhook?.secret, WEBHOOK_SECRET)

  const readable = await secretFile(dir, 'open.password', PASSWORD, 0o644)
  const refusals: Array<[unknown, NodeJS.ProcessEnv, RegExp]> = [
    [
      { smtp: { ...smtp, password: { file: readable } } },
      {},
      /notifications\.smtp\.password: the secret file .*open\.password is readable by other users \(mode 644\): chmod 600/,
    ],
    [{ smtp: { ...smtp, password: { file: 'missing' } } }, {}, /notifications\.smtp\.password: cannot read the secret file/],
    [{ smtp: { ...smtp, password: { env: 'CW_TEST_UNSET' } } }, {}, /notifications\.smtp\.password: the environment variable CW_TEST_UNSET is not set/],
    [
      { webhook: { url: 'https://hooks.example/in', secret: { env: 'CW_TEST_SHORT' } } },
      { CW_TEST_SHORT: 'short' },
      /notifications\.webhook\.secret: must have at least 32/,
    ],
    [{ smtp: { ...smtp, password: { file: 'a', env: 'B' } } }, {}, /notifications\.smtp\.password/],
  ]
  for (const [notifications, env, message] of refusals) {
    t.throws(() => parseConfig({ ...base, notifications }, dir, env), { name: 'ConfigError', message }, String(message))
  }
  const withValue = { ...base, notifications: { webhook: { url: 'https://hooks.example/in', secret: { env: 'CW_TEST_SHORT' } } } }
  const message = (() => {
    try {
      parseConfig(withValue, dir, { CW_TEST_SHORT: 'short-value-never-shown' })
      return ''
    } catch (err) {
      return (err as Error).message
    }
  })()
  t.notMatch(message, 'short-value-never-shown', 'no message carries the value')
})
