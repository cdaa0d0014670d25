/**
 * The layering the design brief fixes: protocol/ knows nothing of HTTP, storage or the node;
 * the conformance harness tests the wire and never imports the node.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

const root = new URL('../', import.meta.url).pathname

function sources(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sources(path))
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!)
}

t.test('protocol/src imports no node, certs, cli, network or storage module', async (t) => {
  const forbidden = /^(?:#certs|#node|node:(?:http|https|http2|net|tls|dgram|sqlite|child_process)$|fastify|undici)|\/(?:node|certs|cli|conformance)\//
  for (const file of sources(join(root, 'protocol', 'src'))) {
    for (const spec of importsOf(file)) {
      t.notMatch(spec, forbidden, `${relative(root, file)} imports ${spec}`)
    }
  }
})

t.test('conformance never imports the node', async (t) => {
  for (const file of sources(join(root, 'conformance'))) {
    for (const spec of importsOf(file)) {
      t.notMatch(spec, /^#node|\/node\//, `${relative(root, file)} imports ${spec}`)
    }
  }
})

t.test('packaging/src imports only protocol/ and node: built-ins', async (t) => {
  for (const file of sources(join(root, 'packaging', 'src'))) {
    for (const spec of importsOf(file)) {
      t.match(spec, /^(?:#protocol|node:[a-z_/]+|\.\.?\/(?!\.\.\/)[^]*)$/, `${relative(root, file)} imports ${spec}`)
      t.notMatch(spec, /^node:(?:http|https|http2|net|tls|dgram|sqlite|child_process)$/, `${relative(root, file)} imports ${spec}`)
    }
  }
})

/** Relative imports of `file`, resolved to absolute paths (package and `#` imports are not ours to order). */
function localImportsOf(file: string): string[] {
  return importsOf(file)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => join(file, '..', spec))
}

/** The first import cycle in `graph`, as the list of files around it (first file repeated at the end), or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file]
    state.set(file, 'open')
    path.push(file)
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue
      const cycle = visit(next)
      if (cycle !== undefined) return cycle
    }
    path.pop()
    state.set(file, 'done')
    return undefined
  }
  for (const file of [...graph.keys()].sort()) {
    const cycle = visit(file)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

const nodeSrc = join(root, 'node', 'src')

t.test('node/src has no import cycle', async (t) => {
  // A cycle means two modules cannot be understood (or loaded, or tested) one without the other.
  const graph = new Map(sources(nodeSrc).map((file) => [file, localImportsOf(file)]))
  const cycle = findCycle(graph)
  t.equal(cycle?.map((file) => relative(root, file)).join(' → '), undefined, 'import cycle')
})

t.test('cases/ never imports sending/ or receiving/', async (t) => {
  // Cases are what is shared; sharing reacts to case changes through outbox events, never the other way round.
  const wrong = sources(join(nodeSrc, 'cases')).flatMap((file) =>
    localImportsOf(file)
      .filter((target) => /^(?:sending|receiving)\//.test(relative(nodeSrc, target)))
      .map((target) => `${relative(root, file)} imports ${relative(root, target)}`),
  )
  t.same(wrong, [])
})

t.test('the product never imports test support, demos, tests or the bench', async (t) => {
  const product = [join('protocol', 'src'), join('certs', 'src'), join('node', 'src'), join('packaging', 'src'), 'client'].flatMap((dir) =>
    sources(join(root, dir)),
  )
  const wrong = product.flatMap((file) =>
    localImportsOf(file)
      .filter((target) => /^(?:testkit|demo|test|bench)\/|\/test\//.test(relative(root, target)))
      .map((target) => `${relative(root, file)} imports ${relative(root, target)}`),
  )
  t.same(wrong, [])
})

t.test('no folder under node/src holds more than 15 files directly', async (t) => {
  // Past that a folder stops telling the story of what it holds; split it by domain.
  const folders = (dir: string): string[] => [
    dir,
    ...readdirSync(dir)
      .map((name) => join(dir, name))
      .filter((path) => statSync(path).isDirectory())
      .flatMap(folders),
  ]
  const crowded = folders(nodeSrc)
    .map((folder) => ({ folder: relative(root, folder), files: readdirSync(folder).filter((name) => statSync(join(folder, name)).isFile()).length }))
    .filter(({ files }) => files > 15)
  t.same(crowded, [])
})
