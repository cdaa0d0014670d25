/**
 * The whole suite against one of our own nodes: a fresh harness, a fresh node configured for
 * testing (control endpoints on, small chunks, quick retries), paired as the README says, then
 * the run. Used by `npm run conformance:self`, the CI test and the mutation runner.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHarness } from '../../../conformance/src/harness_dir.ts'
import type { ReporterName } from '../../../conformance/src/report/index.ts'
import { runConformance } from '../../../conformance/src/run.ts'
import type { RunReport } from '../../../conformance/src/runner.ts'
import { freePort } from '../../../testkit/node_process.ts'
import { pairWithHarness, startOurNode, type OurNode } from './our_node.ts'

/** Settings of the node under test (a test deployment: the control endpoints are on). */
export const SELF_NODE_SETTINGS = {
  conformance: { control: true },
  transfers: { chunkSize: 65536, retryBaseMs: 100, retryMaxMs: 1000 },
  // Low enough that the rate-limit test sees a 429 (CW-FED-012), above what the rest of the suite sends.
  limits: { rateLimit: { federationPerMinute: 2000 }, requestTimeoutMs: 5000 },
  log: { level: 'warn' },
} as const

export interface SelfRunOptions {
  only?: readonly string[]
  reporter?: ReporterName
  out?: string
  /** Environment of the node process (the mutation runner's loader). */
  env?: Record<string, string>
  progress?: (line: string) => void
  write?: (text: string) => void
  /** Keep the temporary directories (for a post-mortem). */
  keep?: boolean
  /** Settings of the node under test instead of {@link SELF_NODE_SETTINGS} (each section replaces the default one). */
  nodeSettings?: Record<string, Record<string, unknown>>
}

export async function selfRun(options: SelfRunOptions = {}): Promise<RunReport> {
  const root = await mkdtemp(join(tmpdir(), 'caseway-conformance-'))
  let node: OurNode | undefined
  try {
    const listenPort = await freePort()
    const harness = await initHarness({ dir: join(root, 'harness'), endpoint: `https://127.0.0.1:${listenPort}` })
    node = await startOurNode({
      dir: join(root, 'node'),
      settings: { ...SELF_NODE_SETTINGS, ...options.nodeSettings },
      ...(options.env === undefined ? {} : { env: options.env }),
    })
    await pairWithHarness(node, harness)
    return await runConformance({
      orgDir: harness.dir,
      target: node.federationUrl,
      targetBundle: node.bundleFile,
      control: true,
      waitMs: 20_000,
      ...(options.only === undefined ? {} : { only: options.only }),
      ...(options.reporter === undefined ? {} : { reporter: options.reporter }),
      ...(options.out === undefined ? {} : { out: options.out }),
      ...(options.progress === undefined ? {} : { progress: options.progress }),
      ...(options.write === undefined ? {} : { write: options.write }),
    })
  } finally {
    await node?.stop()
    if (options.keep !== true) await rm(root, { recursive: true, force: true })
    else process.stderr.write(`kept ${root}\n`)
  }
}
