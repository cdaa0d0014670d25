/**
 * `caseway certs …`: create the organization's CA, node and signing certificates, renew the
 * leaves, inspect certificates. The work is done by `#certs`; this file parses and prints.
 * `#certs` is imported when a command runs, so `--help` and usage errors stay fast.
 *
 * @module
 */
import { relative } from 'node:path'
import type { Command } from 'commander'
import type { CertificateInfo, RenewResult } from '#certs'
import { DEFAULT_CA_VALIDITY_DAYS, DEFAULT_LEAF_VALIDITY_DAYS } from '../../certs/src/options.ts'
import { collectHost, parseDays, parseEndpoint, parseOrgId } from '../arguments.ts'
import { UsageError } from '../errors.ts'
import { pkiDirOf } from '../node_dir.ts'
import { fields, print } from '../output.ts'

export function register(program: Command): void {
  const certs = program.command('certs').description("create, renew and inspect the organization's certificates")

  certs
    .command('init-org')
    .description('create the org CA, node TLS certificate, signing certificate, their keys (0600) and the partner bundle')
    .requiredOption('--org <orgId>', 'organization id: lower-case letters, digits, inner hyphens', parseOrgId)
    .requiredOption('--name <name>', 'organization display name (the O attribute)')
    .option('--host <host>', 'DNS name or IP address of the node; repeat for several (at least one)', collectHost)
    .option('--endpoint <url>', 'federation endpoint for the partner bundle (default https://<first host>:8443)', parseEndpoint)
    .option('--validity-days <days>', 'validity of the node and signing certificates', parseDays, DEFAULT_LEAF_VALIDITY_DAYS)
    .option('--ca-validity-days <days>', 'validity of the CA certificate', parseDays, DEFAULT_CA_VALIDITY_DAYS)
    .requiredOption('--out <dir>', 'directory to write (created with mode 0700)')
    .option('--force', 'replace existing keys and certificates')
    .action(
      async (options: {
        org: string
        name: string
        host?: string[]
        endpoint?: string
        validityDays: number
        caValidityDays: number
        out: string
        force?: boolean
      }) => {
        if (options.host === undefined) throw new UsageError("required option '--host <host>' not specified")
        const { initOrg } = await import('#certs')
        const result = await initOrg({
          org: options.org,
          name: options.name,
          hosts: options.host,
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
          validityDays: options.validityDays,
          caValidityDays: options.caValidityDays,
          out: options.out,
          force: options.force === true,
        })
        print(
          fields([
            ['org', result.bundle.org],
            ['name', result.bundle.name],
            ['directory', result.dir],
            ['wrote', result.files.map((file) => relative(result.dir, file)).join(' ')],
            ['endpoint', result.bundle.endpoint],
            ['fingerprint', result.bundle.caFingerprint],
          ]),
        )
      },
    )

  certs
    .command('issue-node')
    .description("issue a new node TLS certificate and key from the directory's CA")
    .requiredOption('--dir <dir>', 'node directory, or organization directory (ca.crt, ca.key)')
    .option('--host <host>', 'DNS name or IP address; repeat for several (default: those of the current node.crt)', collectHost)
    .option('--validity-days <days>', 'validity of the new certificate', parseDays, DEFAULT_LEAF_VALIDITY_DAYS)
    .option('--force', 'replace a certificate that is valid for more than 30 more days')
    .action(async (options: { dir: string; host?: string[]; validityDays: number; force?: boolean }) => {
      const { renewNodeCertificate } = await import('#certs')
      const result = await renewNodeCertificate({
        dir: await pkiDirOf(options.dir),
        ...(options.host === undefined ? {} : { hosts: options.host }),
        validityDays: options.validityDays,
        force: options.force === true,
      })
      printRenewal(result)
    })

  certs
    .command('issue-signing')
    .description("issue a new signing certificate and key from the directory's CA")
    .requiredOption('--dir <dir>', 'node directory, or organization directory (ca.crt, ca.key)')
    .option('--validity-days <days>', 'validity of the new certificate', parseDays, DEFAULT_LEAF_VALIDITY_DAYS)
    .option('--force', 'replace a certificate that is valid for more than 30 more days')
    .action(async (options: { dir: string; validityDays: number; force?: boolean }) => {
      const { renewSigningCertificate } = await import('#certs')
      const result = await renewSigningCertificate({
        dir: await pkiDirOf(options.dir),
        validityDays: options.validityDays,
        force: options.force === true,
      })
      printRenewal(result)
    })

  // The offline CA workflow: the CA key stays where it lives; only a request and a certificate travel.
  certs
    .command('csr')
    .description('on the node: make a new key (kept pending, 0600) and a certificate request for the CA to sign')
    .requiredOption('--dir <dir>', "node directory, or the node's PKI directory (ca.crt; ca.key not needed)")
    .requiredOption('--kind <kind>', 'node (TLS) or signing', parseKind)
    .option('--host <host>', 'DNS name or IP address of the node (node kind; repeat for several)', collectHost)
    .action(async (options: { dir: string; kind: 'node' | 'signing'; host?: string[] }) => {
      const { createCertificateRequest } = await import('#certs')
      const result = await createCertificateRequest({
        dir: await pkiDirOf(options.dir),
        kind: options.kind,
        ...(options.host === undefined ? {} : { hosts: options.host }),
      })
      print(
        fields([
          ['wrote', result.path],
          ['next', `caseway certs sign --ca-dir <dir with ca.key> --kind ${options.kind} --csr ${result.path} --out <file>`],
        ]),
      )
    })

  certs
    .command('sign')
    .description('where the CA key lives: issue the certificate for a request, with the Caseway profile of its kind')
    .requiredOption('--ca-dir <dir>', 'directory holding ca.crt and ca.key')
    .requiredOption('--csr <file>', 'the request from "caseway certs csr"')
    .requiredOption('--kind <kind>', 'node (TLS) or signing', parseKind)
    .requiredOption('--out <file>', 'where to write the certificate (PEM)')
    .option('--host <host>', 'host names to certify instead of the requested ones (node kind)', collectHost)
    .option('--validity-days <days>', 'validity of the certificate', parseDays, DEFAULT_LEAF_VALIDITY_DAYS)
    .action(async (options: { caDir: string; csr: string; kind: 'node' | 'signing'; out: string; host?: string[]; validityDays: number }) => {
      const { signCertificateRequest } = await import('#certs')
      const { readFile, writeFile } = await import('node:fs/promises')
      const result = await signCertificateRequest({
        caDir: options.caDir,
        request: await readFile(options.csr, 'utf8'),
        kind: options.kind,
        validityDays: options.validityDays,
        ...(options.host === undefined ? {} : { hosts: options.host }),
      })
      await writeFile(options.out, result.pem, { flag: 'wx', mode: 0o644 })
      print(
        fields([
          ['wrote', options.out],
          ['fingerprint', result.fingerprint],
        ]),
      )
    })

  certs
    .command('install')
    .description('on the node: check a signed certificate against ca.crt and the pending key, then put both in place')
    .requiredOption('--dir <dir>', "node directory, or the node's PKI directory")
    .requiredOption('--kind <kind>', 'node (TLS) or signing', parseKind)
    .requiredOption('--cert <file>', 'the certificate from "caseway certs sign"')
    .action(async (options: { dir: string; kind: 'node' | 'signing'; cert: string }) => {
      const { installCertificate } = await import('#certs')
      const { readFile } = await import('node:fs/promises')
      const result = await installCertificate({ dir: await pkiDirOf(options.dir), kind: options.kind, certificate: await readFile(options.cert, 'utf8') })
      print(
        fields([
          ['wrote', result.path],
          ['fingerprint', result.fingerprint],
          ['next', 'restart the node to use it'],
        ]),
      )
    })

  certs
    .command('inspect')
    .description('describe a certificate file, or ca.crt, node.crt and signing.crt in a directory')
    .argument('[path]', 'certificate file (PEM or DER) or organization directory; instead of --dir')
    .option('--dir <dir>', "node directory (its PKI's certificates), or organization directory (default ./data)")
    .option('--json', 'print JSON')
    .action(async (path: string | undefined, options: { dir?: string; json?: boolean }) => {
      if (path !== undefined && options.dir !== undefined) throw new UsageError('give either a path or --dir, not both')
      const { inspectPath } = await import('#certs')
      const files = await inspectPath(path ?? (await pkiDirOf(options.dir ?? './data')))
      if (options.json === true) {
        print(JSON.stringify(files, null, 2) + '\n')
        return
      }
      print(files.map((file) => file.certificates.map((info, index) => describe(file.path, index, file.certificates.length, info)).join('\n')).join('\n'))
    })
}

