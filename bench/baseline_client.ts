/**
 * The baseline's receiving side, in its own process: GETs one file over mutual TLS 1.3,
 * hashes it with SHA-256 while it flows, writes it to disk and fsyncs at the end. Prints one
 * JSON line on stdout: `{ "bytes", "ms", "cpuMs", "digest" }`, where `ms` is the wall time
 * from the request to the fsynced, closed file and `cpuMs` the process's CPU time over the same span.
 *
 * Usage: node bench/baseline_client.ts <url> <ca.pem> <cert.pem> <key.pem> <out-file>
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { request } from 'node:https'
import type { IncomingMessage } from 'node:http'

const [url, caPath, certPath, keyPath, outPath] = process.argv.slice(2)
if (url === undefined || caPath === undefined || certPath === undefined || keyPath === undefined || outPath === undefined) {
  process.stderr.write('usage: baseline_client.ts <url> <ca.pem> <cert.pem> <key.pem> <out-file>\n')
  process.exit(2)
}

const tls = {
  ca: readFileSync(caPath),
  cert: readFileSync(certPath),
  key: readFileSync(keyPath),
  minVersion: 'TLSv1.3' as const,
  maxVersion: 'TLSv1.3' as const,
  rejectUnauthorized: true,
}

const started = performance.now()
const cpuStart = process.cpuUsage()
const file = await open(outPath, 'wx', 0o600)
const response = await new Promise<IncomingMessage>((resolve, reject) => {
  request(url, { ...tls, method: 'GET' }, resolve)
    .once('error', reject)
    .end()
})
if (response.statusCode !== 200) throw new Error(`baseline server answered ${response.statusCode}`)
const hash = createHash('sha256')
let bytes = 0
for await (const piece of response as AsyncIterable<Buffer>) {
  hash.update(piece)
  let done = 0
  while (done < piece.length) done += (await file.write(piece, done, piece.length - done)).bytesWritten
  bytes += piece.length
}
await file.sync()
await file.close()
const ms = performance.now() - started
const cpu = process.cpuUsage(cpuStart)
process.stdout.write(JSON.stringify({ bytes, ms, cpuMs: (cpu.user + cpu.system) / 1000, digest: 'sha256:' + hash.digest('hex') }) + '\n')
