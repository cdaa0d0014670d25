import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import { assertGrant, assertManifest, assertPartnerBundle, assertPolicy, assertReceipt, assertRevocation } from '../../src/schema/validate.ts'

const D = (c: string) => 'sha256:' + c.repeat(64)

const policy = () => ({
  id: 'pol-1',
  version: 1,
  name: 'Default',
  permissions: { view: true, download: true, import: false, applyUpdates: true, shareOnward: { allowed: true, maxDepth: 1, partners: ['da-b'] } },
  content: { caseFields: ['title'], evidenceCategories: ['video'], attachments: false },
  maxDurationSeconds: 86400,
})
const claims = () => ({ cwv: '0.1', iss: 'pd-a', aud: 'da-b', iat: 1_700_000_000, exp: 1_700_086_400, jti: 'j-1' })
const receipt = () => ({ ...claims(), share: 's-1', revision: 1, manifest: D('a'), status: 'delivered' })
const revocation = () => ({ ...claims(), share: 's-1', revokedAt: 1_700_000_000 })
const grant = () => ({ ...claims(), share: 's-1', revision: 1, originator: 'pd-a', depth: 0, policy: policy(), evidence: [D('b')] })
const bundle = () => ({
  cwv: '0.1',
  org: 'pd-a',
  name: 'PD A',
  endpoint: 'https://pd-a.example:8443',
  caCertificate: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  caFingerprint: D('c'),
})
const manifest = () => ({
  ...claims(),
  share: { id: 's-1', revision: 1, scope: 'case', live: true },
  case: { id: 'c-1', fields: { title: 'Burglary' }, folders: [{ id: 'f-1', name: 'Root' }] },
  evidence: [
    {
      id: 'e-1',
      name: 'cam.mp4',
      folder: 'f-1',
      category: 'video',
      mediaType: 'video/mp4',
      size: 1,
      digest: D('d'),
      chunkSize: 65536,
      chunks: [D('d')],
      doNotDisclose: false,
    },
  ],
  grants: ['aaa.bbb.ccc'],
})

const asserts = [
  ['partner bundle', assertPartnerBundle, bundle],
  ['policy', assertPolicy, policy],
  ['grant', assertGrant, grant],
  ['manifest', assertManifest, manifest],
  ['receipt', assertReceipt, receipt],
  ['revocation', assertRevocation, revocation],
] as const

type Json = Record<string, unknown>
const invalid = (fn: (value: unknown) => void, value: unknown, at: string) => {
  try {
    fn(value)
  } catch (error) {
    return { code: (error as { code?: unknown }).code, at: (error as { at?: unknown }).at, expected: at }
  }
  return { code: 'accepted', at: undefined, expected: at }
}

// spec: CW-FMT-004
t.test('valid objects pass', async (t) => {
  for (const [name, fn, make] of asserts) t.doesNotThrow(() => fn(make()), name)
})

// spec: CW-FMT-004
t.test('unknown properties are refused, at the property', async (t) => {
  for (const [name, fn, make] of asserts) {
    const value = { ...make(), extra: 1 }
    t.match(invalid(fn, value, '/extra'), { code: 'CW_ERR_SCHEMA_INVALID', at: '/extra' }, name)
  }
  const nested = policy() as Json
  ;(nested['permissions'] as Json)['delete'] = true
  t.match(invalid(assertPolicy, nested, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/permissions/delete' })
  const inGrant = grant()
  ;(inGrant.policy.content as Json)['raw'] = true
  t.match(invalid(assertGrant, inGrant, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/policy/content/raw' })
})

// spec: CW-FMT-004
t.test('wrong types are refused', async (t) => {
  t.match(invalid(assertReceipt, { ...receipt(), revision: '1' }, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/revision' })
  t.match(invalid(assertReceipt, { ...receipt(), iat: 1.5 }, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/iat' })
  t.match(invalid(assertRevocation, { ...revocation(), cwv: '9.9' }, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/cwv' })
  const m = manifest()
  ;(m.evidence[0] as Json)['doNotDisclose'] = 'no'
  t.match(invalid(assertManifest, m, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/evidence/0/doNotDisclose' })
  for (const [name, fn] of asserts) {
    for (const value of [null, [], 'x', 1]) t.match(invalid(fn, value, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '' }, `${name} ${JSON.stringify(value)}`)
  }
})

// spec: CW-FMT-004
t.test('too many items are refused', async (t) => {
  const m = manifest()
  m.grants = Array.from({ length: 10 }, () => 'aaa.bbb.ccc')
  t.match(invalid(assertManifest, m, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/grants' })
  const p = policy()
  p.content.caseFields = Array.from({ length: 65 }, (_, i) => `f${i}`)
  t.match(invalid(assertPolicy, p, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/content/caseFields' })
  const g = grant()
  g.evidence = [D('b'), D('b')]
  t.match(invalid(assertGrant, g, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/evidence' }, 'duplicates refused')
})

// spec: CW-FMT-002, CW-FMT-004
t.test('bad digest and org id patterns are refused', async (t) => {
  for (const digest of ['sha256:' + 'A'.repeat(64), 'sha256:' + 'a'.repeat(63), 'sha512:' + 'a'.repeat(64), 'a'.repeat(64)]) {
    t.match(invalid(assertReceipt, { ...receipt(), manifest: digest }, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/manifest' }, digest)
  }
  for (const org of ['PD-A', '-pd', 'pd-', 'pd_a', '', 'a'.repeat(64), 'pd a']) {
    t.match(invalid(assertRevocation, { ...revocation(), iss: org }, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/iss' }, org)
  }
  t.match(invalid(assertPartnerBundle, { ...bundle(), caFingerprint: 'sha256:xyz' }, ''), { code: 'CW_ERR_SCHEMA_INVALID', at: '/caFingerprint' })
})

// spec: CW-REC-001
t.test('a rejected receipt needs a problem; a delivered one may not have one', async (t) => {
  t.match(invalid(assertReceipt, { ...receipt(), status: 'rejected' }, ''), { code: 'CW_ERR_SCHEMA_INVALID' })
  t.doesNotThrow(() => assertReceipt({ ...receipt(), status: 'rejected', problem: { code: 'CW_ERR_EXPIRED', detail: 'x' } }))
  t.match(invalid(assertReceipt, { ...receipt(), problem: { code: 'CW_ERR_EXPIRED', detail: 'x' } }, ''), { code: 'CW_ERR_SCHEMA_INVALID' })
})

// Ajv checks `uniqueItems` with a hash of the items when their schema names a scalar `type`, and
// compares every pair otherwise: an offer answer listing 100,000 needed digests by `$ref` alone
// held a sender's event loop for about a minute (issue 13).
t.test('every array whose items must be unique names its items’ type, so duplicates are found in one pass', async (t) => {
  const dir = new URL('../../schemas/', import.meta.url)
  const unnamed: string[] = []
  const visit = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object') return
    const schema = node as Record<string, unknown>
    if (schema['uniqueItems'] === true) {
      const items = schema['items'] as Record<string, unknown> | undefined
      if (items === undefined || (items['type'] === undefined && items['enum'] === undefined && items['const'] === undefined)) unnamed.push(at)
    }
    for (const [key, value] of Object.entries(schema)) visit(value, `${at}/${key}`)
  }
  const files = (await readdir(dir)).filter((name) => name.endsWith('.schema.json'))
  t.ok(files.length > 10, `${files.length} schemas`)
  for (const name of files) visit(JSON.parse(await readFile(new URL(name, dir), 'utf8')), name)
  t.same(unnamed, [], 'arrays with uniqueItems whose items have no type')
})
