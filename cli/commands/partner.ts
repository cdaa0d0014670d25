/**
 * `caseway partner …`: export this organization's partner bundle, check a partner's bundle
 * against the fingerprint exchanged out of band (SPEC.md CW-TRUST-001 … CW-TRUST-003).
 * The libraries are imported when a command runs, so `--help` and usage errors stay fast.
 *
 * @module
 */
import type { Command } from 'commander'
import { parseEndpoint, parseFingerprint } from '../arguments.ts'
import { print, printable, printError } from '../output.ts'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export function register(program: Command): void {
  const partner = program.command('partner').description('exchange partner bundles')

  partner
    .command('export')
    .description("print this organization's partner bundle (JSON) and its CA fingerprint (on stderr)")
    .argument('<orgdir>', 'organization directory (only ca.crt is read)')
    .option('--endpoint <url>', 'federation endpoint (default: the one in partner-bundle.json, else https://<node host>:8443)', parseEndpoint)
    .option('--out <file>', 'write the bundle to this file instead of stdout')
    .action(async (dir: string, options: { endpoint?: string; out?: string }) => {
      const { exportPartnerBundle, writePublicFile } = await import('#certs')
      const bundle = await exportPartnerBundle({ dir, ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }) })
      const json = JSON.stringify(bundle, null, 2) + '\n'
      if (options.out === undefined) print(json)
      else await writePublicFile(options.out, json)
      printError(`fingerprint ${bundle.caFingerprint}\n`)
    })

  partner
    .command('check')
    .description('check a partner bundle against the CA fingerprint exchanged out of band')
    .argument('<bundle>', 'bundle file (JSON), or - for stdin')
    .requiredOption('--fingerprint <sha256>', "CA fingerprint: sha256:<hex>, hex, or OpenSSL's AB:CD:… form", parseFingerprint)
    .action(async (path: string, options: { fingerprint: string }) => {
      const { parsePartnerBundleText, readPartnerBundleFile } = await import('#certs')
      const { checkPartnerBundle } = await import('#protocol')
      const value = path === '-' ? parsePartnerBundleText(await readStdin()) : await readPartnerBundleFile(path)
      const bundle = checkPartnerBundle(value, { fingerprint: options.fingerprint })
      print(`ok ${bundle.org} ${printable(bundle.name)} ${bundle.caFingerprint}\n`)
    })
}
