/**
 * A source mutation: one or more edits, each replacing text that occurs exactly once in a
 * source file (relative to the repository root, under node/src or protocol/src). Shared by the
 * loader hook (which applies it inside the node process) and the runner (which sets it up).
 *
 * A mutation reaches a process only through the `CASEWAY_MUTATION` environment variable read
 * by `register.ts`, itself loaded only by `NODE_OPTIONS=--import …`: nothing in node/ reads the
 * variable and no configuration field names it, so a production node cannot run with a fault.
 *
 * `CASEWAY_MUTATION` is the JSON of {@link Mutation}, or of a single {@link Edit}
 * (`{"file", "find", "replace"}`).
 *
 * @module
 */
import { appendFileSync, readFileSync, realpathSync } from 'node:fs'
import { isAbsolute, join, normalize } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The environment variable that carries the mutation. */
export const MUTATION_ENV = 'CASEWAY_MUTATION'

/** The repository root (test/conformance/mutation/../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Source files a mutation may touch. */
const MUTABLE = /^(?:node|protocol)\/src\/[\w./-]+\.ts$/

export interface Edit {
  /** Source file relative to the repository root, e.g. `node/src/federation/server.ts`. */
  file: string
  /** Text that must occur exactly once in the file (after the edits before it in the same file). */
  find: string
  replace: string
}

export interface Mutation {
  edits: Edit[]
  /** When set, the loader hook appends a line `<file>` here each time it has mutated a file. */
  marker?: string
}

function parseEdit(value: unknown, at: string): Edit {
  const { file, find, replace } = (value ?? {}) as Record<string, unknown>
  if (typeof file !== 'string' || typeof find !== 'string' || typeof replace !== 'string') {
    throw new Error(`${MUTATION_ENV}${at}: needs string fields file, find and replace`)
  }
  if (find.length === 0) throw new Error(`${MUTATION_ENV}${at}: find is empty`)
  if (find === replace) throw new Error(`${MUTATION_ENV}${at}: replace equals find (no mutation)`)
  if (isAbsolute(file) || normalize(file) !== file || file.includes('..') || !MUTABLE.test(file)) {
    throw new Error(`${MUTATION_ENV}${at}: file must be a .ts path under node/src or protocol/src, relative to the repository root (got ${file})`)
  }
  return { file, find, replace }
}

/** Parses and checks the JSON of `CASEWAY_MUTATION`; throws on anything off. */
export function parseMutation(json: string): Mutation {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    throw new Error(`${MUTATION_ENV} is not JSON`)
  }
  if (typeof value !== 'object' || value === null) throw new Error(`${MUTATION_ENV} must be a JSON object`)
  const { edits, marker } = value as Record<string, unknown>
  let parsed: Edit[]
  if (edits === undefined) parsed = [parseEdit(value, '')]
  else if (Array.isArray(edits) && edits.length > 0) parsed = edits.map((edit, index) => parseEdit(edit, `.edits[${index}]`))
  else throw new Error(`${MUTATION_ENV}: edits must be a non-empty list`)
  if (marker !== undefined && (typeof marker !== 'string' || !isAbsolute(marker))) throw new Error(`${MUTATION_ENV}: marker must be an absolute path`)
  return { edits: parsed, ...(marker === undefined ? {} : { marker }) }
}

/** The files a mutation edits, each once. */
export function mutatedFiles(mutation: Mutation): string[] {
  return [...new Set(mutation.edits.map((edit) => edit.file))]
}

/** The `file:` URL the module loader gives `file` (symbolic links resolved, as the loader does). */
export function fileUrl(file: string): string {
  return pathToFileURL(realpathSync(join(REPO_ROOT, file))).href
}

/** How often `find` occurs in `source` (non-overlapping). */
export function occurrences(source: string, find: string): number {
  return source.split(find).length - 1
}

/** `source` with its only occurrence of `edit.find` replaced; throws unless it occurs exactly once. */
export function applyEdit(source: string, edit: Edit): string {
  const count = occurrences(source, edit.find)
  if (count !== 1) throw new Error(`mutation of ${edit.file}: ${JSON.stringify(edit.find)} occurs ${count} times, expected exactly once`)
  const at = source.indexOf(edit.find)
  return source.slice(0, at) + edit.replace + source.slice(at + edit.find.length)
}

/** `source` of `file` with every edit of the mutation for that file applied, in order. */
export function applyMutation(source: string, file: string, mutation: Mutation): string {
  return mutation.edits.filter((edit) => edit.file === file).reduce(applyEdit, source)
}

/** Applies the mutation to the files on disk, in memory: throws if an edit does not apply exactly once. */
export function checkMutationOnDisk(mutation: Mutation): void {
  for (const file of mutatedFiles(mutation)) applyMutation(readFileSync(join(REPO_ROOT, file), 'utf8'), file, mutation)
}

/** Records that `file` was loaded mutated (the runner's proof that the fault was live). */
export function markApplied(mutation: Mutation, file: string): void {
  if (mutation.marker !== undefined) appendFileSync(mutation.marker, `${file}\n`)
}
