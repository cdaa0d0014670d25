import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { caseway, lines, openssl } from '../support/cli.ts'

const root = t.testdir()
const dir = join(root, 'org')
const init = await caseway(['certs', 'init-org', '--org', 'metro-pd', '--name', 'Metro PD', '--host', 'node.metro.example', '--host', '10.1.2.3', '--out', dir])
const file = (name: string) => join(dir, name)
const mode = (path: string) => statSync(path).mode & 0o777

/** `openssl x509 -text` of a file. */
async function text(name: string): Promise<string> {
  const result = await openssl(['x509', '-in', file(name), '-noout', '-text'])
  if (result.code !== 0) throw new Error(result.stderr)
  return result.stdout
}

/** One X509v3 extension from `openssl x509 -text`: whether it is critical, and its value line. */
function extension(output: string, name: string): { critical: boolean; value: string } | undefined {
  const match = new RegExp(`X509v3 ${name}:( critical)?\\s*\\n\\s*(.*)`).exec(output)
  return match === null ? undefined : { critical: match[1] !== undefined, value: match[2]!.trim() }
}

async function serial(name: string): Promise<string> {
  return (await openssl(['x509', '-in', file(name), '-noout', '-serial'])).stdout.trim()
}

async function opensslFingerprint(name: string): Promise<string> {
  const output = (await openssl(['x509', '-in', file(name), '-noout', '-fingerprint', '-sha256'])).stdout
  return 'sha256:' + output.trim().split('=')[1]!.replaceAll(':', '').toLowerCase()
}

// spec: CW-ID-005
t.test('init-org writes every file, keys 0600 in a 0700 directory', async (t) => {
  t.equal(init.code, 0, init.stderr)
  t.equal(init.stderr, '')
  t.equal(mode(dir), 0o700)
  for (const name of ['ca.key', 'node.key', 'signing.key']) t.equal(mode(file(name)), 0o600, name)
  for (const name of ['ca.crt', 'node.crt', 'signing.crt', 'partner-bundle.json']) t.equal(mode(file(name)), 0o644, name)
  t.match(init.stdout, /^org +metro-pd$/m)
  t.match(init.stdout, new RegExp(`^fingerprint +${await opensslFingerprint('ca.crt')}$`, 'm'))
  const bundle = JSON.parse(readFileSync(file('partner-bundle.json'), 'utf8'))
  t.equal(bundle.endpoint, 'https://node.metro.example:8443')
  t.equal(bundle.caFingerprint, await opensslFingerprint('ca.crt'))
})

// spec: CW-ID-001, CW-ID-003, CW-ID-004
t.test('OpenSSL verifies the node and signing certificates against the CA, each for its purpose only', async (t) => {
  const ca = ['-CAfile', file('ca.crt')]
  t.equal((await openssl(['verify', ...ca, file('node.crt')])).code, 0, 'node.crt')
  t.equal((await openssl(['verify', ...ca, file('signing.crt')])).code, 0, 'signing.crt')
  t.equal((await openssl(['verify', '-purpose', 'sslserver', ...ca, file('node.crt')])).code, 0, 'node.crt as TLS server')
  t.equal((await openssl(['verify', '-purpose', 'sslclient', ...ca, file('node.crt')])).code, 0, 'node.crt as TLS client')
  t.not((await openssl(['verify', '-purpose', 'sslserver', ...ca, file('signing.crt')])).code, 0, 'signing.crt is no TLS server')
  t.not((await openssl(['verify', '-purpose', 'sslclient', ...ca, file('signing.crt')])).code, 0, 'signing.crt is no TLS client')
  t.not((await openssl(['verify', '-CAfile', file('node.crt'), file('signing.crt')])).code, 0, 'the node certificate is no CA')
})

