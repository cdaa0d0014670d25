/**
 * How the CLI reports a failure: one line on stderr, `caseway: [<CODE>: ]<message>`, and an
 * exit status: 2 for usage errors (bad arguments, caller `TypeError`s), 1 for everything else.
 * No stack trace unless `CASEWAY_DEBUG=1`.
 *
 * @module
 */
import { CommanderError } from 'commander'
import { printable } from './output.ts'

/** Exit status of a refused or failed operation. */
export const EXIT_FAILURE = 1
/** Exit status of a usage error. */
export const EXIT_USAGE = 2

/** A command line the CLI cannot act on (missing or conflicting options). */
export class UsageError extends Error {
  override name = 'UsageError'
}

const CODE = /^[A-Z][A-Z0-9_]*$/

function oneLine(text: string): string {
  return printable(text.replace(/\s*\n\s*/g, ' ').trim())
}

/** Writes the report of `error` to stderr and returns the exit status. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (error instanceof CommanderError) {
    // Help and version were printed already. `commander.help` with a non-zero exit code is the
    // help shown on stderr for a missing subcommand.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0
    if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : EXIT_USAGE
    stderr.write(`caseway: ${oneLine(error.message.replace(/^error: /, ''))}\n`)
    return EXIT_USAGE
  }
  const debug = process.env['CASEWAY_DEBUG'] === '1'
  const stack = debug && error instanceof Error && error.stack !== undefined ? error.stack + '\n' : ''
  if (error instanceof UsageError || error instanceof TypeError) {
    stderr.write(`caseway: ${oneLine(error.message)}\n${stack}`)
    return EXIT_USAGE
  }
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  let line = oneLine(message)
  if (typeof code === 'string' && CODE.test(code) && !line.startsWith(`${code}:`)) line = `${code}: ${line}`
  // A CasewayError says where in the input the fault is (duck-typed: this module stays light).
  const at = (error as { at?: unknown } | null)?.at
  if (typeof at === 'string' && at !== '') line += ` (at ${at})`
  stderr.write(`caseway: ${line}\n${stack}`)
  return EXIT_FAILURE
}
