/**
 * The offline CA workflow: `caseway certs csr` on a node whose directory holds no `ca.key`,
 * `caseway certs sign` where the CA key lives, `caseway certs install` on the node.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { verifyChain } from '#protocol'
import { x509 } from '#protocol/x509'
import { caseway } from '../support/cli.ts'

const root = t.testdir()
const caDir = join(root, 'ca-vault')
const nodeDir = join(root, 'node-pki')
const init = await caseway(['certs', 'init-org', '--org', 'metro-pd', '--name', 'Metro PD', '--host', 'node.metro.example', '--out', caDir])
// The node keeps the CA certificate only; the CA key stays in the vault.
mkdirSync(nodeDir, { mode: 0o700 })
for (const name of ['ca.crt', 'node.crt', 'node.key', 'signing.crt', 'signing.key']) copyFileSync(join(caDir, name), join(nodeDir, name))
const anchor = { certificate: readFileSync(join(caDir, 'ca.crt'), 'utf8'), org: 'metro-pd' }
const x5c = (pem: string) => [Buffer.from(new x509.X509Certificate(pem).rawData).toString('base64')]

t.test('a node certificate travels as a request and a certificate; the key never leaves the node', async (t) => {
  t.equal(init.code, 0, init.stderr)
  t.notOk(existsSync(join(nodeDir, 'ca.key')))
  const csr = await caseway(['certs', 'csr', '--dir', nodeDir, '--kind', 'node', '--host', 'node2.metro.example', '--host', '10.9.8.7'])
  t.equal(csr.code, 0, csr.stderr)
  t.equal(statSync(join(nodeDir, 'node.key.pending')).mode & 0o777, 0o600, 'the pending key is private')
  t.match(readFileSync(join(nodeDir, 'node.csr'), 'utf8'), /BEGIN CERTIFICATE REQUEST/)
  t.notMatch(readFileSync(join(nodeDir, 'node.csr'), 'utf8'), /PRIVATE KEY/)

  const signed = join(root, 'node.crt.signed')
  const sign = await caseway(['certs', 'sign', '--ca-dir', caDir, '--csr', join(nodeDir, 'node.csr'), '--kind', 'node', '--out', signed])
  t.equal(sign.code, 0, sign.stderr)
  const certificate = readFileSync(signed, 'utf8')
  const verified = verifyChain(x5c(certificate), [anchor], { usage: 'tls', currentDate: new Date() })
  t.equal(verified.org, 'metro-pd', 'the TLS profile, for the CA organization')
  const hosts = verified.certificate.toString()

  const before = readFileSync(join(nodeDir, 'node.crt'), 'utf8')
  const install = await caseway(['certs', 'install', '--dir', nodeDir, '--kind', 'node', '--cert', signed])
  t.equal(install.code, 0, install.stderr)
  t.not(readFileSync(join(nodeDir, 'node.crt'), 'utf8'), before)
  t.notOk(existsSync(join(nodeDir, 'node.key.pending')), 'the pending key is now node.key')
  t.equal(statSync(join(nodeDir, 'node.key')).mode & 0o777, 0o600)
  t.ok(hosts.length > 0)
  const san = new x509.X509Certificate(readFileSync(join(nodeDir, 'node.crt'), 'utf8')).getExtension(x509.SubjectAlternativeNameExtension)
  t.same(
    san?.names.items.filter((name) => name.type !== 'url').map((name) => name.value),
    ['node2.metro.example', '10.9.8.7'],
  )
})

t.test('a signing certificate: the signing profile, never TLS', async (t) => {
  t.equal((await caseway(['certs', 'csr', '--dir', nodeDir, '--kind', 'signing'])).code, 0)
  const signed = join(root, 'signing.crt.signed')
  t.equal((await caseway(['certs', 'sign', '--ca-dir', caDir, '--csr', join(nodeDir, 'signing.csr'), '--kind', 'signing', '--out', signed])).code, 0)
  const certificate = readFileSync(signed, 'utf8')
  t.equal(verifyChain(x5c(certificate), [anchor], { usage: 'signing', currentDate: new Date() }).org, 'metro-pd')
  t.throws(() => verifyChain(x5c(certificate), [anchor], { usage: 'tls', currentDate: new Date() }))
  const install = await caseway(['certs', 'install', '--dir', nodeDir, '--kind', 'signing', '--cert', signed])
  t.equal(install.code, 0, install.stderr)
})

t.test('install refuses a certificate for another key, from another CA, or of the wrong kind', async (t) => {
  t.equal((await caseway(['certs', 'csr', '--dir', nodeDir, '--kind', 'node', '--host', 'node3.metro.example'])).code, 0)
  const first = join(root, 'first.csr')
  renameSync(join(nodeDir, 'node.csr'), first)
  // A second request replaces the pending key: the certificate for the first no longer fits.
  t.equal((await caseway(['certs', 'csr', '--dir', nodeDir, '--kind', 'node', '--host', 'node3.metro.example'])).code, 0)
  const stale = join(root, 'stale.crt')
  t.equal((await caseway(['certs', 'sign', '--ca-dir', caDir, '--csr', first, '--kind', 'node', '--out', stale])).code, 0)
  const wrongKey = await caseway(['certs', 'install', '--dir', nodeDir, '--kind', 'node', '--cert', stale])
  t.not(wrongKey.code, 0)
  t.match(wrongKey.stderr, /CW_CERTS_REQUEST_INVALID.*pending key/)

  const otherCa = join(root, 'other-ca')
  t.equal((await caseway(['certs', 'init-org', '--org', 'mallory', '--name', 'Mallory', '--host', 'm.example', '--out', otherCa])).code, 0)
  const foreign = join(root, 'foreign.crt')
  t.equal((await caseway(['certs', 'sign', '--ca-dir', otherCa, '--csr', join(nodeDir, 'node.csr'), '--kind', 'node', '--out', foreign])).code, 0)
  const refused = await caseway(['certs', 'install', '--dir', nodeDir, '--kind', 'node', '--cert', foreign])
  t.not(refused.code, 0)
  t.match(refused.stderr, /CW_CERTS_REQUEST_INVALID/)

  const asSigning = join(root, 'as-signing.crt')
  t.equal((await caseway(['certs', 'sign', '--ca-dir', caDir, '--csr', join(nodeDir, 'node.csr'), '--kind', 'signing', '--out', asSigning])).code, 0)
  const wrongKind = await caseway(['certs', 'install', '--dir', nodeDir, '--kind', 'node', '--cert', asSigning])
  t.not(wrongKind.code, 0, 'a signing certificate is not installed as the TLS certificate')

  const tampered = join(root, 'tampered.csr')
  const pem = readFileSync(join(nodeDir, 'node.csr'), 'utf8')
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
  der[40] = der[40]! ^ 1
  writeFileSync(tampered, `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`)
  const bad = await caseway(['certs', 'sign', '--ca-dir', caDir, '--csr', tampered, '--kind', 'node', '--out', join(root, 'never.crt')])
  t.not(bad.code, 0, 'a request not signed by its own key is refused')
  t.notOk(existsSync(join(root, 'never.crt')))
})

t.test('init --offline-ca leaves no CA key in the node folder, and the workflow runs from there', async (t) => {
  const node = join(root, 'offline-node')
  const vault = join(root, 'offline-vault')
  const created = await caseway([
    'init',
    '--org',
    'county-da',
    '--name',
    'County DA',
    '--dir',
    node,
    '--offline-ca',
    vault,
    '--local-port',
    '0',
    '--federation-port',
    '0',
  ])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /CA key\s+moved to/)
  t.notOk(existsSync(join(node, 'pki', 'ca.key')), 'no ca.key in the node folder')
  t.ok(existsSync(join(node, 'pki', 'ca.crt')))
  t.equal(statSync(join(vault, 'ca.key')).mode & 0o777, 0o600)
  t.equal((await caseway(['certs', 'csr', '--dir', join(node, 'pki'), '--kind', 'signing'])).code, 0)
  const signed = join(root, 'county-signing.crt')
  t.equal((await caseway(['certs', 'sign', '--ca-dir', vault, '--csr', join(node, 'pki', 'signing.csr'), '--kind', 'signing', '--out', signed])).code, 0)
  const installed = await caseway(['certs', 'install', '--dir', join(node, 'pki'), '--kind', 'signing', '--cert', signed])
  t.equal(installed.code, 0, installed.stderr)
})
