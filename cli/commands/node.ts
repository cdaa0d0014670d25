/**
 * `caseway init` and `caseway start`: create a node directory, and run a node in the
 * foreground until SIGTERM or SIGINT.
 *
 * @module
 */
import { join } from 'node:path'
import { Option, type Command } from 'commander'
import { parsePort } from '../arguments.ts'
import { print, printError } from '../output.ts'
import { UsageError } from '../errors.ts'
import type { InitS3Options } from '../../node/src/index.ts'

interface InitOptions {
  org: string
  name: string
  dir: string
  host?: string
  federationPort?: number
  localPort?: number
  force?: boolean
  offlineCa?: string
  s3Endpoint?: string
  s3Bucket?: string
  s3Region?: string
  s3Prefix?: string
  postgres?: boolean
}

interface StartOptions {
  dir: string
  init?: boolean
  org: string
  name: string
  host: string
  s3Endpoint?: string
  s3Bucket?: string
  s3Region?: string
  s3Prefix?: string
  postgres?: boolean
}

export function register(program: Command): void {
  withStorageOptions(program.command('init'))
    .description('create a node: PKI, configuration (caseway.json), data directories and an admin token (in admin.token, mode 0600)')
    .requiredOption('--org <id>', "this organization's id (lower-case letters, digits, hyphens)")
    .requiredOption('--name <name>', 'display name')
    .option('--dir <dir>', 'node directory', './data')
    .option('--host <dns-name>', 'host name partners reach the federation listener on', 'localhost')
    .option('--federation-port <port>', 'federation (partner-facing, mTLS) port', parsePort, 8443)
    .option('--local-port <port>', 'local API port (loopback)', parsePort, 8080)
    .option('--force', 'replace an existing node in this directory')
    .option(
      '--offline-ca <dir>',
      'move the CA key (with a copy of ca.crt) to this directory, off the node folder; sign later certificates there (caseway certs sign)',
    )
    .action(async (options: InitOptions) => {
      const { initNode } = await import('../../node/src/index.ts')
      const { config, bundle, adminTokenFile } = await initNode({ ...options, ...s3Option(options), ...postgresOption(options) })
      if (options.offlineCa !== undefined) await moveCaKey(join(config.dir, config.pki.dir), options.offlineCa)
      print(
        [
          `node ${config.org} (${config.name}) created in ${config.dir}`,
          `federation  ${config.federation.publicUrl}  (listens on ${config.federation.host}:${config.federation.port})`,
          `local API   http://${config.local.host}:${config.local.port}`,
          `partner bundle  ${config.dir}/${config.pki.dir}/partner-bundle.json`,
          `CA fingerprint  ${bundle.caFingerprint}   (read it to partners over a second channel)`,
          `admin token     in ${adminTokenFile}   (readable by you only; expires in ${config.auth.tokens.defaultDays} days)`,
          ...(options.offlineCa === undefined
            ? []
            : [`CA key          moved to ${options.offlineCa}/ca.key — keep it off this host; the node needs only ca.crt`]),
          `start it with   caseway start --dir ${options.dir}`,
          '',
        ].join('\n'),
      )
    })

  withStorageOptions(program.command('start'))
    .description('run a node in the foreground; SIGTERM or SIGINT stops it cleanly (work resumes on the next start)')
    .option('--dir <dir>', 'node directory', './data')
    .option('--init', 'create the node first if the directory holds none (with --org and --name)')
    .option('--org <id>', 'organization id for --init', 'local-agency')
    .option('--name <name>', 'display name for --init', 'Local Agency')
    .option('--host <dns-name>', 'host name partners reach the federation listener on, for --init', 'localhost')
    // Kept so that old scripts still start: a node no longer mints tokens at start-up (CW-LOC-011).
    .addOption(new Option('--admin-token', 'no longer used: the admin token is minted once, by init, into admin.token').hideHelp())
    .action(async (options: StartOptions) => {
      const { initNode, createNode, loadConfig, CONFIG_FILE } = await import('../../node/src/index.ts')
      const { adminTokenPath } = await import('../../node/src/access/admin_token.ts')
      const { stopOnSignal, describeReload } = await import('../../node/src/stop_on_signal.ts')
      const { access } = await import('node:fs/promises')
      const { join } = await import('node:path')
      const exists = await access(join(options.dir, CONFIG_FILE)).then(
        () => true,
        () => false,
      )
      if (!exists && options.init) {
        await initNode({ org: options.org, name: options.name, dir: options.dir, host: options.host, ...s3Option(options), ...postgresOption(options) })
      }
      const config = await loadConfig(options.dir)
      const node = await createNode(config)
      const signals = stopOnSignal(node, {
        onStop: ({ signal, err }) => printError(`caseway: ${signal ?? `uncaught error: ${err?.message}`}: stopping\n`),
        print: (line) => printError(`${line}\n`),
        onReload: (report) => printError(`caseway: SIGHUP: ${describeReload(report)}\n`),
      })
      try {
        await node.start()
      } catch (error) {
        // spec: CW-LOC-019 — never half-started: what did open is closed, and the exit is non-zero.
        signals.uninstall()
        await node.stop()
        throw error
      }
      printError(`federation ${node.federationUrl}\nlocal      ${node.localUrl}\n${node.opsUrl === '' ? '' : `ops        ${node.opsUrl}\n`}`)
      // Where the admin token is, never the token itself (CW-LOC-011).
      const tokenFile = adminTokenPath(config.dir)
      if (
        await access(tokenFile).then(
          () => true,
          () => false,
        )
      )
        printError(`admin token in ${tokenFile}\n`)
      // Keep running: the listeners hold the event loop open until stop().
      await new Promise<never>(() => {})
    })
}

