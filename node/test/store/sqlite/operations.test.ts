import t from 'tap'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import { OPERATIONS_SQL } from '../../../src/store/sqlite/statements.ts'
import { T0 } from '../../support/records.ts'

t.test('the share counts read the status indexes, not the share rows', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  await store.close()
  const db = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => db.close())
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${OPERATIONS_SQL.countShares}`)
    .all({ now: T0 })
    .map((row) => String(row['detail']))
  t.ok(
    plan.some((line) => /COVERING INDEX outbound_shares_status/.test(line)),
    plan.join('\n'),
  )
  t.ok(
    plan.some((line) => /COVERING INDEX inbound_shares_status/.test(line)),
    plan.join('\n'),
  )
})
