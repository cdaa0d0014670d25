/**
 * protocol/src/types.gen.ts is derived from the schemas; a schema change without
 * `npm run gen:types` fails here, so the types can never drift from the wire format.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { generate } from '../../protocol/tools/gen-types.ts'

t.test('types.gen.ts is generated from the current schemas', async (t) => {
  const current = readFileSync(new URL('../../protocol/src/types.gen.ts', import.meta.url), 'utf8')
  t.equal(current, await generate(), 'run npm run gen:types')
})