/** Options of init (and start --init) for a node whose metadata lives in PostgreSQL or whose blobs live in S3. */
function withStorageOptions(command: Command): Command {
  return command
    .option('--postgres', 'keep the metadata in PostgreSQL at the URL in $CASEWAY_POSTGRES_URL instead of SQLite in the node directory')
    .option(
      '--s3-endpoint <url>',
      'keep evidence in an S3 bucket at this endpoint (MinIO, AWS S3) instead of the node directory; keys from $CASEWAY_S3_ACCESS_KEY and $CASEWAY_S3_SECRET_KEY',
    )
    .option('--s3-bucket <name>', 'the S3 bucket (it must exist), with --s3-endpoint')
    .option('--s3-region <region>', "the bucket's region, with --s3-endpoint (default us-east-1)")
    .option('--s3-prefix <prefix>', 'prefix of every object key, ending in /, with --s3-endpoint')
}

/** The S3 blob store the options ask for, if any: endpoint and bucket go together. */
function s3Option(options: { s3Endpoint?: string; s3Bucket?: string; s3Region?: string; s3Prefix?: string }): { s3?: InitS3Options } {
  const { s3Endpoint: endpoint, s3Bucket: bucket, s3Region: region, s3Prefix: prefix } = options
  if (endpoint === undefined && bucket === undefined) {
    if (region !== undefined || prefix !== undefined) throw new UsageError('--s3-region and --s3-prefix need --s3-endpoint and --s3-bucket')
    return {}
  }
  if (endpoint === undefined || bucket === undefined) throw new UsageError('--s3-endpoint and --s3-bucket go together')
  return { s3: { endpoint, bucket, ...(region === undefined ? {} : { region }), ...(prefix === undefined ? {} : { prefix }) } }
}

/** The PostgreSQL metadata store, if asked for. */
function postgresOption(options: { postgres?: boolean }): { postgres?: boolean } {
  return options.postgres === true ? { postgres: true } : {}
}

/**
 * The offline CA: the CA key leaves the node folder for `caDir` (created 0700, key 0600, never
 * replacing a file there), with a copy of `ca.crt` so that `caseway certs sign` works there.
 */
async function moveCaKey(pkiDir: string, caDir: string): Promise<void> {
  const { chmod, copyFile, constants, mkdir, unlink } = await import('node:fs/promises')
  await mkdir(caDir, { recursive: true, mode: 0o700 })
  await copyFile(join(pkiDir, 'ca.key'), join(caDir, 'ca.key'), constants.COPYFILE_EXCL)
  await chmod(join(caDir, 'ca.key'), 0o600)
  await copyFile(join(pkiDir, 'ca.crt'), join(caDir, 'ca.crt'), constants.COPYFILE_EXCL)
  await unlink(join(pkiDir, 'ca.key'))
}
