/**
 * Test-only entry point: runs a node like `caseway start --dir <dir>` (same stderr lines, same
 * clean stop on SIGTERM/SIGINT), but with its clock `CASEWAY_TEST_CLOCK_OFFSET_MS` ahead of
 * real time — the hook `createNode(config, { clock })` offers and the CLI does not. Lets the
 * integration tests see a share expire without waiting for it.
 *
 * Usage: node start_node_with_clock.ts <dir>
 */
import { createNode, loadConfig } from '../../src/index.ts'
import { stopOnSignal } from '../../src/stop_on_signal.ts'

const dir = process.argv[2]
if (dir === undefined) {
  process.stderr.write('usage: start_node_with_clock.ts <dir>\n')
  process.exit(2)
}
const offset = Number(process.env['CASEWAY_TEST_CLOCK_OFFSET_MS'] ?? '0')
if (!Number.isFinite(offset)) {
  process.stderr.write('CASEWAY_TEST_CLOCK_OFFSET_MS must be a number of milliseconds\n')
  process.exit(2)
}
const node = await createNode(await loadConfig(dir), { clock: { now: () => new Date(Date.now() + offset) } })
stopOnSignal(node)
await node.start()
process.stderr.write(`federation ${node.federationUrl}\nlocal      ${node.localUrl}\n`)
