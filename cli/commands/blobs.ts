/**
 * `caseway blobs gc [--dry-run]`: runs a blob collection on the running node now, through its
 * local API (`POST /api/v1/blobs/gc`, administrators; CW-LOC-042), and says what it freed — or,
 * with `--dry-run`, what it would. The node also collects on its own every
 * `storage.blobCollection.intervalMs`.
 *
 * @module
 */
import type { Command } from 'commander'
import { apiOptions, withClient, type ApiOptions } from '../local_api.ts'
import { print } from '../output.ts'

interface GcOptions extends ApiOptions {
  dryRun?: boolean
  json?: boolean
}

export function register(program: Command): void {
  const blobs = program.command('blobs').description("the node's blob store (evidence chunks)")
  apiOptions(
    blobs
      .command('gc')
      .description('delete the chunks no evidence, share in force or external case names, older than the grace period (administrators)')
      .option('--dry-run', 'delete nothing; say what would be freed')
      .option('--json', 'print the result as JSON'),
  ).action(async (options: GcOptions) => {
    const result = await withClient(options, (client) => client.collectBlobs(options.dryRun === true))
    if (options.json === true) {
      print(JSON.stringify(result, null, 2) + '\n')
      return
    }
    print(
      `${result.dryRun ? 'would free' : 'freed'} ${result.freed} blobs (${result.bytesFreed} bytes); ` +
        `kept ${result.referenced} referenced and ${result.young} younger than the grace period, of ${result.examined}\n`,
    )
  })
}
