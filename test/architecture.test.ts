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
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2]!,
  )
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
