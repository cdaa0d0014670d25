/**
 * `caseway partner …`: export this organization's partner bundle, check a partner's bundle
 * against the fingerprint exchanged out of band (SPEC.md CW-TRUST-001 … CW-TRUST-003), and,
 * through the running node's local API (admin token), import, list, enable and disable partners.
 * The libraries are imported when a command runs, so `--help` and usage errors stay fast.
 *
 * @module
 */
import type { Command } from 'commander'
import type { Partner } from '../../client/local_client.ts'
import { parseEndpoint, parseFingerprint, parseOrgId, readTextInput } from '../arguments.ts'
import { UsageError } from '../errors.ts'
import { apiOptions, withClient, type ApiOptions } from '../local_api.ts'
import { pkiOf } from '../node_dir.ts'
import { isoTime, print, printable, printError, table } from '../output.ts'

interface ExportOptions {
  dir?: string
  endpoint?: string
  out?: string
}

/** The bundle file as exchanged (what `partner export` writes), or stdin for `-`; unchecked JSON. */
async function readBundle(path: string): Promise<unknown> {
  const { parsePartnerBundleText, readPartnerBundleFile } = await import('#certs')
  return path === '-' ? parsePartnerBundleText(await readTextInput('-')) : readPartnerBundleFile(path)
}

function policyOf(partner: Partner): string {
  return partner.policyId === null ? '-' : `${partner.policyId}@${partner.policyVersion ?? '?'}`
}

function describe(partner: Partner): string {
  return `${partner.org} (${printable(partner.name)})`
}

export function register(program: Command): void {
  const partner = program.command('partner').description('exchange partner bundles; import and manage partners on a running node')

  partner
    .command('export')
    .description("print this organization's partner bundle (JSON) and its CA fingerprint (on stderr)")
    .argument('[orgdir]', 'an organization directory as certs init-org makes it (holds ca.crt); instead of --dir')
    .option('--dir <dir>', 'node directory (its caseway.json says where the PKI is; default ./data)')
    .option('--endpoint <url>', "federation endpoint (default: a node's federation.publicUrl, else the one in partner-bundle.json)", parseEndpoint)
    .option('--out <file>', 'write the bundle to this file instead of stdout')
    .action(async (orgDir: string | undefined, options: ExportOptions) => {
      if (orgDir !== undefined && options.dir !== undefined) throw new UsageError('give either an organization directory or --dir, not both')
      const { exportPartnerBundle, writePublicFile } = await import('#certs')
      let dir = orgDir
      let endpoint = options.endpoint
      if (dir === undefined) {
        // A node directory: the PKI sits where its configuration says, and the endpoint partners
        // reach is the configured public URL (it may have changed since init wrote the bundle).
        const { config, pkiDir } = await pkiOf(options.dir ?? './data')
        dir = pkiDir
        endpoint ??= config.federation.publicUrl
      }
      const bundle = await exportPartnerBundle({ dir, ...(endpoint === undefined ? {} : { endpoint }) })
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
      const { checkPartnerBundle } = await import('#protocol')
      const bundle = checkPartnerBundle(await readBundle(path), { fingerprint: options.fingerprint })
      print(`ok ${bundle.org} ${printable(bundle.name)} ${bundle.caFingerprint}\n`)
    })

  apiOptions(
    partner
      .command('import')
      .description('pin a partner on the running node from its bundle file (as partner export writes it) and the CA fingerprint it read to you')
      .argument('<bundle>', 'bundle file (JSON), or - for stdin')
      .requiredOption(
        '--fingerprint <sha256>',
        "CA fingerprint from the partner, over a second channel: sha256:<hex>, hex, or OpenSSL's AB:CD:… form",
        parseFingerprint,
      )
      .option('--trust-only', "pin the CA only as a trust anchor for signed objects (an onward share's originator): never trusted for TLS, never shared with"),
  ).action(async (path: string, options: ApiOptions & { fingerprint: string; trustOnly?: boolean }) => {
    const bundle = await readBundle(path)
    const pinned = await withClient(options, (client) =>
      options.trustOnly === true ? client.importTrustOnlyPartner(bundle, options.fingerprint) : client.importPartner(bundle, options.fingerprint),
    )
    const state = pinned.trustOnly ? 'trust-only' : pinned.enabled ? 'enabled' : 'disabled'
    printError(`partner ${describe(pinned)} imported, ${state}, CA ${pinned.caFingerprint}, policy ${policyOf(pinned)}\n`)
    if (!pinned.trustOnly && pinned.policyId === null) printError(`no policy assigned yet: caseway policy assign ${pinned.org} <policyId>\n`)
  })

  apiOptions(
    partner
      .command('list')
      .description("list the node's partners: organization, name, endpoint, enabled, policy, added, last contact")
      .option('--json', 'print the list as JSON'),
  ).action(async (options: ApiOptions & { json?: boolean }) => {
    const partners = await withClient(options, (client) => client.listPartners())
    if (options.json === true) {
      print(JSON.stringify(partners, null, 2) + '\n')
      return
    }
    print(
      table(
        ['ORG', 'NAME', 'ENDPOINT', 'ENABLED', 'POLICY', 'ADDED', 'LAST CONTACT'],
        partners.map((p) => [
          p.org,
          p.name,
          p.endpoint,
          p.trustOnly ? 'trust-only' : p.enabled ? 'yes' : 'no',
          policyOf(p),
          isoTime(p.addedAt),
          p.lastContactAt === null || p.lastContactAt === undefined ? 'none' : isoTime(p.lastContactAt),
        ]),
      ),
    )
  })

  for (const action of ['enable', 'disable'] as const) {
    apiOptions(
      partner
        .command(action)
        .description(
          action === 'enable'
            ? 'enable a partner again: its CA is trusted and shares can be made with it'
            : 'disable a partner: its CA is no longer trusted and no share can be made with it',
        )
        .argument('<org>', "the partner's organization id", parseOrgId),
    ).action(async (org: string, options: ApiOptions) => {
      const changed = await withClient(options, (client) => client.setPartnerEnabled(org, action === 'enable'))
      printError(`partner ${describe(changed)} ${changed.enabled ? 'enabled' : 'disabled'}\n`)
    })
  }
}
