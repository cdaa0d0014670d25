/**
 * `caseway init` and `caseway start`: create a node directory, and run a node in the
 * foreground until SIGTERM or SIGINT.
 *
 * @module
 */
import type { Command } from 'commander'
import { parsePort } from '../arguments.ts'
import { print, printError } from '../output.ts'

interface InitOptions {
  org: string
  name: string
  dir: string
  host?: string
  federationPort?: number
  localPort?: number
  force?: boolean
}

interface StartOptions {
  dir: string
  init?: boolean
  org: string
  name: string
  host: string
  adminToken?: boolean
}

export function register(program: Command): void {
  program
    .command('init')
    .description('create a node: PKI, configuration (caseway.json), data directories and an admin token')
    .requiredOption('--org <id>', "this organization's id (lower-case letters, digits, hyphens)")
    .requiredOption('--name <name>', 'display name')
    .option('--dir <dir>', 'node directory', './data')
    .option('--host <dns-name>', 'host name partners reach the federation listener on', 'localhost')
    .option('--federation-port <port>', 'federation (partner-facing, mTLS) port', parsePort, 8443)
    .option('--local-port <port>', 'local API port (loopback)', parsePort, 8080)
    .option('--force', 'replace an existing node in this directory')
    .action(async (options: InitOptions) => {
      const { initNode, createNode, createToken } = await import('../../node/src/index.ts')
      const { config, bundle } = await initNode(options)
      const node = await createNode(config, { logger: { level: 'silent' } })
      const { token } = await createToken(node.ctx, { userId: 'admin', role: 'admin' })
      await node.stop()
      print(
        [
          `node ${config.org} (${config.name}) created in ${config.dir}`,
          `federation  ${config.federation.publicUrl}  (listens on ${config.federation.host}:${config.federation.port})`,
          `local API   http://${config.local.host}:${config.local.port}`,
          `partner bundle  ${config.dir}/${config.pki.dir}/partner-bundle.json`,
          `CA fingerprint  ${bundle.caFingerprint}   (read it to partners over a second channel)`,
          `admin token     ${token}   (shown once)`,
          `start it with   caseway start --dir ${options.dir}`,
          '',
        ].join('\n'),
      )
    })

  program
    .command('start')
    .description('run a node in the foreground; SIGTERM or SIGINT stops it cleanly (work resumes on the next start)')
    .option('--dir <dir>', 'node directory', './data')
    .option('--init', 'create the node first if the directory holds none (with --org and --name)')
    .option('--org <id>', 'organization id for --init', 'local-agency')
    .option('--name <name>', 'display name for --init', 'Local Agency')
    .option('--host <dns-name>', 'host name partners reach the federation listener on, for --init', 'localhost')
    .option('--admin-token', 'create and print a new admin token at start-up')
    .action(async (options: StartOptions) => {
      const { initNode, createNode, createToken, loadConfig, CONFIG_FILE } = await import('../../node/src/index.ts')
      const { stopOnSignal, describeReload } = await import('../../node/src/stop_on_signal.ts')
      const { access } = await import('node:fs/promises')
      const { join } = await import('node:path')
      const exists = await access(join(options.dir, CONFIG_FILE)).then(
        () => true,
        () => false,
      )
      if (!exists && options.init) await initNode({ org: options.org, name: options.name, dir: options.dir, host: options.host })
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
      if (options.adminToken) {
        const { token } = await createToken(node.ctx, { userId: 'admin', role: 'admin' })
        printError(`admin token ${token}\n`)
      }
      // Keep running: the listeners hold the event loop open until stop().
      await new Promise<never>(() => {})
    })
}
