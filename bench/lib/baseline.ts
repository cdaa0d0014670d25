/**
 * The baseline: a plain Node.js `https` server with mutual TLS 1.3 (fixture PKI from `#certs`)
 * streams a file from disk to `baseline_client.ts` in another process, which hashes it and
 * writes it to disk. What any Node.js program can do on this machine; Caseway is measured
 * against it.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createOrgCa, issueNodeCertificate, privateKeyToPem } from '#certs'
import { trackChild } from './cleanup.ts'
import type { GeneratedFile } from './files.ts'

const CLIENT = fileURLToPath(new URL('../baseline_client.ts', import.meta.url))

export interface BaselinePki {
  ca: string
  serverCert: string
  serverKey: string
  /** Paths of the client's PEM files. */
  clientFiles: { ca: string; cert: string; key: string }
}

/** A CA with a server and a client certificate (both node profile: serverAuth + clientAuth), written to `dir`. */
export async function createBaselinePki(dir: string): Promise<BaselinePki> {
  const ca = await createOrgCa({ org: 'baseline', name: 'Baseline' })
  const server = await issueNodeCertificate(ca, { org: 'baseline', name: 'Baseline server', hosts: ['127.0.0.1'] })
  const client = await issueNodeCertificate(ca, { org: 'baseline', name: 'Baseline client', hosts: ['127.0.0.1'] })
  const caPem = ca.certificate.toString('pem')
  const clientFiles = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') }
  await writeFile(clientFiles.ca, caPem)
  await writeFile(clientFiles.cert, client.certificate.toString('pem'))
  await writeFile(clientFiles.key, await privateKeyToPem(client.privateKey), { mode: 0o600 })
  return { ca: caPem, serverCert: server.certificate.toString('pem'), serverKey: await privateKeyToPem(server.privateKey), clientFiles }
}

export interface BaselineResult {
  bytes: number
  ms: number
  MBps: number
  /** CPU time of the server (this process, during the transfer) and of the client process. */
  cpuMs: { server: number; client: number }
}

/** Serves `file` once to a client process that stores it in `outDir`; returns the client's timing. */
export async function runBaseline(pki: BaselinePki, file: GeneratedFile, outDir: string): Promise<BaselineResult> {
  const server = await listen(pki, file.path)
  const out = join(outDir, 'baseline.out')
  try {
    const port = (server.address() as AddressInfo).port
    const cpuBefore = process.cpuUsage()
    const answer = await runClient([`https://127.0.0.1:${port}/file`, pki.clientFiles.ca, pki.clientFiles.cert, pki.clientFiles.key, out])
    if (answer.bytes !== file.size || answer.digest !== file.digest) {
      throw new Error(`baseline client received ${answer.bytes} bytes ${answer.digest}, expected ${file.size} ${file.digest}`)
    }
    const cpu = process.cpuUsage(cpuBefore)
    return {
      bytes: answer.bytes,
      ms: answer.ms,
      MBps: file.size / (1024 * 1024) / (answer.ms / 1000),
      cpuMs: { server: (cpu.user + cpu.system) / 1000, client: answer.cpuMs },
    }
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    await rm(out, { force: true })
  }
}

async function listen(pki: BaselinePki, path: string): Promise<Server> {
  const { size } = await stat(path)
  const server = createServer(
    {
      key: pki.serverKey,
      cert: pki.serverCert,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    },
    (request, response) => {
      if (request.method !== 'GET' || request.url !== '/file') {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
      createReadStream(path).pipe(response)
    },
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return server
}

export interface ClientAnswer {
  bytes: number
  ms: number
  cpuMs: number
  digest: string
}

/** Runs the receiving client (`baseline_client.ts`) with `<url> <ca> <cert> <key> <out>`: GET, hash, write, fsync. */
export function runClient(args: string[]): Promise<ClientAnswer> {
  return new Promise((resolve, reject) => {
    const child = trackChild(spawn(process.execPath, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }))
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`baseline client exited ${code ?? signal}: ${stderr.trim()}`))
        return
      }
      try {
        resolve(JSON.parse(stdout) as ClientAnswer)
      } catch {
        reject(new Error(`baseline client printed no result: ${stdout} ${stderr}`))
      }
    })
  })
}
