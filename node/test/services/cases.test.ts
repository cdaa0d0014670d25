import t from 'tap'
import { createCase, createFolder, getCase, listCases, updateCase } from '../../src/cases/cases.ts'
import { createTestContext } from '../support/context.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())

t.test('a case is created with its fields and listed', async (t) => {
  const record = await createCase(tc.ctx, { fields: { caseNumber: '2025-0042', title: 'Burglary', tags: ['night', 'garage'] } })
  t.same(record.fields, { caseNumber: '2025-0042', title: 'Burglary', tags: ['night', 'garage'] })
  t.equal(record.importedFrom, null)
  t.ok((await listCases(tc.ctx)).some((c) => c.id === record.id))
})

t.test('fields outside the manifest schema limits are refused, naming the field', async (t) => {
  await t.rejects(createCase(tc.ctx, { fields: { 'Case-Number': 'x' } }), { code: 'CW_ERR_BAD_REQUEST', at: '/fields/Case-Number' })
  await t.rejects(createCase(tc.ctx, { fields: { title: 'x'.repeat(4001) } }), { code: 'CW_ERR_BAD_REQUEST', at: '/fields/title' })
  await t.rejects(createCase(tc.ctx, { fields: { tags: Array(101).fill('a') } }), { code: 'CW_ERR_BAD_REQUEST', at: '/fields/tags' })
  await t.rejects(createCase(tc.ctx, { fields: { tags: ['ok', 'x'.repeat(201)] } }), { code: 'CW_ERR_BAD_REQUEST', at: '/fields/tags/1' })
  await t.rejects(createCase(tc.ctx, { fields: { count: 3 } }), { code: 'CW_ERR_BAD_REQUEST', at: '/fields/count' })
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, 'v']))
  await t.rejects(createCase(tc.ctx, { fields: many }), { code: 'CW_ERR_BAD_REQUEST', at: '/fields' })
})

t.test('updateCase sets, keeps and removes fields', async (t) => {
  const record = await createCase(tc.ctx, { fields: { title: 'Old', description: 'd', caseNumber: '1' } })
  const updated = await updateCase(tc.ctx, record.id, { fields: { title: 'New', description: null } })
  t.same(updated.fields, { title: 'New', caseNumber: '1' })
  t.same((await getCase(tc.ctx, record.id)).fields, { title: 'New', caseNumber: '1' })
  await t.rejects(updateCase(tc.ctx, 'missing', { fields: {} }), { code: 'CW_ERR_NOT_FOUND' })
})

t.test('folders nest; a parent must belong to the same case', async (t) => {
  const first = await createCase(tc.ctx, { fields: {} })
  const second = await createCase(tc.ctx, { fields: {} })
  const top = await createFolder(tc.ctx, first.id, { name: 'Scene' })
  const sub = await createFolder(tc.ctx, first.id, { name: 'Photos', parentId: top.id })
  const subsub = await createFolder(tc.ctx, first.id, { name: 'Night', parentId: sub.id })
  t.equal(sub.parentId, top.id)
  t.equal(subsub.parentId, sub.id)
  const detail = await getCase(tc.ctx, first.id)
  t.same(
    detail.folders.map((f) => [f.name, f.parentId]),
    [
      ['Scene', null],
      ['Photos', top.id],
      ['Night', sub.id],
    ],
  )
  await t.rejects(createFolder(tc.ctx, second.id, { name: 'Stolen', parentId: top.id }), { code: 'CW_ERR_BAD_REQUEST', at: '/parentId' })
  await t.rejects(createFolder(tc.ctx, first.id, { name: '' }), { code: 'CW_ERR_BAD_REQUEST', at: '/name' })
  await t.rejects(createFolder(tc.ctx, 'missing', { name: 'x' }), { code: 'CW_ERR_NOT_FOUND' })
  t.same((await getCase(tc.ctx, second.id)).folders, [])
})
