/**
 * The `caseway` command line. `bin/caseway.js` makes sure Node.js 24 runs it and calls
 * {@link main}. Each command group lives in `commands/<group>.ts` and exports `register`.
 *
 * @module
 */
import { Command } from 'commander'
import packageJson from '../package.json' with { type: 'json' }
import * as audit from './commands/audit.ts'
import * as backup from './commands/backup.ts'
import * as blobs from './commands/blobs.ts'
import * as cases from './commands/case.ts'
import * as certs from './commands/certs.ts'
import * as config from './commands/config.ts'
import * as conformance from './commands/conformance.ts'
import * as demo from './commands/demo.ts'
import * as doctor from './commands/doctor.ts'
import * as node from './commands/node.ts'
import * as packages from './commands/package.ts'
import * as partner from './commands/partner.ts'
import * as policy from './commands/policy.ts'
import * as share from './commands/share.ts'
import * as status from './commands/status.ts'
import * as tokens from './commands/tokens.ts'
import * as verify from './commands/verify.ts'
import { reportError } from './errors.ts'
import { watchStdout } from './output.ts'

/** Command groups, in help order. To add one: a file in `commands/` and a line here. */
const COMMANDS: readonly { register(program: Command): void }[] = [
  node,
  status,
  config,
  doctor,
  cases,
  tokens,
  certs,
  partner,
  policy,
  share,
  verify,
  packages,
  audit,
  backup,
  blobs,
  demo,
  conformance,
]

/** The program with every command registered; it throws instead of exiting. */
export function createProgram(): Command {
  const program = new Command('caseway')
    .description('Caseway federation gateway for agency-to-agency case and evidence sharing')
    .version(packageJson.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    // Options of `caseway` itself come before the command: `--version` after one is that command's (policy assign).
    .enablePositionalOptions()
    // Inherited by every command registered below: throw, and let `reportError` print one line.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
  for (const group of COMMANDS) group.register(program)
  return program
}

/** Runs the command line `argv` (as in `process.argv`) and resolves to the exit status. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  // Output piped into `head`: EPIPE ends the command quietly, exit 0.
  watchStdout()
  try {
    await createProgram().parseAsync([...argv])
    return 0
  } catch (error) {
    return reportError(error)
  }
}
