/**
 * Small printing helpers shared by the commands.
 *
 * @module
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * `text` with control characters escaped (`\u000a`): names and subjects come from partners'
 * bundles and certificates, and must not forge extra lines in what the operator reads.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `label  value` lines with the values aligned (and made printable). */
export function fields(rows: readonly (readonly [string, string])[], indent = ''): string {
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${indent}${label.padEnd(width)}  ${printable(value)}\n`).join('')
}

export function print(text: string): void {
  process.stdout.write(text)
}

export function printError(text: string): void {
  process.stderr.write(text)
}