function parseKind(value: string): 'node' | 'signing' {
  if (value !== 'node' && value !== 'signing') throw new UsageError('--kind must be node or signing')
  return value
}

function printRenewal(result: RenewResult): void {
  const certificate = result.certificate
  print(
    fields([
      ['wrote', `${result.keyPath} ${result.certificatePath}`],
      ['serial', certificate.serialNumber],
      ['not after', certificate.notAfter.toISOString()],
      ['fingerprint', result.fingerprint],
      ...(result.previous === undefined ? [] : [['replaced serial', result.previous.serialNumber] as const]),
    ]),
  )
}

function flagged(values: readonly string[], critical: boolean): string {
  return `${values.length === 0 ? '(none)' : values.join(', ')}${critical ? ' (critical)' : ''}`
}

function describe(path: string, index: number, count: number, info: CertificateInfo): string {
  const rows: [string, string][] = [
    ['subject', info.subject],
    ['issuer', info.selfSigned ? `${info.issuer} (self-signed)` : info.issuer],
    ['org', info.org ?? `(invalid) ${info.orgError ?? ''}`],
    ['serial', info.serial],
    ['fingerprint', info.fingerprint],
    ['key', info.keyAlgorithm],
    ['key usage', info.keyUsage === null ? '(absent)' : flagged(info.keyUsage.usages, info.keyUsage.critical)],
    ['extended key usage', info.extendedKeyUsage === null ? '(absent)' : flagged(info.extendedKeyUsage.usages, info.extendedKeyUsage.critical)],
    [
      'basic constraints',
      info.basicConstraints === null
        ? '(absent)'
        : `CA:${info.basicConstraints.ca ? 'TRUE' : 'FALSE'}${info.basicConstraints.pathLength === undefined ? '' : `, pathlen:${info.basicConstraints.pathLength}`}${info.basicConstraints.critical ? ' (critical)' : ''}`,
    ],
  ]
  for (const uri of info.subjectAltNames.uris) rows.push(['URI', uri])
  for (const dns of info.subjectAltNames.dns) rows.push(['DNS', dns])
  for (const ip of info.subjectAltNames.ips) rows.push(['IP', ip])
  for (const other of info.subjectAltNames.other) rows.push(['SAN', other])
  rows.push(['not before', info.notBefore])
  const left = info.status === 'valid' ? `${info.daysLeft} days left` : info.status
  rows.push(['not after', `${info.notAfter} (${left})`])
  const title = count === 1 ? path : `${path} [${index + 1}/${count}]`
  return `${title}\n${fields(rows, '  ')}`
}
