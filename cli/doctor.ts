/**
 * The checks of `caseway doctor`, each `ok`, `warn` or `fail` with a one-line reason: what an
 * operator would look at first when a node does not start or does not exchange with a partner.
 * They read the node directory and probe the network, never change anything (the database is
 * opened read-only), and reuse the node's own code: the configuration loader, the identity
 * loader and the peer client that builds the mutual-TLS connection to a partner.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto'
import { constants } from 'node:fs'
import { access, readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import type { NodeConfig } from '../node/src/config/schema.ts'
import type { Identity } from '../node/src/context.ts'
import type { PartnerRecord } from '../node/src/store/metadata_store.ts'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface CheckResult {
  /** What was checked: `config`, `key pki/node.key`, `port local`, `partner county-da`, … */
  name: string
  status: CheckStatus
  /** One line: why. */
  detail: string
}

/** Under this many days left a certificate is a warning. */
export const CERTIFICATE_WARN_DAYS = 14
/** Time allowed for a partner's TLS handshake and its health answer. */
const PARTNER_TIMEOUT_MS = 5000
/** Time allowed for the S3 blob store's bucket to answer. */
const S3_TIMEOUT_MS = 5000
/** Time allowed for a running node's /healthz. */
const HEALTH_TIMEOUT_MS = 3000
const DAY_MS = 86_400_000

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail })
const warn = (name: string, detail: string): CheckResult => ({ name, status: 'warn', detail })
const fail = (name: string, detail: string): CheckResult => ({ name, status: 'fail', detail })

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Runs every check on the node directory `dir`, in order. */
export async function runChecks(dir: string, now: () => Date = () => new Date()): Promise<CheckResult[]> {
  const { CONFIG_FILE, loadConfig, nodePath } = await import('../node/src/config/load.ts')
  let config: NodeConfig
  try {
    config = await loadConfig(dir)
  } catch (error) {
    // Every other check reads the configuration: without it there is nothing more to say.
    return [fail('config', messageOf(error))]
  }
  const results = [ok('config', `${resolve(dir, CONFIG_FILE)} is valid (org ${config.org})`)]
  const pkiDir = nodePath(config, config.pki.dir)
  results.push(
    ...(await Promise.all([
      checkPrivateFile('node key', join(pkiDir, 'node.key'), 'required'),
      checkPrivateFile('signing key', join(pkiDir, 'signing.key'), 'required'),
      checkPrivateFile('CA key', join(pkiDir, 'ca.key'), 'optional'),
      checkPrivateFile('admin token', join(config.dir, 'admin.token'), 'recommended'),
    ])),
  )
  const certificates = await Promise.all((['node', 'signing', 'ca'] as const).map(async (name) => readCertificate(join(pkiDir, `${name}.crt`))))
  results.push(...certificates.map((certificate, index) => checkValidity(`${['node', 'signing', 'ca'][index]} certificate`, certificate, now())))
  results.push(...(await checkPorts(config)))
  results.push(checkClock(certificates[0]!, now()))
  results.push(await checkBlobStore(config))
  results.push(...(await checkPartners(config, pkiDir, now)))
  return results
}

/**
 * A key or token file: it exists, this user can read it, and no one else can (mode 0600). The
 * node refuses to start with a key others can read; the token is as good as the admin's password.
 */
async function checkPrivateFile(name: string, path: string, presence: 'required' | 'optional' | 'recommended'): Promise<CheckResult> {
  let mode: number
  try {
    mode = (await stat(path)).mode
  } catch {
    if (presence === 'optional') return ok(name, `${path} is not on this node (an offline CA)`)
    if (presence === 'recommended') return warn(name, `${path} is missing (mint an admin token with caseway tokens create if you need one)`)
    return fail(name, `${path} is missing`)
  }
  try {
    await access(path, constants.R_OK)
  } catch {
    return fail(name, `${path} is not readable by this user: check its owner`)
  }
  if ((mode & 0o077) !== 0) return fail(name, `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`)
  return ok(name, `${path} (mode ${(mode & 0o777).toString(8)})`)
}

type LoadedCertificate = { path: string; certificate: X509Certificate } | { path: string; error: string }

