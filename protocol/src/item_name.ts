/**
 * The name of an evidence item or folder (SPEC.md CW-FMT-007): one path component, shown to
 * people and used as a download file name, so nothing in it may climb a directory, reorder
 * what a reader sees, or control a terminal. The same rule as `common.schema.json#/$defs/ItemName`.
 *
 * @module
 */

/** Longest item or folder name, in code points (as JSON Schema counts `maxLength`). */
export const ITEM_NAME_MAX_LENGTH = 255

/** Control characters (C0, DEL, C1), bidirectional controls, and path separators. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u

/** Whether `name` is a valid item or folder name (CW-FMT-007). */
export function isItemName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && [...name].length <= ITEM_NAME_MAX_LENGTH && name !== '.' && name !== '..' && !FORBIDDEN.test(name)
}

/** Characters a download file name loses (CW-FMT-007's forbidden set, which includes the path separators). */
const UNSAFE_IN_FILE_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu

/**
 * A name fit to offer as a download file name, whatever is stored: only its last path
 * component, without control or bidirectional characters; `fallback` when nothing is left.
 */
export function safeFileName(name: string, fallback = 'download'): string {
  const last = name.split(/[/\\]/).pop() ?? ''
  const cleaned = last.replace(UNSAFE_IN_FILE_NAME, '').trim()
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? fallback : cleaned
}
