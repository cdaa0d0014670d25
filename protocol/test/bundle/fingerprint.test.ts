import t from 'tap'
import { normalizeFingerprint } from '../../src/bundle/fingerprint.ts'

const hex = '0123456789abcdef'.repeat(4)
const expected = 'sha256:' + hex

// spec: CW-TRUST-002
t.test('accepts the Caseway, bare-hex and OpenSSL forms, case-insensitively', async (t) => {
  const colon = hex.toUpperCase().match(/../g)!.join(':')
  const forms = [
    expected,
    'SHA256:' + hex.toUpperCase(),
    hex,
    hex.toUpperCase(),
    colon,
    colon.toLowerCase(),
    `sha256 Fingerprint=${colon}`,
    `SHA256 Fingerprint=${colon}`,
    `  ${expected}\n`,
    `sha256:${colon}`,
  ]
  for (const form of forms) t.equal(normalizeFingerprint(form), expected, form)
})

t.test('refuses anything else with a TypeError', async (t) => {
  const bad = [
    '',
    hex.slice(2),
    hex + '00',
    'sha1:' + hex,
    'sha256:' + hex.replace('0', 'g'),
    hex.toUpperCase().match(/../g)!.join('-'),
    hex.match(/..../g)!.join(':'),
    `sha256:${hex}:`,
    42 as unknown as string,
  ]
  for (const value of bad) t.throws(() => normalizeFingerprint(value), TypeError, String(value))
})