async function readCertificate(path: string): Promise<LoadedCertificate> {
  try {
    return { path, certificate: new X509Certificate(await readFile(path)) }
  } catch (error) {
    return { path, error: (error as { code?: string }).code === 'ENOENT' ? 'missing' : `not a certificate (${messageOf(error)})` }
  }
}

function checkValidity(name: string, loaded: LoadedCertificate, now: Date): CheckResult {
  if ('error' in loaded) return fail(name, `${loaded.path}: ${loaded.error}`)
  const notAfter = new Date(loaded.certificate.validTo)
  const notBefore = new Date(loaded.certificate.validFrom)
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS)
  const until = notAfter.toISOString()
  if (now >= notAfter) return fail(name, `${loaded.path} expired on ${until}: renew it (caseway certs issue-node / issue-signing)`)
  if (now < notBefore) return fail(name, `${loaded.path} is not valid before ${notBefore.toISOString()}`)
  if (daysLeft < CERTIFICATE_WARN_DAYS) return warn(name, `${loaded.path} expires in ${daysLeft} days (${until}): renew it soon`)
  return ok(name, `${loaded.path} expires in ${daysLeft} days (${until})`)
}

/**
 * The system clock against the node certificate's notBefore: a clock behind it makes this node
 * refuse its own certificate, and partners' certificates made after it.
 */
function checkClock(loaded: LoadedCertificate, now: Date): CheckResult {
  if ('error' in loaded) return warn('clock', `not checked: ${loaded.path} is ${loaded.error}`)
  const notBefore = new Date(loaded.certificate.validFrom)
  if (now < notBefore) {
    return fail('clock', `the system clock (${now.toISOString()}) is before ${loaded.path}'s notBefore (${notBefore.toISOString()}): set the clock (NTP)`)
  }
  return ok('clock', `the system clock (${now.toISOString()}) is after ${loaded.path}'s notBefore (${notBefore.toISOString()})`)
}

/** Whether `host:port` can be bound now (the listener is closed at once). */
function portFree(host: string, port: number): Promise<true | string> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message))
    server.listen({ host, port, exclusive: true }, () => server.close(() => done(true)))
  })
}

