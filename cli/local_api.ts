/**
 * How a command reaches the running node's local API: its base URL from `--url`, else from the
 * `caseway.json` of `--dir`; its bearer token from `--token`, else `CASEWAY_TOKEN`, else the
 * node directory's `admin.token`. Commands that talk to a node take {@link apiOptions} and call
 * {@link withClient}, which reports a refusal or an unreachable node as the CLI does.
 *
 * @module
 */
import type { Command } from 'commander'
import type { LocalClient } from '../client/local_client.ts'
import type { NodeConfig } from '../node/src/config/schema.ts'
import { UsageError } from './errors.ts'

export interface ApiOptions {
  dir: string
  token?: string
  url?: string
}

interface ApiAccess {
  url: string
  token: string
}

/** Adds `--dir`, `--token` and `--url` to a command that talks to the local API. */
export function apiOptions(command: Command): Command {
  return command
    .option('--dir <dir>', 'node directory (its caseway.json says where the local API is; its admin.token is the default token)', './data')
    .option('--token <token>', 'bearer token (default: $CASEWAY_TOKEN, else the admin.token of --dir)')
    .option('--url <url>', 'local API base URL (default: from caseway.json of --dir)')
}

/** The local listener's base URL of a configuration (a wildcard address is reached on loopback). */
export function localUrlOf(config: Pick<NodeConfig, 'local'>): string {
  const host = config.local.host === '0.0.0.0' ? '127.0.0.1' : config.local.host === '::' ? '::1' : config.local.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.local.port}`
}

/** The local API's base URL: `--url`, else from the `caseway.json` of `--dir`. */
export async function apiUrl(options: Pick<ApiOptions, 'dir' | 'url'>): Promise<string> {
  if (options.url !== undefined) return options.url.replace(/\/+$/, '')
  const { loadConfig } = await import('../node/src/config/load.ts')
  return localUrlOf(await loadConfig(options.dir))
}

/** The bearer token: `--token`, else `CASEWAY_TOKEN`, else the node directory's `admin.token`; undefined when there is none. */
export async function apiToken(options: Pick<ApiOptions, 'dir' | 'token'>): Promise<string | undefined> {
  const { readAdminTokenFile } = await import('../node/src/access/admin_token.ts')
  const fromEnv = process.env['CASEWAY_TOKEN']
  const token = options.token ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv) ?? (await readAdminTokenFile(options.dir))
  return token === '' ? undefined : token
}

/** The local API's base URL and a bearer token: from the options, the environment, the node directory. */
async function apiAccess(options: ApiOptions): Promise<ApiAccess> {
  const { adminTokenPath } = await import('../node/src/access/admin_token.ts')
  const url = await apiUrl(options)
  const token = await apiToken(options)
  if (token === undefined) {
    throw new UsageError(`no token: give --token, set CASEWAY_TOKEN, or keep the admin token in ${adminTokenPath(options.dir)}`)
  }
  return { url, token }
}

/** A typed client of the local API (see `client/local_client.ts`). */
export async function connect(options: ApiOptions): Promise<LocalClient> {
  const access = await apiAccess(options)
  const { LocalClient } = await import('../client/local_client.ts')
  return new LocalClient({ baseUrl: access.url, token: access.token })
}

/**
 * Runs `call` on the client of the node at `url`, reporting as the CLI does: a refusal is the
 * problem's code and detail (not the client's `POST /path: 404 …` line), a failed connection
 * says which node could not be reached.
 */
export async function throughApi<T>(url: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw apiFailure(url, error)
  }
}

function apiFailure(url: string, error: unknown): Error {
  if (error instanceof Error && error.name === 'LocalApiError') {
    const { code, problem } = error as Error & { code: string; problem?: { detail?: string; title?: string } }
    return Object.assign(new Error(problem?.detail ?? problem?.title ?? error.message, { cause: error }), { code })
  }
  // undici's `fetch` rejects a connection it could not make with `TypeError: fetch failed`.
  if (error instanceof TypeError && error.message === 'fetch failed') return cannotReach(url, error)
  return error instanceof Error ? error : new Error(String(error))
}

/** The error of a `fetch` of the node at `url` that got no answer (refused, reset, timed out). */
export function cannotReach(url: string, error: unknown): Error {
  // A refused connection to a name with two addresses is an AggregateError with no message.
  const cause = (error as { cause?: unknown }).cause as (Error & { code?: string }) | undefined
  let reason = error instanceof Error ? error.message : String(error)
  if (error instanceof Error && error.name === 'TimeoutError') reason = 'no answer in time'
  else if (cause instanceof Error) reason = cause.message !== '' ? cause.message : (cause.code ?? String(cause))
  return new Error(`cannot reach the node at ${url}: is it running? (${reason})`, { cause: error })
}

/** Runs `call` with a typed client of the node (see {@link connect}), reporting failures as {@link throughApi} does. */
export async function withClient<T>(options: ApiOptions, call: (client: LocalClient) => Promise<T>): Promise<T> {
  const client = await connect(options)
  return throughApi(client.baseUrl, () => call(client))
}
