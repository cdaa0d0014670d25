import { readdirSync, readFileSync, statSync, writeFileSync, copyFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ensureOrgDir, readOrgDir, writeKeyFile, writePublicFile, ORG_FILES } from '../src/files.ts'
import { initOrg } from '../src/init_org.ts'

const mode = (path: string) => statSync(path).mode & 0o777

// spec: CW-ID-005
t.test('writeKeyFile writes mode 0600 whatever the umask, replacing a readable file', async (t) => {
  const dir = t.testdir({ 'node.key': 'old key\n' })
  const path = join(dir, 'node.key')
  t.equal(mode(path) & 0o044, 0o044, 'the fixture starts group/world readable')
  const previous = process.umask(0)
  try {
    await writeKeyFile(path, 'new key\n')
  } finally {
    process.umask(previous)
  }
  t.equal(mode(path), 0o600)
  t.equal(readFileSync(path, 'utf8'), 'new key\n')
  t.same(readdirSync(dir), ['node.key'], 'no temporary file left behind')
})

t.test('writePublicFile writes mode 0644 atomically', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'ca.crt')
  await writePublicFile(path, 'one\n')
  await writePublicFile(path, 'two\n')
  t.equal(mode(path), 0o644)
  t.equal(readFileSync(path, 'utf8'), 'two\n')
  t.same(readdirSync(dir), ['ca.crt'])
})

// spec: CW-ID-005
t.test('ensureOrgDir creates a new directory 0700', async (t) => {
  const dir = join(t.testdir(), 'a', 'org')
  await ensureOrgDir(dir)
  t.equal(mode(dir), 0o700)
})

t.test('readOrgDir reads the org and name from the CA and refuses keys that do not belong', async (t) => {
  const root = t.testdir()
  const one = join(root, 'one')
  const two = join(root, 'two')
  await initOrg({ org: 'metro-pd', name: 'Metro, PD', hosts: ['node.metro.example'], out: one })
  await initOrg({ org: 'county-da', name: 'County DA', hosts: ['node.county.example'], out: two })

  const orgCa = await readOrgDir(one)
  t.equal(orgCa.org, 'metro-pd')
  t.equal(orgCa.name, 'Metro, PD')

  copyFileSync(join(two, ORG_FILES.caKey), join(one, ORG_FILES.caKey))
  await t.rejects(readOrgDir(one), { code: 'CW_CERTS_ORG_DIR_INVALID' }, "another organization's CA key")
  writeFileSync(join(one, ORG_FILES.caKey), 'not a key\n')
  await t.rejects(readOrgDir(one), { code: 'CW_CERTS_ORG_DIR_INVALID' }, 'not a key')
  unlinkSync(join(one, ORG_FILES.caKey))
  await t.rejects(readOrgDir(one), { code: 'CW_CERTS_ORG_DIR_INVALID' }, 'key missing')
  copyFileSync(join(two, ORG_FILES.nodeCertificate), join(two, ORG_FILES.caCertificate))
  await t.rejects(readOrgDir(two), { code: 'CW_CERTS_ORG_DIR_INVALID' }, 'ca.crt is a leaf')
  await t.rejects(readOrgDir(join(root, 'missing')), { code: 'CW_CERTS_ORG_DIR_INVALID' })
})
