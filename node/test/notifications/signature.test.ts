/**
 * The webhook signature contract with the agency's systems: `Caseway-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, verified in constant time
 * with a five-minute tolerance.
 */
import t from 'tap'
import { signWebhookBody, verifyWebhookSignature, WEBHOOK_TOLERANCE_SECONDS } from '../../src/notifications/signature.ts'

const SECRET = 'whsec-3f9a1c7e5b2d4f608e1a3c5b7d9f0e2a'
const BODY = '{"type":"share.received","id":"0b7e5c1e-8a53-4f2e-9a57-3f1c2d4e5f60"}'
const T = 1_700_000_000
const AT = new Date(T * 1000)
// Computed independently: printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex
const EXPECTED = 'c3fd5c99aac63407321b8b58dbcd6cde36c098e7ce80b963e2ff87c29b69e280'

// spec: CW-NOT-002
t.test('the header is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> keyed with the secret', async (t) => {
  t.equal(signWebhookBody(SECRET, BODY, AT), `t=${T},v1=${EXPECTED}`)
  t.equal(signWebhookBody(SECRET, Buffer.from(BODY), new Date(T * 1000 + 999)), `t=${T},v1=${EXPECTED}`, 'bytes sign like the string; seconds are floored')
})

// spec: CW-NOT-003
t.test('a receiver accepts the signature over the exact body within five minutes either way', async (t) => {
  const header = `t=${T},v1=${EXPECTED}`
  t.same(verifyWebhookSignature(SECRET, header, BODY, AT), { valid: true, timestamp: T })
  t.same(verifyWebhookSignature(SECRET, header, Buffer.from(BODY), new Date((T + WEBHOOK_TOLERANCE_SECONDS) * 1000)), { valid: true, timestamp: T })
  t.same(verifyWebhookSignature(SECRET, header, BODY, new Date((T - WEBHOOK_TOLERANCE_SECONDS) * 1000)), { valid: true, timestamp: T })
  t.same(
    verifyWebhookSignature(SECRET, ` t=${T} , v1=${EXPECTED} , v0=ignored`, BODY, AT),
    { valid: true, timestamp: T },
    'spaces and unknown keys are ignored',
  )
  const rotated = `t=${T},v1=${'0'.repeat(64)},v1=${EXPECTED}`
  t.same(verifyWebhookSignature(SECRET, rotated, BODY, AT), { valid: true, timestamp: T }, 'one matching v1 of several is enough')
})

// spec: CW-NOT-003
t.test('a tampered body, another secret or another timestamp fails as a mismatch', async (t) => {
  const header = `t=${T},v1=${EXPECTED}`
  t.same(verifyWebhookSignature(SECRET, header, BODY.replace('share.received', 'share.receivee'), AT), { valid: false, reason: 'mismatch' })
  t.same(verifyWebhookSignature(SECRET, header, BODY + '\n', AT), { valid: false, reason: 'mismatch' }, 'even one added byte')
  t.same(verifyWebhookSignature(SECRET + 'x', header, BODY, AT), { valid: false, reason: 'mismatch' })
  t.same(verifyWebhookSignature(SECRET, `t=${T + 1},v1=${EXPECTED}`, BODY, AT), { valid: false, reason: 'mismatch' }, 'the timestamp is signed')
  const flipped = EXPECTED.slice(0, 63) + (EXPECTED.endsWith('0') ? '1' : '0')
  t.same(verifyWebhookSignature(SECRET, `t=${T},v1=${flipped}`, BODY, AT), { valid: false, reason: 'mismatch' })
})

// spec: CW-NOT-003
t.test('a signature older or newer than five minutes is stale, even when it matches', async (t) => {
  const header = `t=${T},v1=${EXPECTED}`
  t.same(verifyWebhookSignature(SECRET, header, BODY, new Date((T + WEBHOOK_TOLERANCE_SECONDS + 1) * 1000)), { valid: false, reason: 'stale' })
  t.same(verifyWebhookSignature(SECRET, header, BODY, new Date((T - WEBHOOK_TOLERANCE_SECONDS - 1) * 1000)), { valid: false, reason: 'stale' })
})

// spec: CW-NOT-002, CW-NOT-003
t.test('headers that are not a signature are malformed', async (t) => {
  for (const header of [
    undefined,
    '',
    `v1=${EXPECTED}`,
    `t=${T}`,
    `t=${T},v1=${EXPECTED.toUpperCase()}`,
    `t=${T},v1=${EXPECTED.slice(2)}`,
    `t=-${T},v1=${EXPECTED}`,
    `t=${T}.5,v1=${EXPECTED}`,
    `t=${T},t=${T},v1=${EXPECTED}`,
    `t=${T};v1=${EXPECTED}`,
    `sha256=${EXPECTED}`,
    `t=${T},v1=${EXPECTED},` + 'x=y,'.repeat(300),
  ]) {
    t.same(verifyWebhookSignature(SECRET, header, BODY, AT), { valid: false, reason: 'malformed' }, JSON.stringify(header)?.slice(0, 60) ?? 'undefined')
  }
})

t.test('wrong argument types are caller bugs', async (t) => {
  t.throws(() => signWebhookBody('', BODY, AT), TypeError)
  t.throws(() => signWebhookBody(SECRET, BODY, new Date(Number.NaN)), TypeError)
  t.throws(() => verifyWebhookSignature(SECRET, 't=1,v1=00', {} as unknown as string, AT), TypeError)
})
