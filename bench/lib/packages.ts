/**
 * `package.*` (issue 15): a case of one large file shared with a link as ZIP, TAR and ISO, each
 * downloaded whole from the node's download listener (HTTPS) through the capability link the
 * node e-mailed (caught by a local SMTP receiver), by the same client process as the baseline:
 * GET, hash while the bytes flow, write, fsync. Reports each format's MiB/s, the time from
 * `ready` to the first byte, how long the package took to build, and the node's peak RSS
 * (building reads every item once for its CRC-32 and SHA-256; downloads stream from the blobs).
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { readFile, rm } from 'node:fs/promises'
import { startSmtpReceiver } from '../../testkit/smtp_receiver.ts'
import { freePort } from '../../testkit/node_process.ts'
import type { LinkShare, LinkShareInput } from '../../client/local_client.ts'
import { runClient, type BaselinePki } from './baseline.ts'
import { MiB, type GeneratedFile } from './files.ts'
import { progress } from './log.ts'
import { benchConfig, initBenchNode, startBenchNode, stopBenchNode, type NodeOptions } from './node_pair.ts'
import { peakRssMb, sleep } from './proc.ts'

export const PACKAGE_FORMATS = ['zip', 'tar', 'iso'] as const satisfies ReadonlyArray<LinkShareInput['format']>
type Format = (typeof PACKAGE_FORMATS)[number]

export interface PackageRun {
  MBps: Record<Format, number>
  /** From the link share reading `ready` to the first byte of the download. */
  first_byte_ms: Record<Format, number>
  /** From POST …/link-shares to `ready`: every item read once, the manifest signed. */
  build_ms: Record<Format, number>
  bytes: Record<Format, number>
  peak_rss_mb: number
  idle_rss_mb: number
  after_upload_rss_mb: number
}

export async function packageRun(dir: string, file: GeneratedFile, pki: BaselinePki, options: NodeOptions): Promise<PackageRun> {
  const smtp = await startSmtpReceiver()
  if (smtp === undefined) throw new Error('package bench: smtp-server is not installed')
  const downloadPort = await freePort()
  const init = await initBenchNode(
    join(dir, 'node'),
    'bench-sender',
    'Bench Sender',
    benchConfig(options, {
      links: { downloadListener: { host: '127.0.0.1', port: downloadPort, perMinute: 10_000 } },
      notifications: { smtp: { host: smtp.host, port: smtp.port, from: 'Bench <bench@bench-sender.example>' } },
    }),
  )
  const node = await startBenchNode(init, options)
  try {
    const idle = await peakRssMb(node.pid)
    const caseId = (await node.api.createCase({ title: 'Bench package' })).id
    progress(`package: uploading ${file.size / MiB} MiB (not timed)`)
    const evidence = await node.api.uploadEvidence(caseId, { name: 'bench-package.bin', category: 'video', mediaType: 'video/mp4' }, () =>
      createReadStream(file.path, { highWaterMark: MiB }),
    )
    if (evidence.digest !== file.digest) throw new Error(`package: the node stored ${evidence.digest}, expected ${file.digest}`)
    const afterUpload = await peakRssMb(node.pid)
    const ca = await readFile(join(init.dir, 'pki', 'ca.crt'), 'utf8')
    const run = { MBps: {}, first_byte_ms: {}, build_ms: {}, bytes: {} } as Pick<PackageRun, 'MBps' | 'first_byte_ms' | 'build_ms' | 'bytes'>
    for (const format of PACKAGE_FORMATS) {
      const to = `${format}@bench-receiver.example`
      const buildStart = performance.now()
      const created = await node.api.createLinkShare(caseId, { recipient: { kind: 'email', value: to }, scope: 'case', format })
      const ready = await waitReady(node.api.getLinkShare.bind(node.api), created.id)
      run.build_ms[format] = Math.round(performance.now() - buildStart)
      const mail = await smtp.waitFor(to, 60_000)
      const url = /https:\/\/\S+\/download\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0]
      if (url === undefined) throw new Error(`package: the e-mail to ${to} has no download link`)
      run.first_byte_ms[format] = Math.round(await firstByteMs(url, ca))
      progress(`package ${format}: built in ${run.build_ms[format]} ms; downloading ${ready.package!.size} bytes from the download listener (timed)`)
      const out = join(dir, `case.${format}`)
      const caPath = join(init.dir, 'pki', 'ca.crt')
      const answer = await runClient([url, caPath, pki.clientFiles.cert, pki.clientFiles.key, out])
      await rm(out, { force: true })
      if (answer.bytes !== ready.package!.size) throw new Error(`package ${format}: downloaded ${answer.bytes} bytes of ${ready.package!.size}`)
      run.bytes[format] = answer.bytes
      run.MBps[format] = answer.bytes / MiB / (answer.ms / 1000)
      progress(`package ${format}: ${Math.round(run.MBps[format])} MiB/s, first byte after ${run.first_byte_ms[format]} ms`)
    }
    return { ...run, peak_rss_mb: await peakRssMb(node.pid), idle_rss_mb: idle, after_upload_rss_mb: afterUpload }
  } finally {
    await stopBenchNode(node)
    await smtp.close()
  }
}

async function waitReady(get: (id: string) => Promise<LinkShare>, id: string): Promise<LinkShare> {
  for (;;) {
    const link = await get(id)
    if (link.status === 'ready') return link
    if (link.status !== 'processing') throw new Error(`package: link share ${id} is ${link.status}: ${link.failure ?? ''}`)
    await sleep(20)
  }
}

/** Milliseconds from a GET of `url` to its first body byte (then the request is dropped). */
function firstByteMs(url: string, ca: string): Promise<number> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.once('data', () => {
        resolve(performance.now() - start)
        req.destroy()
      })
      res.once('error', reject)
    })
    req.once('error', (error) => {
      if (!req.destroyed) reject(error)
    })
    req.end()
  })
}
