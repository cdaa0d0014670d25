/**
 * `caseway demo`: two organizations on loopback share part of a case, end to end, with real
 * processes and mutual TLS (`demo/two_orgs.ts`). Exit status 0 when every step did
 * what it should; otherwise one line on stderr and a non-zero status.
 *
 * @module
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { argument } from '../arguments.ts'
import { UsageError } from '../errors.ts'
import { onOutputClosed, print } from '../output.ts'

interface DemoOptions {
  keep?: boolean
  timeout: number
  orgs: number
  packages?: string
}

const parseOrgs = argument((value) => {
  if (value !== '2' && value !== '3') throw new TypeError('expected 2 or 3')
  return Number(value)
})

const parseSeconds = argument((value) => {
  const seconds = Number(value)
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > 3600) throw new TypeError('expected a whole number of seconds from 1 to 3600')
  return seconds
})

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run two organizations (Metro PD, County DA) on loopback and share a case between them (recipients, notification e-mail, import, access listing, audit trail), telling what happens',
    )
    .option('--keep', 'keep the temporary directory (node directories, keys, logs) and print its path')
    .option('--timeout <seconds>', 'longest wait for any one step', parseSeconds, 60)
    .option(
      '--orgs <n>',
      '2 (default), or 3: Metro PD → County DA → State Lab, with updates, onward sharing, the refused onward shares and revocation',
      parseOrgs,
      2,
    )
    .option('--packages <dir>', "also write the case shared with a link as case.zip, case.tar, case.iso and the sender's ca.crt into <dir> (two organizations)")
    .action(async (options: DemoOptions) => {
      // `caseway demo | head`: the nodes are stopped, then the demo ends with exit 0.
      const outputClosed = new AbortController()
      onOutputClosed(() => outputClosed.abort())
      const stop = outputClosed.signal
      if (options.orgs === 3) {
        if (options.packages !== undefined) throw new UsageError('--packages goes with the two-organization demo')
        const { runThreeOrgsDemo } = await import('../../demo/three_orgs.ts')
        await runThreeOrgsDemo({ keep: options.keep === true, timeoutMs: options.timeout * 1000, say: (line) => print(line + '\n'), stop })
        print('Demo complete.\n')
        return
      }
      const { runTwoOrgsDemo } = await import('../../demo/two_orgs.ts')
      await runTwoOrgsDemo({
        keep: options.keep === true,
        timeoutMs: options.timeout * 1000,
        say: (line) => print(line + '\n'),
        stop,
        ...(options.packages === undefined ? {} : { packagesDir: resolve(options.packages) }),
      })
      print('Demo complete.\n')
    })
}
