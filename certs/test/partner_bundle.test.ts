import { unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { checkPartnerBundle } from '#protocol'
import { initOrg } from '../src/init_org.ts'
import { exportPartnerBundle, readPartnerBundleFile, MAX_BUNDLE_FILE_BYTES } from '../src/partner_bundle.ts'

// spec: CW-TRUST-001
t.test('exports the bundle from ca.crt alone, endpoint from partner-bundle.json, node.crt or the caller', async (t) => {
  const out = join(t.testdir(), 'org')
  const init = await initOrg({ org: 'metro-pd', name: 'Metro PD', hosts: ['node.metro.example'], out, endpoint: 'https://gw.metro.example:443' })
  unlinkSync(join(out, 'ca.key')) // the CA key may be kept offline
  const bundle = await exportPartnerBundle({ dir: out })
  t.same(bundle, init.bundle)
  t.same(checkPartnerBundle(bundle, { fingerprint: init.bundle.caFingerprint }), bundle)
  t.equal((await exportPartnerBundle({ dir: out, endpoint: 'https://other.example' })).endpoint, 'https://other.example')
  unlinkSync(join(out, 'partner-bundle.json'))
  t.equal((await exportPartnerBundle({ dir: out })).endpoint, 'https://node.metro.example:8443')
  unlinkSync(join(out, 'node.crt'))
  await t.rejects(exportPartnerBundle({ dir: out }), TypeError)
  await t.rejects(exportPartnerBundle({ dir: out, endpoint: 'ftp://x' }), TypeError)
})

t.test('reading a bundle file: not JSON is CW_ERR_MALFORMED, oversized is CW_ERR_TOO_LARGE', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"cwv":', 'big.json': ' '.repeat(MAX_BUNDLE_FILE_BYTES + 1), 'ok.json': '{"a":1}' })
  await t.rejects(readPartnerBundleFile(join(dir, 'bad.json')), { code: 'CW_ERR_MALFORMED' })
  await t.rejects(readPartnerBundleFile(join(dir, 'big.json')), { code: 'CW_ERR_TOO_LARGE' })
  t.same(await readPartnerBundleFile(join(dir, 'ok.json')), { a: 1 })
  writeFileSync(join(dir, 'ok.json'), '[]')
  t.same(await readPartnerBundleFile(join(dir, 'ok.json')), [])
})
