/**
 * Our own node as an implementation under test, driven only from outside: `caseway init`,
 * `caseway start` as a child process, and its local API to pair it with the harness (the
 * steps conformance/README.md asks of any operator). Nothing here imports `node/`.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Harness } from '../../../conformance/src/harness_dir.ts'
import { CASEWAY_BIN, freePorts } from '../../../testkit/node_process.ts'

/** The policy our node assigns to the harness for the sender-role tests. */
export const SENDER_POLICY = {
  name: 'Conformance sender policy',
  permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward: { allowed: false, maxDepth: 0 } },
  content: { caseFields: ['title', 'summary'], evidenceCategories: ['document', 'photo'], attachments: true },
  maxDurationSeconds: 7 * 86_400,
}

export interface OurNode {
  dir: string
  org: string
  federationUrl: string
  localUrl: string
  /** An admin token of its local API. */
  token: string
  bundleFile: string
  child: ChildProcess
  /** Standard error so far (start-up lines and fatal errors; the JSON log goes to node.log). */
  stderr(): string
  stop(): Promise<void>
}

export interface StartOurNodeOptions {
  dir: string
  org?: string
  /** Extra settings merged into caseway.json (deeply, one level). */
  settings?: Record<string, Record<string, unknown>>
  /** Extra environment (e.g. NODE_OPTIONS for the mutation runner's loader). */
  env?: Record<string, string>
}

function run(args: string[], env?: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CASEWAY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let output = ''
    child.stdout.on('data', (data) => (output += data))
    child.stderr.on('data', (data) => (output += data))
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`caseway ${args.join(' ')} exited ${code}: ${output}`))))
  })
}

/** Creates and starts one of our nodes on 127.0.0.1. */
export async function startOurNode(options: StartOurNodeOptions): Promise<OurNode> {
  const org = options.org ?? 'cw-self-target'
  const [federationPort, localPort] = (await freePorts(2)) as [number, number]
  await run([
    'init',
    '--dir',
    options.dir,
    '--org',
    org,
    '--name',
    'Caseway node under test',
    '--host',
    '127.0.0.1',
    '--federation-port',
    String(federationPort),
    '--local-port',
    String(localPort),
  ])
  const configFile = join(options.dir, 'caseway.json')
  const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, Record<string, unknown>>
  for (const [section, values] of Object.entries(options.settings ?? {})) config[section] = { ...config[section], ...values }
  await writeFile(configFile, JSON.stringify(config, null, 2))

  const child = spawn(process.execPath, [CASEWAY_BIN, 'start', '--dir', options.dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  // Minted by init, never printed (CW-LOC-011).
  const token = (await readFile(join(options.dir, 'admin.token'), 'utf8')).trim()
  const started = new Promise<{ localUrl: string; federationUrl: string }>((resolve, reject) => {
    child.stderr!.on('data', (text: string) => {
      stderr += text
      const localUrl = /^local\s+(http:\/\/\S+)\s*$/m.exec(stderr)?.[1]
      const federationUrl = /^federation\s+(https:\/\/\S+)\s*$/m.exec(stderr)?.[1]
      if (localUrl && federationUrl) resolve({ localUrl, federationUrl })
    })
    child.once('exit', (code) => reject(new Error(`our node exited during start-up (${code}): ${stderr.slice(-2000)}`)))
  })
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const { localUrl, federationUrl } = await started.finally(() => clearTimeout(timeout))
  const node: OurNode = {
    dir: options.dir,
    org,
    federationUrl,
    localUrl,
    token,
    bundleFile: join(options.dir, 'pki', 'partner-bundle.json'),
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await once(child, 'exit')
      clearTimeout(killer)
    },
  }
  return node
}

/** A local API call with the admin token; throws on a non-2xx answer. */
async function api(node: OurNode, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${node.localUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${node.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

/**
 * What conformance/README.md asks an operator to do: import the harness's bundle as an
 * enabled partner with a sharing policy, and the auxiliary bundles trust-only.
 */
export async function pairWithHarness(node: OurNode, harness: Harness): Promise<void> {
  await api(node, 'POST', '/partners', { bundle: harness.main.bundle, fingerprint: harness.main.bundle.caFingerprint })
  for (const party of harness.aux) await api(node, 'POST', '/partners', { bundle: party.bundle, fingerprint: party.bundle.caFingerprint, trustOnly: true })
  const policy = (await api(node, 'POST', '/policies', SENDER_POLICY)) as { id: string }
  await api(node, 'PUT', `/partners/${harness.main.org}/policy`, { policyId: policy.id })
}
