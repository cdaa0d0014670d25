/**
 * The agency's own cases: their fields (as shared in a manifest's case snapshot) and their
 * folder tree.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { isItemName, RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'
import type { CaseRecord, FolderRecord } from '../store/metadata_store.ts'

export type CaseFields = Record<string, string | string[]>

/** The limits of the manifest schema's case snapshot: what is stored can always be shared. */
export const CASE_FIELD_LIMITS = {
  /** FieldName of the common schema. */
  namePattern: /^[a-z][A-Za-z0-9]{0,63}$/,
  maxFields: 64,
  /** Text of the common schema. */
  maxTextLength: 4000,
  maxListItems: 100,
  maxListItemLength: 200,
} as const
export const MAX_FOLDER_NAME_LENGTH = 255

export interface CaseDetail extends CaseRecord {
  folders: FolderRecord[]
}

/**
 * Creates a case with `fields`. A user actor becomes the case's owner (`access/case_access.ts`); a case the
 * node creates itself has no owner and is administrators' only.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` naming the field.
 */
export async function createCase(ctx: NodeContext, input: { fields: unknown }, actor: Actor = SYSTEM_ACTOR): Promise<CaseRecord> {
  const fields = checkFields(input?.fields ?? {}, false)
  const now = nowSeconds(ctx)
  const record: CaseRecord = { id: randomUUID(), fields, createdAt: now, updatedAt: now, importedFrom: null }
  await ctx.transaction(async (tx) => {
    await tx.store.cases.insert(record)
    if (actor.kind === 'user') await tx.store.cases.setAccess({ caseId: record.id, owner: actor.id, team: [], updatedAt: now })
    tx.record({ type: 'case.created', caseId: record.id, actor })
  })
  ctx.log.info({ caseId: record.id }, 'case created')
  return record
}

/**
 * Changes case fields: each given field is set, a field given as `null` is removed, the others
 * are kept. The change and its `case.updated` event commit together; the live shares of the
 * case follow it from that event (CW-REVN-001, `sending/live_revisions.ts`).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_BAD_REQUEST`.
 */
export async function updateCase(ctx: NodeContext, id: string, input: { fields: unknown }, actor: Actor = SYSTEM_ACTOR): Promise<CaseRecord> {
  const changes = checkFields(input?.fields ?? {}, true)
  const updated = await ctx.transaction(async (tx) => {
    const store = tx.store
    const existing = await store.cases.get(id)
    if (existing === undefined) throw notFound(id)
    const fields: CaseFields = { ...existing.fields }
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) delete fields[name]
      else fields[name] = value
    }
    if (Object.keys(fields).length > CASE_FIELD_LIMITS.maxFields) {
      throw new RequestError('CW_ERR_BAD_REQUEST', `a case has at most ${CASE_FIELD_LIMITS.maxFields} fields`, { at: '/fields' })
    }
    const updatedAt = Math.max(nowSeconds(ctx), existing.updatedAt)
    await store.cases.updateFields(id, fields, updatedAt)
    tx.record({ type: 'case.updated', caseId: id, actor, fields: Object.keys(changes) })
    return { ...existing, fields, updatedAt }
  })
  return updated
}

export async function listCases(ctx: NodeContext): Promise<CaseRecord[]> {
  return ctx.store.cases.list()
}

/** The case with its folders. @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function getCase(ctx: NodeContext, id: string): Promise<CaseDetail> {
  const record = await ctx.store.cases.get(id)
  if (record === undefined) throw notFound(id)
  return { ...record, folders: await ctx.store.cases.listFolders(id) }
}

/** @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function requireCase(ctx: NodeContext, id: string): Promise<CaseRecord> {
  const record = await ctx.store.cases.get(id)
  if (record === undefined) throw notFound(id)
  return record
}

/**
 * Creates a folder in case `caseId`, at the top or under `parentId` (a folder of the same case).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (case), `CW_ERR_BAD_REQUEST` (name, parent).
 */
