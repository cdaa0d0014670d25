/**
 * `npm run build` (also run by `npm pack` through `prepack`): compiles the runtime sources into
 * `dist/`, the JavaScript the installed package runs. Node.js does not strip types under
 * `node_modules`, so a globally installed `caseway` cannot run the TypeScript sources as a
 * checkout does.
 *
 * `dist/` mirrors the checkout (`dist/cli`, `dist/node/src`, …) and gets its own
 * `package.json`: Node.js resolves `#protocol` and the other subpath imports against the
 * nearest one, so there they name the compiled `.js` files. The JSON Schemas and test vectors
 * that modules read at run time are copied beside them.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = fileURLToPath(new URL('../dist/', import.meta.url))

await rm(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })

for (const dir of ['protocol/schemas', 'protocol/vectors']) await cp(`${root}${dir}`, `${dist}${dir}`, { recursive: true })

const manifest = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { name: string; version: string; imports: Record<string, string> }
const imports = Object.fromEntries(Object.entries(manifest.imports).map(([specifier, target]) => [specifier, target.replace(/\.ts$/, '.js')]))
// Read by the compiled CLI for `caseway --version`; the scope of dist/'s subpath imports.
await writeFile(`${dist}package.json`, `${JSON.stringify({ name: manifest.name, version: manifest.version, type: 'module', imports }, null, 2)}\n`)
