/**
 * How a process that runs a node stops it: the one place that handles signals, through
 * close-with-grace. SIGTERM, SIGINT (and the other terminating signals it hears), an uncaught
 * exception or an unhandled rejection stop the node cleanly (`node.stop()`: listeners first,
 * then jobs, then the stores; transfers resume at the next start), then end the process: 0
 * after a signal, 1 after an error, a failed stop or a stop that outlasts its bound. A second
 * signal while stopping ends the process at once (1).
 *
 * SIGHUP does not stop the node: it reloads what can be reloaded (`node.reload()`: log level,
 * partner trust, a renewed TLS certificate) and says what it did.
 *
 * `caseway start` and the test entry points that run a node use it; nothing else in the
 * product touches `process.on('SIG…')` (but `bin/caseway.js`, which passes signals on).
 *
 * @module
 */
import closeWithGrace from 'close-with-grace'
import type { CasewayNode, ReloadReport } from './node.ts'

/** Why the node is stopping: a signal, or an error nothing else caught. */
export interface StopReason {
  signal?: string
  err?: Error
}

export interface StopOnSignalOptions {
  /** Told first, when a stop begins (`caseway start` prints a line). */
  onStop?: (reason: StopReason) => void
  /** Where close-with-grace's own lines go (a second signal, a stop that timed out, a failed stop); default stderr. */
  print?: (line: string) => void
  /** Told what a SIGHUP reloaded (`caseway start` prints a line). */
  onReload?: (report: ReloadReport) => void
}

/** One line saying what a reload did, e.g. `log level info -> debug; partners: 2 CAs trusted; certificate unchanged`. */
export function describeReload(report: ReloadReport): string {
  const part = <T extends object>(value: T | { error: string }, ok: (value: T) => string, name: string): string =>
    'error' in value ? `${name} not reloaded (${value.error})` : ok(value as T)
  return [
    part(report.logLevel, (level) => `log level ${level.from} -> ${level.to}`, 'log level'),
    part(report.partners, (partners) => `partners: ${partners.trustedCas} CA(s) trusted`, 'partners'),
    part(report.certificate, (certificate) => (certificate.renewed ? 'TLS certificate renewed' : 'TLS certificate unchanged'), 'TLS certificate'),
  ].join('; ')
}

/**
 * Longest a stop may take before the process ends anyway (exit 1): above the sum of the bounds
 * of `node.stop()`'s phases, so a stop that is merely slow still completes.
 */
export const STOP_GRACE_MS = 30_000

/** Stops `node` on the first signal or uncaught error, then ends the process. `uninstall()` removes the handlers. */
export function stopOnSignal(node: Pick<CasewayNode, 'ctx' | 'stop' | 'reload'>, options: StopOnSignalOptions = {}): { uninstall(): void } {
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`))
  const message = (value: unknown): string => (value instanceof Error ? value.message : String(value))
  let reloading = Promise.resolve()
  const onHangUp = (): void => {
    // One reload at a time; a SIGHUP during a reload reloads again after it.
    reloading = reloading.then(async () => {
      try {
        options.onReload?.(await node.reload())
      } catch (error) {
        print(`caseway: SIGHUP: reload failed: ${message(error)}`)
      }
    })
  }
  process.on('SIGHUP', onHangUp)
  const { uninstall: uninstallGrace } = closeWithGrace(
    {
      delay: STOP_GRACE_MS,
      skip: ['SIGHUP'],
      logger: { error: (value: unknown) => print(`caseway: ${message(value)}`) },
      onSecondSignal: (signal) => print(`caseway: second ${signal}: exiting now`),
      onTimeout: (ms) => print(`caseway: the node did not stop within ${ms} ms: exiting`),
    },
    async ({ signal, err }) => {
      const reason: StopReason = {}
      if (signal !== undefined) reason.signal = signal
      if (err !== undefined) {
        reason.err = err
        node.ctx.log.fatal({ err }, 'uncaught error: stopping the node')
      }
      options.onStop?.(reason)
      await node.stop()
    },
  )
  return {
    uninstall() {
      process.removeListener('SIGHUP', onHangUp)
      uninstallGrace()
    },
  }
}
