/**
 * `npm run spec:coverage`: for every MUST of SPEC.md, the tests that check it — conformance
 * tests (`ALL_TESTS`, by their `spec` field) and unit/integration test files (by their
 * `// spec: CW-…` comments) — then the MUSTs without any test. The last line is
 * `{"musts": n, "wire_observable": n, "untested_wire_observable": n}`, where an untested
 * wire-observable MUST is a *wire* MUST that no CONFORMANCE test cites (unit tests check our
 * code, not the wire, so they do not count for it).
 *
 * A requirement is an item `- **CW-XXX-NNN** (*wire*|*local*) text…` running to the next item,
 * blank line or heading; it is a MUST when its text says MUST, MUST NOT, REQUIRED, SHALL or
 * SHALL NOT; one marked *withdrawn* is left out.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConformanceTest } from '../src/suite.ts'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Requirement {
  id: string
  tag: 'wire' | 'local'
  text: string
  must: boolean
  withdrawn: boolean
}

export interface CoverageEntry {
  requirement: Requirement
  /** Conformance test ids citing it. */
  conformance: string[]
  /** Unit/integration test files citing it, relative to the repository root. */
  unit: string[]
}

export interface Coverage {
  entries: CoverageEntry[]
  summary: { musts: number; wire_observable: number; untested_wire_observable: number }
}

const ITEM = /^- \*\*(CW-[A-Z]+-\d{3})\*\* \(\*(wire|local)\*\)(.*)$/
const NORMATIVE = /\b(?:MUST(?: NOT)?|REQUIRED|SHALL(?: NOT)?)\b/
const ID = /CW-[A-Z]+-\d{3}/g

/** Every requirement item of SPEC.md, in document order. */
export function parseRequirements(spec: string): Requirement[] {
  const requirements: Requirement[] = []
  let current: { id: string; tag: 'wire' | 'local'; lines: string[] } | undefined
  const finish = () => {
    if (current === undefined) return
    const text = current.lines.join(' ').replace(/\s+/g, ' ').trim()
    requirements.push({ id: current.id, tag: current.tag, text, must: NORMATIVE.test(text), withdrawn: /\*withdrawn\*/i.test(text) })
    current = undefined
  }
  for (const line of spec.split(/\r?\n/)) {
    const item = ITEM.exec(line)
    if (item !== null) {
      finish()
      current = { id: item[1]!, tag: item[2] as 'wire' | 'local', lines: [item[3]!] }
    } else if (current !== undefined) {
      // An item ends at a blank line, the next list item, a heading or a table.
      if (line.trim() === '' || /^(?:- |#|\|)/.test(line)) finish()
      else current.lines.push(line)
    }
  }
  finish()
  return requirements
}

/** The MUSTs: normative requirements that are not withdrawn. */
export function mustsOf(requirements: readonly Requirement[]): Requirement[] {
  return requirements.filter((requirement) => requirement.must && !requirement.withdrawn)
}

function testFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...testFiles(path))
    else if (entry.name.endsWith('.test.ts') && /(?:^|\/)test\//.test(relative(REPO_ROOT, path))) out.push(path)
  }
  return out
}

/** Requirement ID → test files (relative paths) whose `// spec:` comments cite it. */
export function unitCitations(root: string = REPO_ROOT): Map<string, string[]> {
  const cited = new Map<string, string[]>()
  for (const file of testFiles(root).sort()) {
    const text = readFileSync(file, 'utf8')
    const ids = new Set<string>()
    for (const match of text.matchAll(/\/\/\s*spec:\s*([^\n]*)/g)) for (const id of match[1]!.match(ID) ?? []) ids.add(id)
    for (const id of ids) {
      const files = cited.get(id) ?? []
      files.push(relative(root, file))
      cited.set(id, files)
    }
  }
  return cited
}

export function coverage(requirements: readonly Requirement[], tests: readonly ConformanceTest[], unit: ReadonlyMap<string, readonly string[]>): Coverage {
  const entries = mustsOf(requirements).map((requirement) => ({
    requirement,
    conformance: tests.filter((test) => test.spec.includes(requirement.id)).map((test) => test.id),
    unit: [...(unit.get(requirement.id) ?? [])],
  }))
  const wire = entries.filter((entry) => entry.requirement.tag === 'wire')
  return {
    entries,
    summary: {
      musts: entries.length,
      wire_observable: wire.length,
      untested_wire_observable: wire.filter((entry) => entry.conformance.length === 0).length,
    },
  }
}

/** The printed report; its last line is the summary JSON. */
export function coverageReport(result: Coverage): string {
  const lines: string[] = []
  lines.push(`SPEC.md MUSTs and the tests that check them`, '')
  for (const { requirement, conformance, unit } of result.entries) {
    lines.push(`${requirement.id} (${requirement.tag})`)
    lines.push(`  conformance: ${conformance.length === 0 ? '—' : conformance.join(', ')}`)
    lines.push(`  unit:        ${unit.length === 0 ? '—' : unit.join(', ')}`)
  }
  const untested = result.entries.filter((entry) => entry.conformance.length === 0 && entry.unit.length === 0)
  const wireUntested = result.entries.filter((entry) => entry.requirement.tag === 'wire' && entry.conformance.length === 0)
  lines.push('', `MUSTs without any test (${untested.length}):`)
  for (const { requirement } of untested) lines.push(`  ${requirement.id} (${requirement.tag}) ${requirement.text.slice(0, 100)}`)
  if (untested.length === 0) lines.push('  none')
  lines.push('', `Wire-observable MUSTs without a conformance test (${wireUntested.length}):`)
  for (const { requirement, unit } of wireUntested)
    lines.push(`  ${requirement.id}${unit.length > 0 ? ` (unit tests only: ${unit.length} files)` : ''} ${requirement.text.slice(0, 100)}`)
  if (wireUntested.length === 0) lines.push('  none')
  lines.push('', JSON.stringify(result.summary))
  return lines.join('\n')
}

if (import.meta.main) {
  const { ALL_TESTS } = await import('../src/all_tests.ts')
  const requirements = parseRequirements(readFileSync(join(REPO_ROOT, 'SPEC.md'), 'utf8'))
  process.stdout.write(`${coverageReport(coverage(requirements, ALL_TESTS, unitCitations()))}\n`)
}
