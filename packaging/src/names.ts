/**
 * Safe, unique package paths from user-given evidence and folder names (SPEC.md CW-PKG-005).
 * Names are hostile input: `../`, absolute paths, NUL and control characters, bidi overrides,
 * Windows device names, trailing dots and spaces, names that differ only in case or Unicode
 * normalization, 300-character names. Every one becomes a component that extracts inside the
 * target folder on Linux, macOS and Windows and fits a Joliet record; the table of contents
 * maps it back to the original.
 *
 * @module
 */
import { foldPath } from '#protocol'

/** Longest component, in UTF-16 code units (Joliet's limit). */
export const MAX_COMPONENT_UNITS = 64
/** Longest component, in UTF-8 bytes (NAME_MAX of common file systems). */
export const MAX_COMPONENT_BYTES = 255

const REMOVE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g
const REPLACE = /[\\/:*?"<>|;]/g
const RESERVED = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$/i
const encoder = new TextEncoder()

function fits(text: string): boolean {
  return text.length <= MAX_COMPONENT_UNITS && encoder.encode(text).length <= MAX_COMPONENT_BYTES
}

/** Cuts `text` to fit, never inside a surrogate pair. */
function cut(text: string, reserve: number): string {
  let out = text
  while (out.length > 0 && !fits(out + 'x'.repeat(reserve))) {
    out = out.slice(0, -1)
    if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1)
  }
  return out
}

function tidy(text: string): string {
  return text.replace(/^[ .]+/, (lead) => lead.replaceAll('.', '_').replaceAll(' ', '')).replace(/[ .]+$/, '')
}

/** Splits a name into stem and extension (the extension kept through truncation and renaming). */
function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || name.length - dot > 16) return [name, '']
  return [name.slice(0, dot), name.slice(dot)]
}

/**
 * One safe path component for a user-given name: NFC, control, bidi and zero-width characters
 * removed, `\ / : * ? " < > | ;` replaced by `_`, no leading dot or space, no trailing dot or
 * space, Windows device names prefixed with `_`, at most 64 UTF-16 units and 255 UTF-8 bytes.
 * Never empty.
 */
export function safeComponent(name: string): string {
  let text = String(name).toWellFormed().normalize('NFC').replace(REMOVE, '').replace(REPLACE, '_')
  text = tidy(text)
  if (text === '') text = '_'
  if (RESERVED.test(text)) text = '_' + text
  if (!fits(text)) {
    const [stem, extension] = splitExtension(text)
    text = tidy(cut(stem, extension.length)) + extension
    if (!fits(text)) text = tidy(cut(text, 0))
  }
  return text === '' ? '_' : text
}

/** `name` made unique among `taken` (folded keys) by ` (2)`, ` (3)`, … before its extension. */
function unique(name: string, taken: Set<string>, isFolder: boolean): string {
  let candidate = name
  for (let n = 2; taken.has(foldPath(candidate)); n++) {
    const [stem, extension] = isFolder ? [name, ''] : splitExtension(name)
    const suffix = ` (${n})`
    candidate = tidy(cut(stem, suffix.length + extension.length)) + suffix + extension
  }
  taken.add(foldPath(candidate))
  return candidate
}

/** An item to place: its folder names from the top, and its own name. */
export interface NamedItem {
  folders: readonly string[]
  name: string
}

/**
 * Allocates package paths under `root` for `items`, in their order (so the same input always
 * gives the same paths): with `retainFolderStructure` each item keeps its folders, otherwise
 * all sit directly in `root`. Paths are unique even after case folding and Unicode
 * normalization, and no file shares a path with a folder.
 *
 * @example
 * ```ts
 * allocatePaths('evidence', [{ folders: ['..'], name: 'CON.txt' }], { retainFolderStructure: true })
 * // ['evidence/_/_CON.txt']
 * ```
 */
export function allocatePaths(root: string, items: readonly NamedItem[], options: { retainFolderStructure: boolean }): string[] {
  const takenIn = new Map<string, Set<string>>()
  const folderPaths = new Map<string, string>()
  const taken = (folder: string): Set<string> => {
    let set = takenIn.get(folder)
    if (set === undefined) takenIn.set(folder, (set = new Set()))
    return set
  }
  return items.map((item) => {
    let folder = root
    if (options.retainFolderStructure) {
      let key = ''
      for (const name of item.folders) {
        key += '\u0000' + name
        let safe = folderPaths.get(key)
        if (safe === undefined) {
          safe = `${folder}/${unique(safeComponent(name), taken(folder), true)}`
          folderPaths.set(key, safe)
        }
        folder = safe
      }
    }
    return `${folder}/${unique(safeComponent(item.name), taken(folder), false)}`
  })
}
