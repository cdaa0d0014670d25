/**
 * `caseway start` stops the node cleanly on SIGTERM or SIGINT (close-with-grace, in
 * `node/src/stop_on_signal.ts`): it says so on stderr, exits 0, and the node starts again from
 * the same directory.
 */
import { join } from 'node:path'
import t from 'tap'
import { initNode } from '../../node/src/init_node.ts'
import { freePorts, startNodeProcess } from '../../testkit/node_process.ts'

const dir = join(t.testdir(), 'node')
const [federationPort, localPort] = await freePorts(2)
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: federationPort!, localPort: localPort! })

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: a clean stop, exit 0; the node starts again`, async (t) => {
    const node = await startNodeProcess({ dir })
    t.teardown(() => node.stop('SIGKILL'))
    const response = await fetch(`${node.localUrl}/healthz`)
    t.equal(response.status, 200, 'serving')
    const status = await node.stop(signal)
    t.same(status, { code: 0, signal: null }, 'exit 0')
    t.match(node.stderr(), `caseway: ${signal}: stopping`)
  })
}
