/**
 * Loads this node's own PKI material from its pki directory (written by `caseway init` /
 * `caseway certs init-org`). Refuses to start with a private key other users can read
 * (CW-ID-005) or with certificates that do not name this organization.
 *
 * @module
 */
import { createPrivateKey } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { orgOfCertificate, pemToX509 } from '#protocol'
import { ConfigError } from './config/load.ts'
import type { Identity } from './context.ts'

async function readPem(dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8')
  } catch {
    throw new ConfigError(`missing ${join(dir, file)}: run caseway init, or caseway certs init-org --out ${dir}`)
  }
}

async function readKey(dir: string, file: string): Promise<string> {
  const path = join(dir, file)
  const pem = await readPem(dir, file)
  const mode = (await stat(path)).mode & 0o777
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${path} is readable by other users (mode ${mode.toString(8)}): chmod 600 ${path}`)
  }
  return pem
}

function assertNamesOrg(pem: string, file: string, org: string): void {
  const named = orgOfCertificate(pemToX509(pem))
  if (named !== org) throw new ConfigError(`${file} names organization ${named}, but this node is ${org}`)
}

export async function loadIdentity(dir: string, org: string, name: string): Promise<Identity> {
  const [caCertificate, nodeCertificate, nodeKey, signingCertificate, signingKey] = await Promise.all([
    readPem(dir, 'ca.crt'),
    readPem(dir, 'node.crt'),
    readKey(dir, 'node.key'),
    readPem(dir, 'signing.crt'),
    readKey(dir, 'signing.key'),
  ])
  assertNamesOrg(caCertificate, 'ca.crt', org)
  assertNamesOrg(nodeCertificate, 'node.crt', org)
  assertNamesOrg(signingCertificate, 'signing.crt', org)
  return Object.freeze({
    org,
    name,
    // The CA travels in x5c so that a verifier trusting a federation bridge can build the path.
    signer: Object.freeze({ privateKey: createPrivateKey(signingKey), chain: Object.freeze([signingCertificate, caCertificate]) }),
    tls: Object.freeze({ key: nodeKey, cert: nodeCertificate, ca: caCertificate }),
    caCertificate,
  })
}
