/**
 * `caseway doctor`: a list of checks on a node directory, each ok, warn or fail with a one-line
 * reason (see `../doctor.ts`): the configuration, the key and token files and their modes, the
 * certificates' days left, the listeners' ports, the clock, the blob store, and a mutual-TLS
 * connection to each enabled partner. Exit 1 when any check fails, else 0 (warnings included).
 *
 * @module
 */
import type { Command } from 'commander'
import { print, printable } from '../output.ts'

interface DoctorOptions {
  dir: string
  json?: boolean
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'check a node: configuration, key files and modes, certificates, ports, clock, blob store, and mTLS to each partner (exit 1 if any check fails)',
    )
    .option('--dir <dir>', 'node directory', './data')
    .option('--json', 'print the checks as JSON')
    .action(async (options: DoctorOptions) => {
      const { runChecks } = await import('../doctor.ts')
      const checks = await runChecks(options.dir)
      const failed = checks.filter((check) => check.status === 'fail').length
      if (options.json === true) {
        print(JSON.stringify({ ok: failed === 0, checks }, null, 2) + '\n')
      } else {
        const width = Math.max(...checks.map((check) => check.name.length))
        for (const check of checks) print(`${check.status.padEnd(4)}  ${printable(check.name).padEnd(width)}  ${printable(check.detail)}\n`)
      }
      if (failed > 0) throw Object.assign(new Error(`${failed} of ${checks.length} checks failed`), { code: 'CW_DOCTOR_CHECK_FAILED' })
    })
}
