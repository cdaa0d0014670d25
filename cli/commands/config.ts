/**
 * `caseway config check`: validates a node directory's `caseway.json` exactly as the node does
 * at start-up — the one loader (`node/src/config/load.ts`): JSON, schema, secrets given by
 * reference resolved, an inline secret in a file others can read refused, distinct ports —
 * without starting the node or opening a port. Exit 0 with one "ok" line; else exit 1 with
 * `caseway: CW_CONFIG_INVALID: <file>: … <key>: <what is wrong>`.
 *
 * @module
 */
import type { Command } from 'commander'
import { print } from '../output.ts'

interface CheckOptions {
  dir: string
  json?: boolean
}

export function register(program: Command): void {
  const config = program.command('config').description("the node's configuration (caseway.json)")

  config
    .command('check')
    .description('validate caseway.json as the node does at start-up (schema, secrets, ports), without starting it')
    .option('--dir <dir>', 'node directory', './data')
    .option('--json', 'print the result as JSON')
    .action(async (options: CheckOptions) => {
      const { resolve } = await import('node:path')
      const { CONFIG_FILE, CONFIG_INVALID, ConfigError, loadConfig } = await import('../../node/src/config/load.ts')
      const file = resolve(options.dir, CONFIG_FILE)
      try {
        const loaded = await loadConfig(options.dir)
        const listeners = [
          `federation ${loaded.federation.port}`,
          `local ${loaded.local.port}`,
          ...(loaded.ops === undefined ? [] : [`ops ${loaded.ops.port}`]),
        ]
        if (options.json === true) print(JSON.stringify({ ok: true, file, org: loaded.org }, null, 2) + '\n')
        else print(`ok: ${file} is valid (org ${loaded.org}; ports ${listeners.join(', ')})\n`)
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        if (options.json === true) {
          print(JSON.stringify({ ok: false, code: CONFIG_INVALID, file: error.file ?? file, key: error.key ?? null, message: error.message }, null, 2) + '\n')
        }
        // Carries CONFIG_INVALID: reported as every command reports it (cli/errors.ts).
        throw error
      }
    })
}
