/**
 * `caseway verify` checks a signed object offline with the same library as the node: the
 * protocol vectors are run through the real command.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { caseway } from '../support/cli.ts'

interface Vector {
  id: string
  input: string | string[]
  trustAnchors: { certificate: string; org?: string }[]
  audience: string
  validationTime: string
  expected: string
}

function vector(file: string, id: string): Vector {
  const suite = JSON.parse(readFileSync(new URL(`../../protocol/vectors/${file}`, import.meta.url), 'utf8')) as { vectors: Vector[] }
  const found = suite.vectors.find((v) => v.id === id)
  if (found === undefined) throw new Error(`no vector ${id}`)
  return found
}

function materialize(dir: string, v: Vector): string[] {
  writeFileSync(join(dir, 'object.jws'), String(v.input))
  const args = [join(dir, 'object.jws'), '--audience', v.audience, '--at', v.validationTime]
  v.trustAnchors.forEach((anchor, i) => {
    const path = join(dir, `anchor-${i}.crt`)
    writeFileSync(path, anchor.certificate)
    args.push(anchor.org === undefined ? '--bridge' : '--ca', path)
  })
  return args
}

// spec: CW-SIG-008, CW-PROV-007
t.test('a valid manifest verifies and its payload is printed', async (t) => {
  const v = vector('valid.json', 'cw::valid::manifest-direct')
  const result = await caseway(['verify', ...materialize(t.testdir(), v)])
  t.equal(result.code, 0, result.stderr)
  const payload = JSON.parse(result.stdout) as { aud: string; grants: unknown[] }
  t.equal(payload.aud, v.audience)
  t.match(result.stderr, /verified: caseway-manifest\+jws signed by /)
})

// spec: CW-SIG-002
t.test('alg none is refused with its problem code on one line', async (t) => {
  const v = vector('sig.json', 'cw::sig::alg-none')
  const result = await caseway(['verify', ...materialize(t.testdir(), v)])
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, /^caseway: CW_ERR_ALG_NOT_ALLOWED: [^\n]*\n$/)
})

// spec: CW-SIG-006
t.test('without the right CA the object is untrusted', async (t) => {
  const v = vector('valid.json', 'cw::valid::manifest-direct')
  const dir = t.testdir()
  const args = materialize(dir, v)
  const init = await caseway(['certs', 'init-org', '--org', 'stranger', '--name', 'Stranger', '--host', 'stranger.example', '--out', join(dir, 'stranger')])
  t.equal(init.code, 0, init.stderr)
  const result = await caseway(['verify', args[0]!, '--audience', v.audience, '--at', v.validationTime, '--ca', join(dir, 'stranger', 'ca.crt')])
  t.equal(result.code, 1)
  t.match(result.stderr, /CW_ERR_CHAIN_UNTRUSTED/)
})

t.test('verify without any CA is a usage error', async (t) => {
  const result = await caseway(['verify', 'whatever.jws'])
  t.equal(result.code, 2)
  t.match(result.stderr, /--ca/)
})
