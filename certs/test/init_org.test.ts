import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { x509 } from '#protocol/x509'
import { checkPartnerBundle, OID, orgUri } from '#protocol'
import { initOrg, INIT_ORG_FILES } from '../src/init_org.ts'

const mode = (path: string) => statSync(path).mode & 0o777
const read = (dir: string, file: string) => new x509.X509Certificate(readFileSync(join(dir, file), 'utf8'))
const options = { org: 'metro-pd', name: 'Metro PD', hosts: ['Node.Metro.Example', '10.1.2.3'] }

// spec: CW-ID-001, CW-ID-002, CW-ID-003, CW-ID-004, CW-ID-005
t.test('writes the CA, node and signing certificates, their keys 0600 and the bundle', async (t) => {
  const out = join(t.testdir(), 'org')
  const result = await initOrg({ ...options, out })
  t.same(readdirSync(out).sort(), [...INIT_ORG_FILES].sort())
  t.equal(mode(out), 0o700)
  for (const file of INIT_ORG_FILES) t.equal(mode(join(out, file)), file.endsWith('.key') ? 0o600 : 0o644, file)

  const ca = read(out, 'ca.crt')
  const node = read(out, 'node.crt')
  const signing = read(out, 'signing.crt')
  t.ok(await ca.isSelfSigned(), 'CA self-signed')
  t.ok(await node.verify({ publicKey: ca.publicKey, signatureOnly: true }), 'node.crt issued by the CA')
  t.ok(await signing.verify({ publicKey: ca.publicKey, signatureOnly: true }), 'signing.crt issued by the CA')
  const names = (cert: x509.X509Certificate) => cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => `${n.type}:${n.value}`)
  t.same(names(ca), [`url:${orgUri('metro-pd')}`])
  t.same(names(node), [`url:${orgUri('metro-pd')}`, 'dns:node.metro.example', 'ip:10.1.2.3'], 'DNS names lower-cased')
  t.same(names(signing), [`url:${orgUri('metro-pd')}`])
  t.same(node.getExtension(x509.ExtendedKeyUsageExtension)!.usages, [OID.serverAuth, OID.clientAuth])
  t.same(signing.getExtension(x509.ExtendedKeyUsageExtension)!.usages, [OID.documentSigning])

  const bundle = JSON.parse(readFileSync(join(out, 'partner-bundle.json'), 'utf8'))
  t.same(bundle, result.bundle)
  t.equal(bundle.endpoint, 'https://node.metro.example:8443', 'default endpoint on the first host')
  t.same(checkPartnerBundle(bundle, { fingerprint: result.bundle.caFingerprint }), bundle)
})

// spec: CW-ID-005
t.test('refuses to replace any existing file unless forced', async (t) => {
  const root = t.testdir()
  for (const file of INIT_ORG_FILES) {
    const out = join(root, `only-${file}`)
    mkdirSync(out)
    writeFileSync(join(out, file), 'kept\n')
    await t.rejects(initOrg({ ...options, out }), { code: 'CW_CERTS_FILE_EXISTS' }, `${file} present`)
    t.same(readdirSync(out), [file], `${file}: nothing else written`)
    t.equal(readFileSync(join(out, file), 'utf8'), 'kept\n', `${file}: untouched`)
  }

  const dir = join(root, 'org')
  await initOrg({ ...options, out: dir })
  const key = readFileSync(join(dir, 'ca.key'), 'utf8')
  await t.rejects(initOrg({ ...options, out: dir }), { code: 'CW_CERTS_FILE_EXISTS' })
  t.equal(readFileSync(join(dir, 'ca.key'), 'utf8'), key, 'the CA key is untouched')
  const result = await initOrg({ ...options, out: dir, force: true })
  t.not(readFileSync(join(dir, 'ca.key'), 'utf8'), key, 'forced: a new CA key')
  t.equal(mode(join(dir, 'ca.key')), 0o600)
  t.equal(JSON.parse(readFileSync(join(dir, 'partner-bundle.json'), 'utf8')).caFingerprint, result.bundle.caFingerprint)
})

t.test('bad options are TypeErrors and write nothing', async (t) => {
  const root = t.testdir()
  const bad: Record<string, object> = {
    'org id with upper case': { org: 'Metro' },
    'org id with a trailing hyphen': { org: 'metro-' },
    'no host': { hosts: [] },
    'a host with an underscore': { hosts: ['node_1.example'] },
    'an http endpoint': { endpoint: 'http://node.metro.example:8443' },
    'an endpoint with a query': { endpoint: 'https://node.metro.example:8443/?x=1' },
    'zero validity days': { validityDays: 0 },
    'fractional CA validity': { caValidityDays: 1.5 },
    'an empty name': { name: ' ' },
  }
  for (const [what, override] of Object.entries(bad)) {
    const out = join(root, what.replaceAll(' ', '-'))
    await t.rejects(initOrg({ ...options, out, ...override }), TypeError, what)
    t.notOk(existsSync(out), `${what}: nothing written`)
  }
})

t.test('leaf certificates never outlive the CA', async (t) => {
  const out = join(t.testdir(), 'org')
  const now = new Date('2030-01-01T00:00:00Z')
  await initOrg({ ...options, out, now, caValidityDays: 30, validityDays: 397, endpoint: 'https://gw.metro.example' })
  const ca = read(out, 'ca.crt')
  t.equal(read(out, 'node.crt').notAfter.getTime(), ca.notAfter.getTime())
  t.equal(read(out, 'signing.crt').notAfter.getTime(), ca.notAfter.getTime())
  t.equal(JSON.parse(readFileSync(join(out, 'partner-bundle.json'), 'utf8')).endpoint, 'https://gw.metro.example')
})
