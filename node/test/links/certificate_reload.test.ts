/**
 * A renewed TLS certificate reaches every HTTPS listener on reload (SIGHUP, `node.reload()`):
 * the federation listener and the download listener (CW-LOC-039: "HTTPS with the node's TLS
 * certificate") present the new one from the next handshake on, without a restart; an operator
 * who renews an expiring certificate must not find the download links still served with the old.
 */
// spec: CW-LOC-039
import { X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from 'node:tls'
import t from 'tap'
import { caseway } from '../../../test/support/cli.ts'
import { createNode, initNode, loadConfig } from '../../src/index.ts'

const dir = join(t.testdir(), 'node')
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: 0, localPort: 0 })
const configPath = join(dir, 'caseway.json')
const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>
await writeFile(configPath, JSON.stringify({ ...config, log: { level: 'silent' }, links: { downloadListener: { host: '127.0.0.1', port: 0, perMinute: 60 } } }))
const node = await createNode(await loadConfig(dir), { logger: { level: 'silent' } })
await node.start()
t.teardown(() => node.stop())

/** The fingerprint of the certificate the listener at `url` presents in a TLS handshake. */
function presented(url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    // Only the server's certificate is read: the handshake is not trusted, and nothing is sent.
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256)
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

const onDisk = async () => new X509Certificate(await readFile(join(node.ctx.config.dir, node.ctx.config.pki.dir, 'node.crt'))).fingerprint256

t.test('after the node certificate is renewed, reload makes both HTTPS listeners present it', async (t) => {
  const before = await onDisk()
  t.equal(await presented(node.downloadUrl), before, 'the download listener presents the node certificate')
  t.equal(await presented(node.federationUrl), before)

  const renewed = await caseway(['certs', 'issue-node', '--dir', dir, '--force'])
  t.equal(renewed.code, 0, renewed.stderr)
  const after = await onDisk()
  t.not(after, before, 'a new certificate on disk')
  t.equal(await presented(node.downloadUrl), before, 'not used before the reload')

  const report = await node.reload()
  t.same(report.certificate, { renewed: true })
  t.equal(await presented(node.downloadUrl), after, 'the download listener presents the renewed certificate')
  t.equal(await presented(node.federationUrl), after, 'and so does the federation listener')
})
