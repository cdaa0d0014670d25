/**
 * Requirement IDs are the link between SPEC.md, the tests and the vectors: each is defined
 * once, and every ID a test or vector cites exists.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

const root = new URL('../../', import.meta.url).pathname
const spec = readFileSync(join(root, 'SPEC.md'), 'utf8')
const ID = /CW-[A-Z]+-\d{3}/g

function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, suffix))
    else if (name.endsWith(suffix)) out.push(path)
  }
  return out
}

const defined = [...spec.matchAll(/^- \*\*(CW-[A-Z]+-\d{3})\*\*/gm)].map((m) => m[1]!)

t.test('each requirement ID is defined once', async (t) => {
  t.ok(defined.length > 50, `found ${defined.length} requirements`)
  t.same(
    defined.filter((id, i) => defined.indexOf(id) !== i),
    [],
    'no duplicates',
  )
})

t.test("every normative statement in SPEC.md is an ID'd item tagged wire or local", async (t) => {
  const tagged = [...spec.matchAll(/^- \*\*(CW-[A-Z]+-\d{3})\*\* \(\*(wire|local)\*\)/gm)]
  t.equal(tagged.length, defined.length, 'each ID carries (*wire*) or (*local*)')
  // Blocks are list items and paragraphs; a block with an RFC 2119 MUST/SHALL/REQUIRED must be an ID'd item.
  const blocks = spec.split(/\n(?=- )|\n\s*\n/)
  for (const block of blocks) {
    if (!/\b(?:MUST|SHALL|REQUIRED)\b/.test(block) || block.includes('BCP 14') || block.startsWith('|')) continue
    t.match(block, /^- \*\*CW-[A-Z]+-\d{3}\*\*/, `normative block has an ID: ${block.slice(0, 80)}`)
  }
})

t.test('every ID cited by a test or a vector is defined in SPEC.md', async (t) => {
  const known = new Set(defined)
  const sources = [...filesUnder(root, '.test.ts'), ...filesUnder(join(root, 'protocol', 'vectors'), '.json')]
  for (const file of sources) {
    const text = readFileSync(file, 'utf8')
    for (const id of new Set(text.match(ID) ?? [])) {
      t.ok(known.has(id), `${relative(root, file)} cites ${id}`)
    }
  }
})
