/**
 * `caseway conformance …`: the conformance harness (conformance/README.md). `init` creates
 * the harness's test organizations and prints the bundles the operator imports into the
 * implementation under test; `run` plays a partner against it and reports per requirement ID.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { argument, parseEndpoint, parseOrgId } from '../arguments.ts'
import { UsageError } from '../errors.ts'
import { print, printable } from '../output.ts'

const REPORTER_NAMES = ['human', 'tap', 'junit', 'json'] as const

const parseListen = argument((value: string) => {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value)
  if (match === null) throw new InvalidArgumentError('expected host:port')
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) }
})

const parseSeconds = argument((value: string) => {
  const seconds = Number(value)
  if (!Number.isInteger(seconds) || seconds < 1) throw new TypeError('expected a whole number of seconds ≥ 1')
  return seconds
})

interface InitOptions {
  dir: string
  org?: string
  endpoint?: string
  targetBundle?: string
  force?: boolean
  json?: boolean
}

interface RunOptions {
  target?: string
  orgDir?: string
  list?: boolean
  targetBundle?: string
  only?: string
  reporter: (typeof REPORTER_NAMES)[number]
  out?: string
  control?: boolean
  listen?: { host: string; port: number }
  wait: number
}

export function register(program: Command): void {
  const conformance = program.command('conformance').description('test an implementation of the Caseway protocol against SPEC.md')

  conformance
    .command('init')
    .description("create the harness's test organizations and print the partner bundles to import into the implementation under test")
    .requiredOption('--dir <dir>', 'harness directory to create')
    .option('--org <id>', "the harness's partner org id (default cw-conformance)", parseOrgId)
    .option('--endpoint <url>', "where the target reaches the harness's listener (default https://127.0.0.1:9443)", parseEndpoint)
    .option('--target-bundle <file>', "the target's partner bundle, copied into the harness directory")
    .option('--force', 'replace an existing harness directory')
    .option('--json', 'print what to import as JSON (bundle paths, fingerprints, the run command), for scripts')
    .action(async (options: InitOptions) => {
      const { copyFile } = await import('node:fs/promises')
      const { join, resolve } = await import('node:path')
      const { initHarness, TARGET_BUNDLE_FILE, loadTarget } = await import('../../conformance/src/index.ts')
      const harness = await initHarness({
        dir: options.dir,
        ...(options.org === undefined ? {} : { org: options.org }),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.force === true ? { force: true } : {}),
      })
      if (options.targetBundle !== undefined) {
        await loadTarget(options.targetBundle)
        await copyFile(options.targetBundle, join(harness.dir, TARGET_BUNDLE_FILE))
      }
      const { main, aux } = harness
      if (options.json === true) {
        const entry = (party: typeof main) => ({
          org: party.org,
          name: party.name,
          bundle: resolve(join(party.dir, 'partner-bundle.json')),
          fingerprint: party.bundle.caFingerprint,
        })
        print(
          `${JSON.stringify(
            {
              dir: harness.dir,
              endpoint: harness.file.endpoint,
              partner: entry(main),
              trustOnly: aux.map(entry),
              targetBundle: options.targetBundle === undefined ? null : join(harness.dir, TARGET_BUNDLE_FILE),
              run: [
                'caseway',
                'conformance',
                'run',
                '--org-dir',
                harness.dir,
                ...(options.targetBundle === undefined ? ['--target-bundle', "<the target's partner-bundle.json>"] : []),
              ],
            },
            null,
            2,
          )}\n`,
        )
        return
      }
      print(`harness ${main.org} in ${printable(harness.dir)}, listening at ${harness.file.endpoint}\n\n`)
      print(`1. Import as a partner (enabled), with a sharing policy assigned for the sender tests:\n`)
      print(`   ${join(main.dir, 'partner-bundle.json')}\n   fingerprint ${main.bundle.caFingerprint}\n\n`)
      print(`2. Import trust-only (anchors for onward chains, never for TLS, SPEC.md CW-PROV-008):\n`)
      for (const party of aux) print(`   ${join(party.dir, 'partner-bundle.json')}\n   fingerprint ${party.bundle.caFingerprint}\n`)
      print(
        `\n3. Run: caseway conformance run --org-dir ${printable(options.dir)} --target https://<host>:<port>${options.targetBundle === undefined ? ' --target-bundle <its partner-bundle.json>' : ''}\n`,
      )
      print(`\n${JSON.stringify(main.bundle, null, 2)}\n`)
    })

  conformance
    .command('run')
    .description('run the conformance suite against an implementation; exit status 1 when a test fails')
    .option('--org-dir <dir>', 'harness directory (caseway conformance init); required unless --list')
    .option('--target <url>', "the target's federation URL (default: the endpoint in its partner bundle)", parseEndpoint)
    .option('--target-bundle <file>', "the target's partner bundle (default: <org-dir>/target-bundle.json)")
    .option('--only <ids>', 'comma-separated test ids, suite groups or requirement IDs (CW-SIG-002, or a prefix like CW-SIG)')
    .addOption(new Option('--reporter <name>', 'report format').choices(REPORTER_NAMES).default('human'))
    .option('--out <file>', 'write the report to this file (a human summary still goes to standard output)')
    .option('--control', 'the target serves the control endpoints of SPEC.md §21 (enables the sender-role tests)')
    .option('--listen <host:port>', "where the harness's listener binds (default: its endpoint's host and port)", parseListen)
    .option('--wait <seconds>', 'how long to wait for what the target does by itself (pulls, receipts)', parseSeconds, 30)
    .option('--list', 'list the tests (id, whether it needs --control, requirement IDs, title) that --only selects, and run nothing; --reporter json for JSON')
    .action(async (options: RunOptions) => {
      const { runConformance, listTests, listText } = await import('../../conformance/src/index.ts')
      const only = options.only?.split(',')
      if (options.list === true) {
        const listed = listTests(only)
        print(`${options.reporter === 'json' ? JSON.stringify(listed, null, 2) : listText(listed)}\n`)
        return
      }
      if (options.orgDir === undefined) throw new UsageError("required option '--org-dir <dir>' not specified")
      const report = await runConformance({
        orgDir: options.orgDir,
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.targetBundle === undefined ? {} : { targetBundle: options.targetBundle }),
        ...(only === undefined ? {} : { only }),
        reporter: options.reporter,
        ...(options.out === undefined ? {} : { out: options.out }),
        control: options.control === true,
        ...(options.listen === undefined ? {} : { listen: options.listen }),
        waitMs: options.wait * 1000,
      })
      if (report.summary.failed > 0) throw new Error(`${report.summary.failed} conformance test${report.summary.failed === 1 ? '' : 's'} failed`)
    })
}
