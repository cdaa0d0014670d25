import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { certificateFingerprint } from '#protocol'
import { caseway, lines, openssl } from '../support/cli.ts'

const root = t.testdir()
const dir = join(root, 'org')
const init = await caseway(['certs', 'init-org', '--org', 'metro-pd', '--name', 'Metro PD', '--host', 'node.metro.example', '--out', dir])
if (init.code !== 0) throw new Error(init.stderr)
const bundle = JSON.parse(readFileSync(join(dir, 'partner-bundle.json'), 'utf8')) as Record<string, string>
/** The fingerprint as `openssl x509 -fingerprint -sha256` prints it: `AB:CD:…`. */
const opensslForm = (await openssl(['x509', '-in', join(dir, 'ca.crt'), '-noout', '-fingerprint', '-sha256'])).stdout.trim().split('=')[1]!

function bundleFile(name: string, content: unknown): string {
  const path = join(root, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

// spec: CW-TRUST-001
t.test('partner export prints the bundle on stdout and the fingerprint on stderr', async (t) => {
  const result = await caseway(['partner', 'export', dir])
  t.equal(result.code, 0, result.stderr)
  t.same(JSON.parse(result.stdout), bundle)
  t.equal(result.stderr, `fingerprint ${bundle['caFingerprint']}\n`)
  t.equal(bundle['caFingerprint'], 'sha256:' + opensslForm.replaceAll(':', '').toLowerCase(), 'the fingerprint OpenSSL computes')

  const out = join(root, 'exported.json')
  const written = await caseway(['partner', 'export', dir, '--endpoint', 'https://gw.metro.example', '--out', out])
  t.equal(written.code, 0, written.stderr)
  t.equal(written.stdout, '')
  t.same(JSON.parse(readFileSync(out, 'utf8')), { ...bundle, endpoint: 'https://gw.metro.example' })

  const bad = await caseway(['partner', 'export', dir, '--endpoint', 'http://gw.metro.example'])
  t.equal(bad.code, 2)
  t.equal(lines(bad.stderr).length, 1)
})

// spec: CW-TRUST-002
t.test('partner check accepts the bundle with the fingerprint in the Caseway or OpenSSL form', async (t) => {
  const path = bundleFile('good.json', bundle)
  const results = await Promise.all([
    caseway(['partner', 'check', path, '--fingerprint', bundle['caFingerprint']!]),
    caseway(['partner', 'check', path, '--fingerprint', opensslForm]),
    caseway(['partner', 'check', '-', '--fingerprint', opensslForm.toLowerCase()], JSON.stringify(bundle)),
  ])
  for (const result of results) {
    t.equal(result.code, 0, result.stderr)
    t.equal(result.stdout, `ok metro-pd Metro PD ${bundle['caFingerprint']}\n`)
  }
})

t.test('partner check refuses a display name with control characters, which could forge output lines', async (t) => {
  const path = bundleFile('name.json', { ...bundle, name: 'Metro PD\nok evil-pd' })
  const result = await caseway(['partner', 'check', path, '--fingerprint', bundle['caFingerprint']!])
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, /^caseway: CW_ERR_SCHEMA_INVALID: [^\n]*\(at \/name\)\n$/)
})

// spec: CW-TRUST-002, CW-TRUST-003, CW-FMT-004
t.test('partner check refuses bad bundles with one line naming the code', async (t) => {
  const node = readFileSync(join(dir, 'node.crt'), 'utf8')
  const other = 'sha256:' + 'ab'.repeat(32)
  const cases: [string, string, string, string][] = [
    ['wrong out-of-band fingerprint', bundleFile('good.json', bundle), other, 'CW_ERR_FINGERPRINT_MISMATCH'],
    ['tampered caFingerprint', bundleFile('tampered.json', { ...bundle, caFingerprint: other }), other, 'CW_ERR_BUNDLE_INVALID'],
    ['org edited', bundleFile('org.json', { ...bundle, org: 'county-da' }), bundle['caFingerprint']!, 'CW_ERR_BUNDLE_INVALID'],
    [
      'CA replaced by a leaf certificate',
      bundleFile('leaf.json', { ...bundle, caCertificate: node, caFingerprint: certificateFingerprint(node) }),
      certificateFingerprint(node),
      'CW_ERR_BUNDLE_INVALID',
    ],
    ['extra property', bundleFile('extra.json', { ...bundle, trust: 'all' }), bundle['caFingerprint']!, 'CW_ERR_SCHEMA_INVALID'],
    ['not JSON', bundleFile('not.json', '{"cwv": "0.1",'), bundle['caFingerprint']!, 'CW_ERR_MALFORMED'],
  ]
  const results = await Promise.all(cases.map(([, path, fingerprint]) => caseway(['partner', 'check', path, '--fingerprint', fingerprint])))
  cases.forEach(([what, , , code], index) => {
    const result = results[index]!
    t.equal(result.code, 1, `${what}: exit 1`)
    t.equal(result.stdout, '', `${what}: nothing on stdout`)
    t.equal(lines(result.stderr).length, 1, `${what}: one line`)
    t.match(result.stderr, new RegExp(`^caseway: ${code}: `), `${what}: ${code}`)
  })
})
