/**
 * Runs the `caseway` command as a real child process, through `bin/caseway.js`, with the
 * Node.js running the tests (24, the pinned one). Helpers for OpenSSL too.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/caseway.js', import.meta.url))

export interface Result {
  code: number
  stdout: string
  stderr: string
}

export function runWith(node: string, script: string, args: readonly string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['CASEWAY_DEBUG']
  delete env['CASEWAY_REEXEC']
  Object.assign(env, extraEnv)
  return new Promise((resolve) => {
    const child = execFile(node, [script, ...args], { encoding: 'utf8', env }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      resolve({ code, stdout, stderr })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** `caseway <args>`; `input` is written to its stdin. */
export function caseway(args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<Result> {
  return runWith(process.execPath, BIN, args, input, env)
}

/** `openssl <args>`. */
export function openssl(args: readonly string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile('openssl', [...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

/** The lines of `text`, without the empty one after the final newline. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, index, all) => line !== '' || index < all.length - 1)
}