/** Whether a Caseway node answers `/healthz` on its local listener. */
async function runningNodeAnswers(config: NodeConfig): Promise<boolean> {
  const host = config.local.host === '0.0.0.0' ? '127.0.0.1' : config.local.host === '::' ? '::1' : config.local.host
  try {
    const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${config.local.port}/healthz`, {
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    })
    const answer = (await response.json()) as { status?: unknown }
    return response.status === 200 && answer.status === 'ok'
  } catch {
    return false
  }
}

/** Each configured listener's port: free, or held by a running Caseway node (its local /healthz answers). */
async function checkPorts(config: NodeConfig): Promise<CheckResult[]> {
  const listeners: [string, { host: string; port: number }][] = [
    ['federation', config.federation],
    ['local', config.local],
    ...(config.ops === undefined ? [] : [['ops', config.ops] as [string, { host: string; port: number }]]),
  ]
  let running: Promise<boolean> | undefined
  const results: CheckResult[] = []
  for (const [listener, { host, port }] of listeners) {
    const name = `${listener} port`
    if (port === 0) {
      results.push(ok(name, `${listener}.port is 0: any free port`))
      continue
    }
    const free = await portFree(host, port)
    if (free === true) results.push(ok(name, `${host}:${port} is free`))
    else if (free !== 'EADDRINUSE') results.push(fail(name, `cannot listen on ${host}:${port} (${free}): change ${listener}.port or ${listener}.host`))
    else if (await (running ??= runningNodeAnswers(config)))
      results.push(ok(name, `${host}:${port} is held by a running Caseway node (its /healthz answers on the local port)`))
    else results.push(fail(name, `${host}:${port} is in use by another process: stop it, or change ${listener}.port`))
  }
  return results
}

/**
 * The evidence store (`storage.blobs`), without writing to it (the node may be running): a
 * directory this user can read and write, or one it can create at start; an S3 bucket that
 * answers with the configured credentials.
 */
async function checkBlobStore(config: NodeConfig): Promise<CheckResult> {
  const name = 'blob store'
  const blobs = config.storage.blobs
  if (blobs.kind === 's3') {
    const { checkS3Bucket } = await import('../node/src/store/s3_blob_store.ts')
    const { s3StoreOptions } = await import('../node/src/store/open_blob_store.ts')
    let timer: NodeJS.Timeout | undefined
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`S3 blob store at ${blobs.endpoint}: no answer in ${S3_TIMEOUT_MS / 1000} s`)), S3_TIMEOUT_MS)
    })
    try {
      await Promise.race([checkS3Bucket(s3StoreOptions(blobs)), silence])
      return ok(name, `bucket ${blobs.bucket} at ${blobs.endpoint} answers`)
    } catch (error) {
      return fail(name, `${messageOf(error)}: check storage.blobs`)
    } finally {
      clearTimeout(timer)
    }
  }
  const { nodePath } = await import('../node/src/config/load.ts')
  const dir = nodePath(config, blobs.dir)
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => error)
  if (info instanceof Error && info.code === 'ENOENT') {
    const parent = dirname(dir)
    return (await access(parent, constants.W_OK).then(
      () => true,
      () => false,
    ))
      ? ok(name, `${dir} does not exist yet: the node creates it at start`)
      : fail(name, `${dir} does not exist and ${parent} is not writable: create it, or change storage.blobs`)
  }
  if (info instanceof Error) return fail(name, `${dir}: ${info.message}`)
  if (!info.isDirectory()) return fail(name, `${dir} is not a directory: change storage.blobs`)
  try {
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch {
    return fail(name, `${dir} is not readable and writable by this user: fix its owner or mode, or change storage.blobs`)
  }
  return ok(name, `${dir} is readable and writable`)
}

/**
 * Each enabled partner (trust-only CAs are never connected to): a mutual-TLS connection with this
 * node's certificate, the partner's certificate verified against its pinned CA — the peer client
 * the node uses — and its EP-4 health answer.
 */
async function checkPartners(config: NodeConfig, pkiDir: string, now: () => Date): Promise<CheckResult[]> {
  const { openConfiguredMetadataStore } = await import('../node/src/store/open_metadata_store.ts')
  const { nodePath } = await import('../node/src/config/load.ts')
  const metadata = config.storage.metadata
  // Never the PostgreSQL URL: it holds the password.
  const where = metadata.kind === 'sqlite' ? nodePath(config, metadata.database) : 'the PostgreSQL metadata store'
  let partners: PartnerRecord[]
  try {
    const store = await openConfiguredMetadataStore(config, { readOnly: true })
    try {
      partners = (await store.partners.list()).filter((partner) => partner.enabled && !partner.trustOnly)
    } finally {
      await store.close()
    }
  } catch (error) {
    return [fail('partners', `cannot read the partners from ${where}: ${messageOf(error)}`)]
  }
  if (partners.length === 0) return [ok('partners', 'no enabled partners')]
  const { loadIdentity } = await import('../node/src/identity.ts')
  const { createPeerClient } = await import('../node/src/peer/peer_client.ts')
  let identity: Identity
  try {
    identity = await loadIdentity(pkiDir, config.org, config.name)
  } catch (error) {
    return partners.map((partner) => fail(`partner ${partner.org}`, `not checked: this node's identity does not load: ${messageOf(error)}`))
  }
  const peer = createPeerClient({ identity, config, clock: { now } }, { connectTimeoutMs: PARTNER_TIMEOUT_MS, timeoutMs: PARTNER_TIMEOUT_MS })
  try {
    return await Promise.all(
      partners.map(async (partner) => {
        const name = `partner ${partner.org}`
        try {
          await peer.health!(partner, AbortSignal.timeout(PARTNER_TIMEOUT_MS))
          return ok(name, `${partner.endpoint}: mutual TLS with its pinned CA, and its health answered`)
        } catch (error) {
          const code = (error as { code?: unknown }).code
          return fail(name, `${partner.endpoint}: ${typeof code === 'string' ? `${code}: ` : ''}${messageOf(error)}`)
        }
      }),
    )
  } finally {
    await peer.close()
  }
}
