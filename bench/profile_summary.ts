/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --cpu-prof <dir>`): self and inclusive
 * time per function, optionally only between two wall-clock times (ms since the epoch, as in
 * the nodes' logs), so the summary covers the timed share and nothing else.
 *
 * Usage: node bench/profile_summary.ts <file.cpuprofile> [--from <epoch ms>] [--to <epoch ms>] [--top <n>]
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string', default: '25' } },
})
const path = positionals[0]
if (path === undefined) {
  process.stderr.write('usage: profile_summary.ts <file.cpuprofile> [--from ms] [--to ms] [--top n]\n')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
// Profile times are monotonic microseconds; the file's mtime is the wall-clock end of the profile.
const wallEndMs = statSync(path).mtimeMs
const toWall = (micros: number) => wallEndMs - (profile.endTime - micros) / 1000
const from = values.from === undefined ? -Infinity : Number(values.from)
const to = values.to === undefined ? Infinity : Number(values.to)

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
const name = (frame: CallFrame) =>
  `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules\/|work\/main\/)/, '')}:${frame.lineNumber + 1}`

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
let total = 0
let time = profile.startTime
for (let index = 0; index < profile.samples.length; index++) {
  time += profile.timeDeltas[index]!
  const wall = toWall(time)
  if (wall < from || wall > to) continue
  const delta = profile.timeDeltas[index + 1] ?? 0
  total += delta
  let node = byId.get(profile.samples[index]!)
  if (node === undefined) continue
  const leaf = name(node.callFrame)
  self.set(leaf, (self.get(leaf) ?? 0) + delta)
  const seen = new Set<string>()
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    node = byId.get(id)!
    const key = name(node.callFrame)
    if (seen.has(key)) continue
    seen.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + delta)
  }
}
const top = Number(values.top)
const show = (title: string, table: Map<string, number>) => {
  process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)\n`)
  for (const [key, micros] of [...table].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    process.stdout.write(`${(micros / 1000).toFixed(0).padStart(8)} ms ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`)
  }
}
show('self time', self)
show('inclusive time', inclusive)
