import t from 'tap'
import { compactVerify, flattenedVerify } from 'jose'
import { X509Certificate } from 'node:crypto'
import { detachPayload } from '../../src/jws/detach.ts'
import { signObject } from '../../src/jws/sign.ts'
import { claims } from '../helpers/pki.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const now = new Date()
const org = await createTestOrg('org-a', { now })
const publicKey = new X509Certificate(org.signing.certificate.toString('pem')).publicKey

t.test('the payload segment is left out; with it put back, the signature holds', async (t) => {
  const jws = await signObject('manifest', { ...claims('org-a', 'org-b', now), note: 'é' }, org.signer)
  const [header, payload, signature] = jws.split('.') as [string, string, string]
  const detached = detachPayload(jws)
  t.equal(detached, `${header}..${signature}`)
  const [protectedHeader, empty, kept] = detached.split('.')
  t.equal(empty, '')
  const verified = await flattenedVerify({ protected: protectedHeader!, payload, signature: kept! }, publicKey)
  t.same(verified.payload, (await compactVerify(jws, publicKey)).payload, 'the very bytes signed')
})

t.test('anything but a compact JWS is a TypeError', async (t) => {
  for (const value of ['', 'a', 'a.b', 'a.b.c.d', '..x.', 42 as unknown as string]) t.throws(() => detachPayload(value), TypeError, String(value))
  t.equal(detachPayload('a..c'), 'a..c', 'one already detached stays as it is')
})
