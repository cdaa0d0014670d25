/**
 * Module-loader hooks (`module.register`, run by Node.js on its loader thread): mutate the
 * source of the files a fault names as they are loaded. The node runs TypeScript by type
 * stripping, so the source seen here is TypeScript (format `module-typescript`); it is returned
 * mutated with its format unchanged and stripped afterwards as usual.
 *
 * @module
 */
import type { InitializeHook, LoadHook } from 'node:module'
import { applyMutation, markApplied, type Mutation } from './mutation.ts'

export interface HookData {
  mutation: Mutation
  /** Loader URL → file (relative to the repository root) of every file the mutation edits. */
  files: Record<string, string>
}

let data: HookData | undefined

export const initialize: InitializeHook<HookData> = (received) => {
  data = received
}

export const load: LoadHook = async (url, context, nextLoad) => {
  const result = await nextLoad(url, context)
  const file = data?.files[url.replace(/[?#].*$/, '')]
  if (data === undefined || file === undefined) return result
  if (result.source === undefined || result.source === null) throw new Error(`mutation of ${file}: the loader gave no source`)
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8')
  const mutated = applyMutation(source, file, data.mutation)
  markApplied(data.mutation, file)
  return { ...result, source: mutated }
}
