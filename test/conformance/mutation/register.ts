/**
 * Loaded into a node process by `NODE_OPTIONS=--import <this file>` (the mutation runner
 * only): reads the fault from `CASEWAY_MUTATION`, checks that each of its `find` texts occurs
 * exactly once in its file on disk — otherwise the process fails to start, and the runner
 * reports the fault as invalid, never as killed — and registers the loader hook that mutates
 * the files as they are loaded. Without `CASEWAY_MUTATION` it does nothing.
 *
 * @module
 */
import { register } from 'node:module'
import type { HookData } from './hooks.ts'
import { checkMutationOnDisk, fileUrl, MUTATION_ENV, mutatedFiles, parseMutation } from './mutation.ts'

const json = process.env[MUTATION_ENV]
if (json !== undefined && json !== '') {
  const mutation = parseMutation(json)
  checkMutationOnDisk(mutation)
  const files: Record<string, string> = {}
  for (const file of mutatedFiles(mutation)) files[fileUrl(file)] = file
  const data: HookData = { mutation, files }
  register('./hooks.ts', import.meta.url, { data })
}
