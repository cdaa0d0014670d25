/**
 * SQL and row mapping for principals (users, groups, group members) and case access (owner,
 * team) in the SQLite metadata store. Kept apart from `statements.ts` and `rows.ts` so this
 * part of the schema reads in one place.
 *
 * @module
 */
import type { CaseAccessRecord, GroupRecord, TeamMember, UserRecord } from '../metadata_store.ts'
import { bool, toJson, type Params, type Row } from './rows.ts'

const USER_COLUMNS = ['id', 'name', 'email', 'badge', 'role', 'kind', 'disabled', 'created_at', 'updated_at']

export const PRINCIPAL_SQL = {
  upsertUser:
    `INSERT INTO users (${USER_COLUMNS.join(', ')}) VALUES (${USER_COLUMNS.map((c) => ':' + c).join(', ')})` +
    ' ON CONFLICT (id) DO UPDATE SET ' +
    USER_COLUMNS.filter((c) => c !== 'id' && c !== 'created_at')
      .map((c) => `${c} = excluded.${c}`)
      .join(', '),
  getUser: 'SELECT * FROM users WHERE id = ?',
  listUsers: 'SELECT * FROM users ORDER BY id',

  upsertGroup: 'INSERT INTO groups (id, name, created_at) VALUES (:id, :name, :created_at) ON CONFLICT (id) DO UPDATE SET name = excluded.name',
  getGroup: 'SELECT * FROM groups WHERE id = ?',
  listGroups: 'SELECT * FROM groups ORDER BY id',
  groupExists: 'SELECT 1 FROM groups WHERE id = ?',
  clearGroupMembers: 'DELETE FROM group_members WHERE group_id = ?',
  insertGroupMember: 'INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)',
  listGroupMembers: 'SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id',
  listUserGroups: 'SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id',

  setCaseAccess:
    'INSERT INTO case_access (case_id, owner, team, updated_at) VALUES (:case_id, :owner, :team, :updated_at)' +
    ' ON CONFLICT (case_id) DO UPDATE SET owner = excluded.owner, team = excluded.team, updated_at = excluded.updated_at',
  getCaseAccess: 'SELECT * FROM case_access WHERE case_id = ?',
  findCaseImportedFrom: 'SELECT * FROM cases WHERE imported_from = ?',
} as const

export function userFromRow(row: Row): UserRecord {
  return {
    id: row['id'] as string,
    name: row['name'] as string,
    email: (row['email'] ?? null) as string | null,
    badge: (row['badge'] ?? null) as string | null,
    role: row['role'] as UserRecord['role'],
    kind: row['kind'] as UserRecord['kind'],
    disabled: row['disabled'] === 1,
    createdAt: row['created_at'] as number,
    updatedAt: row['updated_at'] as number,
  }
}

export function userParams(u: UserRecord): Params {
  return {
    id: u.id,
    name: u.name,
    email: u.email ?? null,
    badge: u.badge ?? null,
    role: u.role,
    kind: u.kind,
    disabled: bool(u.disabled),
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  }
}

export function groupFromRow(row: Row): GroupRecord {
  return { id: row['id'] as string, name: row['name'] as string, createdAt: row['created_at'] as number }
}

export function groupParams(g: GroupRecord): Params {
  return { id: g.id, name: g.name, created_at: g.createdAt }
}

export function caseAccessFromRow(row: Row): CaseAccessRecord {
  return {
    caseId: row['case_id'] as string,
    owner: row['owner'] as string,
    team: JSON.parse(row['team'] as string) as TeamMember[],
    updatedAt: row['updated_at'] as number,
  }
}

export function caseAccessParams(a: CaseAccessRecord): Params {
  const team = a.team.map((member) => ({ kind: member.kind, id: member.id }))
  return { case_id: a.caseId, owner: a.owner, team: toJson(team), updated_at: a.updatedAt }
}