// spec: CW-ID-001, CW-ID-002
t.test('the CA profile as OpenSSL reads it', async (t) => {
  const output = await text('ca.crt')
  t.same(extension(output, 'Basic Constraints'), { critical: true, value: 'CA:TRUE, pathlen:0' })
  t.same(extension(output, 'Key Usage'), { critical: true, value: 'Certificate Sign, CRL Sign' })
  t.same(extension(output, 'Subject Alternative Name'), { critical: false, value: 'URI:urn:caseway:org:metro-pd' })
  t.equal(extension(output, 'Extended Key Usage'), undefined)
  t.match(output, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/)
})

// spec: CW-ID-002, CW-ID-003
t.test('the node TLS profile as OpenSSL reads it', async (t) => {
  const output = await text('node.crt')
  t.same(extension(output, 'Basic Constraints'), { critical: true, value: 'CA:FALSE' })
  t.same(extension(output, 'Key Usage'), { critical: true, value: 'Digital Signature' })
  t.equal(extension(output, 'Extended Key Usage')?.value, 'TLS Web Server Authentication, TLS Web Client Authentication')
  t.equal(extension(output, 'Subject Alternative Name')?.value, 'URI:urn:caseway:org:metro-pd, DNS:node.metro.example, IP Address:10.1.2.3')
})

// spec: CW-ID-002, CW-ID-004
t.test('the signing profile as OpenSSL reads it: documentSigning, never TLS', async (t) => {
  const output = await text('signing.crt')
  t.same(extension(output, 'Basic Constraints'), { critical: true, value: 'CA:FALSE' })
  t.same(extension(output, 'Key Usage'), { critical: true, value: 'Digital Signature' })
  t.match(extension(output, 'Extended Key Usage')?.value, /^(?:1\.3\.6\.1\.5\.5\.7\.3\.36|Document Signing)$/)
  t.notMatch(output, /TLS Web/)
  t.equal(extension(output, 'Subject Alternative Name')?.value, 'URI:urn:caseway:org:metro-pd')
})

// spec: CW-TRUST-001, CW-ID-006
t.test('inspect prints the org id and the fingerprint OpenSSL computes', async (t) => {
  const result = await caseway(['certs', 'inspect', dir])
  t.equal(result.code, 0, result.stderr)
  for (const name of ['ca.crt', 'node.crt', 'signing.crt']) {
    t.match(result.stdout, new RegExp(`^${file(name).replaceAll('.', '\\.')}\\n(?:  .*\\n)*?  fingerprint +${await opensslFingerprint(name)}$`, 'm'), name)
  }
  t.equal(result.stdout.match(/^ {2}org +metro-pd$/gm)?.length, 3)
  t.match(result.stdout, /^ {2}extended key usage +serverAuth, clientAuth$/m)
  t.match(result.stdout, /^ {2}extended key usage +documentSigning$/m)

  const json = await caseway(['certs', 'inspect', file('node.crt'), '--json'])
  t.equal(json.code, 0)
  const [inspected] = JSON.parse(json.stdout)
  t.equal(inspected.certificates[0].org, 'metro-pd')
  t.equal(inspected.certificates[0].fingerprint, await opensslFingerprint('node.crt'))
  t.same(inspected.certificates[0].subjectAltNames, { uris: ['urn:caseway:org:metro-pd'], dns: ['node.metro.example'], ips: ['10.1.2.3'], other: [] })

  const key = await caseway(['certs', 'inspect', file('ca.key')])
  t.equal(key.code, 1)
  t.match(key.stderr, /^caseway: CW_CERTS_NO_CERTIFICATE: /)
})