export async function createFolder(ctx: NodeContext, caseId: string, input: { name: unknown; parentId?: unknown }): Promise<FolderRecord> {
  const name = input?.name
  // spec: CW-FMT-007 — the rule a partner's folder names are held to.
  if (!isItemName(name)) {
    throw new RequestError(
      'CW_ERR_BAD_REQUEST',
      `folder name must be one path component of 1 to ${MAX_FOLDER_NAME_LENGTH} characters: no control or bidirectional characters, no / or \\, not . or ..`,
      { at: '/name' },
    )
  }
  const parentId = input.parentId ?? null
  if (parentId !== null && typeof parentId !== 'string') {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'parentId must be a folder id', { at: '/parentId' })
  }
  return ctx.store.transaction(async (store) => {
    if ((await store.cases.get(caseId)) === undefined) throw notFound(caseId)
    if (parentId !== null) {
      const folders = await store.cases.listFolders(caseId)
      if (!folders.some((folder) => folder.id === parentId)) {
        throw new RequestError('CW_ERR_BAD_REQUEST', `folder "${parentId}" is not a folder of case "${caseId}"`, { at: '/parentId' })
      }
    }
    const folder: FolderRecord = { id: randomUUID(), caseId, parentId, name }
    await store.cases.insertFolder(folder)
    return folder
  })
}

/** @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function listFolders(ctx: NodeContext, caseId: string): Promise<FolderRecord[]> {
  await requireCase(ctx, caseId)
  return ctx.store.cases.listFolders(caseId)
}

function checkFields(value: unknown, allowNull: true): Record<string, string | string[] | null>
function checkFields(value: unknown, allowNull: false): CaseFields
function checkFields(value: unknown, allowNull: boolean): Record<string, string | string[] | null> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'fields must be an object', { at: '/fields' })
  }
  const entries = Object.entries(value)
  if (entries.length > CASE_FIELD_LIMITS.maxFields) {
    throw new RequestError('CW_ERR_BAD_REQUEST', `a case has at most ${CASE_FIELD_LIMITS.maxFields} fields`, { at: '/fields' })
  }
  const fields: Record<string, string | string[] | null> = {}
  for (const [name, field] of entries) {
    const at = `/fields/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`
    if (!CASE_FIELD_LIMITS.namePattern.test(name)) {
      throw new RequestError('CW_ERR_BAD_REQUEST', `field name ${JSON.stringify(name)} must match ${CASE_FIELD_LIMITS.namePattern.source}`, { at })
    }
    if (field === null && allowNull) {
      fields[name] = null
    } else if (typeof field === 'string') {
      if (field.length > CASE_FIELD_LIMITS.maxTextLength) {
        throw new RequestError('CW_ERR_BAD_REQUEST', `field "${name}" is longer than ${CASE_FIELD_LIMITS.maxTextLength} characters`, { at })
      }
      fields[name] = field
    } else if (Array.isArray(field)) {
      if (field.length > CASE_FIELD_LIMITS.maxListItems) {
        throw new RequestError('CW_ERR_BAD_REQUEST', `field "${name}" has more than ${CASE_FIELD_LIMITS.maxListItems} items`, { at })
      }
      for (const [index, item] of field.entries()) {
        if (typeof item !== 'string' || item.length > CASE_FIELD_LIMITS.maxListItemLength) {
          throw new RequestError('CW_ERR_BAD_REQUEST', `field "${name}" items must be strings of at most ${CASE_FIELD_LIMITS.maxListItemLength} characters`, {
            at: `${at}/${index}`,
          })
        }
      }
      fields[name] = [...(field as string[])]
    } else {
      throw new RequestError('CW_ERR_BAD_REQUEST', `field "${name}" must be a string or a list of strings`, { at })
    }
  }
  return fields
}

function notFound(id: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `no case "${id}"`)
}

function nowSeconds(ctx: NodeContext): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}
