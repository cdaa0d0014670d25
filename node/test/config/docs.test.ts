/**
 * The README's table of configuration keys is generated from the configuration's JSON Schema
 * (`npm run gen:config-docs`): it cannot drift from the schema, and every key is described
 * (issue 16, finding 9).
 */
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { configTable, README, withConfigTable } from '../../tools/gen-config-docs.ts'

t.test('README.md holds the table the schema generates (else: npm run gen:config-docs)', async (t) => {
  const readme = await readFile(README, 'utf8')
  t.equal(readme, withConfigTable(readme))
})

t.test('every key has a type and a description, the undocumented ones of finding 9 included', async (t) => {
  const rows = configTable()
    .split('\n')
    .slice(2)
    .map((line) => line.split(/(?<!\\)\|/).map((part) => part.trim()))
  for (const [, key, type, , description] of rows) {
    t.not(type, '', `${key} has a type`)
    t.not(description, '', `${key} has a description`)
  }
  const byKey = new Map(rows.map((row) => [row[1], row]))
  t.match(byKey.get('`log.level`')?.[2], '"fatal" \\| "error" \\| "warn" \\| "info" \\| "debug" \\| "trace" \\| "silent"', 'an enum lists its values')
  t.equal(byKey.get('`log.level`')?.[3], '`"info"`', 'with its default')
  t.ok(byKey.has('`storage`') && byKey.has('`storage.database`') && byKey.has('`storage.blobs`'))
  t.equal(byKey.get('`federation.port`')?.[3], 'required')
})