// spec: CW-ID-003, CW-ID-004, CW-ID-005
t.test('issue-node and issue-signing renew from the same CA, only with --force while the leaf is fresh', async (t) => {
  const before = { node: await serial('node.crt'), signing: await serial('signing.crt') }
  for (const command of ['issue-node', 'issue-signing']) {
    const refused = await caseway(['certs', command, '--dir', dir])
    t.equal(refused.code, 1, `${command} without --force`)
    t.match(refused.stderr, /^caseway: CW_CERTS_STILL_VALID: [^\n]*\n$/)
  }
  t.same({ node: await serial('node.crt'), signing: await serial('signing.crt') }, before, 'untouched')

  const node = await caseway(['certs', 'issue-node', '--dir', dir, '--force'])
  t.equal(node.code, 0, node.stderr)
  const signing = await caseway(['certs', 'issue-signing', '--dir', dir, '--force', '--validity-days', '20'])
  t.equal(signing.code, 0, signing.stderr)
  t.not(await serial('node.crt'), before.node)
  t.not(await serial('signing.crt'), before.signing)
  t.equal((await openssl(['verify', '-purpose', 'sslserver', '-CAfile', file('ca.crt'), file('node.crt')])).code, 0)
  t.equal((await openssl(['verify', '-CAfile', file('ca.crt'), file('signing.crt')])).code, 0)
  t.equal(extension(await text('node.crt'), 'Subject Alternative Name')?.value, 'URI:urn:caseway:org:metro-pd, DNS:node.metro.example, IP Address:10.1.2.3')
  t.equal(mode(file('node.key')), 0o600)
  t.equal(mode(file('signing.key')), 0o600)

  // 20 days left: inside the renewal window, so no --force needed.
  const again = await caseway(['certs', 'issue-signing', '--dir', dir])
  t.equal(again.code, 0, again.stderr)
  t.equal((await openssl(['verify', '-CAfile', file('ca.crt'), file('signing.crt')])).code, 0)
})

// spec: CW-ID-005
t.test('init-org refuses to overwrite keys without --force and replaces them with it', async (t) => {
  const other = join(root, 'again')
  const first = await caseway(['certs', 'init-org', '--org', 'county-da', '--name', 'County DA', '--host', 'da.example', '--out', other])
  t.equal(first.code, 0, first.stderr)
  const key = readFileSync(join(other, 'ca.key'), 'utf8')
  const refused = await caseway(['certs', 'init-org', '--org', 'county-da', '--name', 'County DA', '--host', 'da.example', '--out', other])
  t.equal(refused.code, 1)
  t.equal(lines(refused.stderr).length, 1)
  t.match(refused.stderr, /^caseway: CW_CERTS_FILE_EXISTS: /)
  t.equal(readFileSync(join(other, 'ca.key'), 'utf8'), key, 'the CA key is untouched')
  const forced = await caseway(['certs', 'init-org', '--org', 'county-da', '--name', 'County DA', '--host', 'da.example', '--out', other, '--force'])
  t.equal(forced.code, 0, forced.stderr)
  t.not(readFileSync(join(other, 'ca.key'), 'utf8'), key)
  t.equal(mode(join(other, 'ca.key')), 0o600)
  t.equal((await openssl(['verify', '-CAfile', join(other, 'ca.crt'), join(other, 'node.crt')])).code, 0)
})

t.test('certs commands take a node directory as --dir: its PKI is where caseway.json says', async (t) => {
  const nodeDir = join(root, 'node')
  const made = await caseway(['init', '--org', 'river-pd', '--name', 'River PD', '--dir', nodeDir])
  t.equal(made.code, 0, made.stderr)
  const result = await caseway(['certs', 'inspect', '--dir', nodeDir, '--json'])
  t.equal(result.code, 0, result.stderr)
  const inspected = JSON.parse(result.stdout) as { path: string; certificates: { org: string }[] }[]
  t.same(inspected.map((entry) => entry.path.slice(nodeDir.length + 1)).sort(), ['pki/ca.crt', 'pki/node.crt', 'pki/signing.crt'])
  t.ok(inspected.every((entry) => entry.certificates[0]?.org === 'river-pd'))

  const signing = join(nodeDir, 'pki', 'signing.crt')
  const before = readFileSync(signing, 'utf8')
  const renewed = await caseway(['certs', 'issue-signing', '--dir', nodeDir, '--force'])
  t.equal(renewed.code, 0, renewed.stderr)
  t.not(readFileSync(signing, 'utf8'), before, "the node's signing certificate was renewed in its PKI directory")

  const both = await caseway(['certs', 'inspect', dir, '--dir', nodeDir])
  t.equal(both.code, 2)
  t.match(both.stderr, /^caseway: give either a path or --dir, not both/)
})
