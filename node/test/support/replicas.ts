/**
 * An organization whose node runs as two replicas behind one federation address (the tests'
 * TCP pass-through proxy), sharing one PostgreSQL database and one S3 bucket (SPEC.md §20
 * "Replicas"). The second replica's directory is a copy of the first's configuration and PKI
 * (one organization, one identity) with its own listen ports, `replica.id` and log; its temporary
 * files stay its own. The admin token was minted once, in the shared database, so it works on both.
 *
 * @module
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PartnerBundle } from '#protocol'
import { LocalClient } from '../../../client/local_client.ts'
import { startTcpProxy, type TcpProxy } from '../../../testkit/tcp_proxy.ts'
import { CONFIG_FILE } from '../../src/config/load.ts'
import { freePorts, parseNodeLog, startNodeProcess, startOrg, type NodeProcess, type OrgProcess, type StartOrgOptions, type TestHandle } from './processes.ts'

export interface Replica {
  readonly id: string
  readonly dir: string
  readonly logFile: string
  readonly api: LocalClient
  readonly process: NodeProcess
  readonly running: boolean
  kill(): Promise<void>
  logs(): Promise<Array<Record<string, unknown>>>
}

export interface ReplicatedOrg {
  /** The first replica, as `startOrg` made it (its node directory is the one `caseway audit verify` reads). */
  readonly first: OrgProcess
  readonly replicas: readonly [Replica, Replica]
  readonly proxy: TcpProxy
  /** The partner bundle partners import: its endpoint is the proxy's address. */
  readonly bundle: PartnerBundle
  readonly org: string
  readonly caFingerprint: string
}

export interface ReplicatedOrgOptions extends StartOrgOptions {
  /** `{ metadata: { kind: 'postgres', … }, blobs: { kind: 's3', … } }`: shared by both replicas. */
  storage: NonNullable<NonNullable<StartOrgOptions['settings']>['storage']>
  jobLeaseSeconds: number
}

/** Starts the proxy, then two replicas of `options.org` behind it. */
export async function startReplicatedOrg(t: TestHandle, options: ReplicatedOrgOptions): Promise<ReplicatedOrg> {
  const proxy = await startTcpProxy([])
  t.teardown(() => proxy.close())
  const first = await startOrg(t, {
    ...options,
    settings: {
      ...options.settings,
      storage: options.storage,
      federation: { ...options.settings?.federation, publicUrl: proxy.url },
      replica: { id: `${options.org}-1`, jobLeaseSeconds: options.jobLeaseSeconds },
    },
  })
  // The second replica: the same organization (configuration, PKI), its own ports, id and log.
  const dir = `${first.node.dir}-2`
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await cp(first.node.pkiDir, join(dir, 'pki'), { recursive: true })
  const [federationPort, localPort] = (await freePorts(2)) as [number, number]
  const raw = JSON.parse(await readFile(join(first.node.dir, CONFIG_FILE), 'utf8')) as Record<string, Record<string, unknown>>
  raw['federation'] = { ...raw['federation'], port: federationPort }
  raw['local'] = { ...raw['local'], port: localPort }
  raw['replica'] = { ...raw['replica'], id: `${options.org}-2` }
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify(raw, null, 2) + '\n', { mode: 0o600 })
  const logFile = join(dir, 'node.log')
  let second: NodeProcess | undefined
  t.teardown(async () => {
    await second?.stop('SIGKILL')
  })
  second = await startNodeProcess({ dir, logFile })
  const secondProcess = second
  const firstPort = Number(new URL(first.process.federationUrl).port)
  proxy.setUpstreams([{ port: firstPort }, { port: federationPort }])

  const readLogs = async (file: string) => parseNodeLog(await readFile(file, 'utf8').catch(() => ''))
  const firstReplica: Replica = {
    id: `${options.org}-1`,
    dir: first.node.dir,
    logFile: first.node.logFile,
    api: first.api,
    get process() {
      return first.process
    },
    get running() {
      return first.running
    },
    kill: async () => void (await first.kill()),
    logs: () => first.logs(),
  }
  const secondReplica: Replica = {
    id: `${options.org}-2`,
    dir,
    logFile,
    api: new LocalClient({ baseUrl: secondProcess.localUrl, token: first.token }),
    process: secondProcess,
    get running() {
      return secondProcess.child.exitCode === null && secondProcess.child.signalCode === null
    },
    kill: async () => void (await secondProcess.stop('SIGKILL')),
    logs: () => readLogs(logFile),
  }
  return {
    first,
    replicas: [firstReplica, secondReplica],
    proxy,
    bundle: { ...first.node.bundle, endpoint: proxy.url },
    org: options.org,
    caFingerprint: first.node.caFingerprint,
  }
}
