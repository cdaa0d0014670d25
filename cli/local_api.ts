/**
 * How a command reaches the running node's local API: its base URL from `--url`, else from the
 * `caseway.json` of `--dir`; its bearer token from `--token`, else `CASEWAY_TOKEN`, else the
 * node directory's `admin.token`. Commands that talk to a node take {@link apiOptions} and call
 * {@link connect} (a typed {@link LocalClient}) or {@link callApi} (a raw JSON call).
 *
 * @module
 */
import type { Command } from 'commander'
import type { LocalClient } from '../client/local_client.ts'
import { UsageError } from './errors.ts'

export interface ApiOptions {
  dir: string
  token?: string
  url?: string
}

export interface ApiAccess {
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

/** The local API's base URL and a bearer token: from the options, the environment, the node directory. */
export async function apiAccess(options: ApiOptions): Promise<ApiAccess> {
  const { loadConfig } = await import('../node/src/config/load.ts')
  const { readAdminTokenFile, adminTokenPath } = await import('../node/src/access/admin_token.ts')
  let url = options.url
  if (url === undefined) {
    const config = await loadConfig(options.dir)
    const host = config.local.host === '0.0.0.0' ? '127.0.0.1' : config.local.host === '::' ? '::1' : config.local.host
    url = `http://${host.includes(':') ? `[${host}]` : host}:${config.local.port}`
  }
  const fromEnv = process.env['CASEWAY_TOKEN']
  const token = options.token ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv) ?? (await readAdminTokenFile(options.dir))
  if (token === undefined || token === '') {
    throw new UsageError(`no token: give --token, set CASEWAY_TOKEN, or keep the admin token in ${adminTokenPath(options.dir)}`)
  }
  return { url: url.replace(/\/+$/, ''), token }
}

/** A typed client of the local API (see `client/local_client.ts`). */
export async function connect(options: ApiOptions): Promise<LocalClient> {
  const access = await apiAccess(options)
  const { LocalClient } = await import('../client/local_client.ts')
  return new LocalClient({ baseUrl: access.url, token: access.token })
}

/** Calls the local API with a JSON body or none; a problem answer becomes an error carrying its code. */
export async function callApi(access: ApiAccess, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response
  const headers: Record<string, string> = { authorization: `Bearer ${access.token}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  try {
    response = await fetch(`${access.url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  } catch (err) {
    throw new Error(`cannot reach the node at ${access.url}: is it running? (${(err as Error).message})`, { cause: err })
  }
  const answer = (await response.json().catch(() => undefined)) as { code?: string; detail?: string; title?: string } | undefined
  if (!response.ok) {
    const error = new Error(answer?.detail ?? answer?.title ?? `HTTP ${response.status}`) as Error & { code?: string }
    if (typeof answer?.code === 'string') error.code = answer.code
    throw error
  }
  return answer
}

/**
 * Runs `call` with a typed client of the node (see {@link connect}). A refusal becomes an error
 * carrying the problem's code and detail, printed `caseway: CODE: detail`; a node that cannot
 * be reached is said to be so (not a usage error).
 */
export async function withClient<T>(options: ApiOptions, call: (client: LocalClient) => Promise<T>): Promise<T> {
  const client = await connect(options)
  const { LocalApiError } = await import('../client/local_client.ts')
  try {
    return await call(client)
  } catch (err) {
    if (err instanceof LocalApiError) {
      const error = new Error(err.problem?.detail ?? err.message, { cause: err }) as Error & { code?: string }
      error.code = err.code
      throw error
    }
    // undici's `fetch` rejects with a TypeError when the connection fails.
    if (err instanceof TypeError && err.message === 'fetch failed') {
      throw new Error(`cannot reach the node at ${client.baseUrl}: is it running? (${(err.cause as Error | undefined)?.message ?? err.message})`, {
        cause: err,
      })
    }
    throw err
  }
}
