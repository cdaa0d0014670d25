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

/**
 * A table with a header line and columns padded to their widest cell (cells made printable);
 * the last column is not padded.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows.map((row) => row.map(printable))]
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)))
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ') + '\n').join('')
}

/** Unix seconds as an ISO 8601 UTC time, to the second; `-` for none. */
export function isoTime(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '-' : new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z')
}

export function print(text: string): void {
  process.stdout.write(text)
}

export function printError(text: string): void {
  process.stderr.write(text)
}

const closedHandlers = new Set<() => void>()
let watchingStdout = false

/**
 * What to do when the reader of stdout goes away (`caseway … | head`): `handler` runs instead
 * of the default, which ends the process quietly with exit 0 (the reader had what it wanted).
 * A handler that keeps work running (the demo's nodes) stops it and ends the process itself.
 */
export function onOutputClosed(handler: () => void): () => void {
  closedHandlers.add(handler)
  return () => closedHandlers.delete(handler)
}

/** Installs the EPIPE handling of stdout once (`main` does). */
export function watchStdout(stream: NodeJS.WriteStream = process.stdout): void {
  if (watchingStdout) return
  watchingStdout = true
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') {
      process.stderr.write(`caseway: cannot write the output: ${error.message}\n`)
      process.exit(1)
    }
    if (closedHandlers.size === 0) process.exit(0)
    for (const handler of closedHandlers) handler()
  })
}
