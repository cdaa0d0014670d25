/**
 * The SQL of the PostgreSQL metadata store for the aggregates the SQLite store keeps in files of
 * their own (`../sqlite/{audit,principals,notifications,revisions,control_shares,link_shares,
 * outbox,transfers}.ts`): the same statements with `:name` parameters, and the same row
 * mappers (imported from there) reading the rows.
 *
 * @module
 */
import { insert, namesUserOrGroup } from './statements.ts'

const AUDIT_COLUMNS = ['case_id', 'seq', 'at', 'type', 'actor', 'data', 'prev', 'digest']

export const AUDIT_SQL = {
  /**
   * Held until the transaction ends: appends to one case take turns across replicas, so each
   * reads the last entry another committed (two writers never compute the same seq; the
   * primary key would refuse the second anyway). Cases do not wait for each other.
   */
  lockChain: "SELECT pg_advisory_xact_lock(hashtext('caseway.audit'), hashtext(:case_id))",
  insertAudit: insert('audit_entries', AUDIT_COLUMNS),
  lastAudit: 'SELECT * FROM audit_entries WHERE case_id = :case_id ORDER BY seq DESC LIMIT 1',
  /** `:limit` -1 = no limit. */
  listAudit: 'SELECT * FROM audit_entries WHERE case_id = :case_id AND seq > :after ORDER BY seq LIMIT nullif(:limit::bigint, -1)',
  listAuditCaseIds: 'SELECT DISTINCT case_id FROM audit_entries ORDER BY case_id',
} as const

const USER_COLUMNS = ['id', 'name', 'email', 'badge', 'role', 'kind', 'disabled', 'created_at', 'updated_at']

export const PRINCIPAL_SQL = {
  upsertUser:
    insert('users', USER_COLUMNS) +
    ' ON CONFLICT (id) DO UPDATE SET ' +
    USER_COLUMNS.filter((c) => c !== 'id' && c !== 'created_at')
      .map((c) => `${c} = excluded.${c}`)
      .join(', '),
  getUser: 'SELECT * FROM users WHERE id = :id',
  listUsers: 'SELECT * FROM users ORDER BY id',
  upsertGroup: 'INSERT INTO groups (id, name, created_at) VALUES (:id, :name, :created_at) ON CONFLICT (id) DO UPDATE SET name = excluded.name',
  getGroup: 'SELECT * FROM groups WHERE id = :id',
  listGroups: 'SELECT * FROM groups ORDER BY id',
  /** Locks the group row: two replicas replacing its members take turns. */
  lockGroup: 'SELECT 1 AS found FROM groups WHERE id = :group_id FOR UPDATE',
  clearGroupMembers: 'DELETE FROM group_members WHERE group_id = :group_id',
  insertGroupMembers: 'INSERT INTO group_members (group_id, user_id) SELECT :group_id, u FROM unnest(:user_ids::text[]) AS u ON CONFLICT DO NOTHING',
  listGroupMembers: 'SELECT user_id FROM group_members WHERE group_id = :group_id ORDER BY user_id',
  listUserGroups: 'SELECT group_id FROM group_members WHERE user_id = :user_id ORDER BY group_id',
  setCaseAccess:
    'INSERT INTO case_access (case_id, owner, team, updated_at) VALUES (:case_id, :owner, :team, :updated_at)' +
    ' ON CONFLICT (case_id) DO UPDATE SET owner = excluded.owner, team = excluded.team, updated_at = excluded.updated_at',
  getCaseAccess: 'SELECT * FROM case_access WHERE case_id = :case_id',
  findCaseImportedFrom: 'SELECT * FROM cases WHERE imported_from = :inbound_id',
} as const

const NOTIFICATION_COLUMNS = ['inbound_id', 'revision', 'channel', 'status', 'attempts', 'last_error', 'updated_at']

export const NOTIFICATION_SQL = {
  insertNotification: insert('notifications', NOTIFICATION_COLUMNS) + ' ON CONFLICT (inbound_id, revision, channel) DO NOTHING',
  upsertNotification:
    insert('notifications', NOTIFICATION_COLUMNS) +
    ' ON CONFLICT (inbound_id, revision, channel) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,' +
    ' last_error = excluded.last_error, updated_at = excluded.updated_at',
  getNotification: 'SELECT * FROM notifications WHERE inbound_id = :inbound_id AND revision = :revision AND channel = :channel',
  listNotifications: 'SELECT * FROM notifications WHERE inbound_id = :inbound_id ORDER BY revision, channel',
  insertAddedRecipient:
    'INSERT INTO added_recipients (inbound_id, kind, recipient_id, added_by, added_at) VALUES (:inbound_id, :kind, :recipient_id, :added_by, :added_at)' +
    ' ON CONFLICT (inbound_id, kind, recipient_id) DO NOTHING',
  listAddedRecipients: 'SELECT * FROM added_recipients WHERE inbound_id = :inbound_id ORDER BY added_at, seq',
} as const

const REVISION_COLUMNS = [
  'inbound_id',
  'revision',
  'manifest_jws',
  'manifest_digest',
  'manifest',
  'policy',
  'status',
  'transfer',
  'receipt_jws',
  'receipt_sent',
  'received_at',
  'verified_at',
]

export const REVISION_SQL = {
  advanceOutboundShare:
    "UPDATE outbound_shares SET revision = :revision, recipients = :recipients, evidence_ids = :evidence_ids, status = 'processing'," +
    ' status_code = NULL, status_detail = NULL, updated_at = :at WHERE id = :id',
  deleteEvidence: 'DELETE FROM evidence WHERE id = :id',
  insertInboundRevision: insert('inbound_revisions', REVISION_COLUMNS),
  updateInboundRevision:
    'UPDATE inbound_revisions SET ' +
    REVISION_COLUMNS.filter((c) => c !== 'inbound_id' && c !== 'revision')
      .map((c) => `${c} = :${c}`)
      .join(', ') +
    ' WHERE inbound_id = :inbound_id AND revision = :revision',
  getInboundRevision: 'SELECT * FROM inbound_revisions WHERE inbound_id = :inbound_id AND revision = :revision',
  listInboundRevisions: 'SELECT * FROM inbound_revisions WHERE inbound_id = :inbound_id ORDER BY revision',
  /** Answered from the index inbound_revisions_state (it INCLUDEs these columns). */
  listInboundRevisionStates:
    'SELECT revision, manifest_digest, status, transfer, received_at FROM inbound_revisions WHERE inbound_id = :inbound_id ORDER BY revision',
  getAppliedState: 'SELECT * FROM applied_states WHERE inbound_id = :inbound_id',
  getAppliedStateVersion: 'SELECT revision, version FROM applied_states WHERE inbound_id = :inbound_id',
  setAppliedState:
    insert('applied_states', ['inbound_id', 'revision', 'snapshot', 'updated_at']) +
    ' ON CONFLICT (inbound_id) DO UPDATE SET revision = excluded.revision, snapshot = excluded.snapshot, updated_at = excluded.updated_at,' +
    ' version = applied_states.version + 1',
} as const

export const CONTROL_SQL = {
  insertControlShare: 'INSERT INTO control_shares (share_id, peer_org, created_at) VALUES (:share_id, :peer_org, :created_at)',
  getControlShare: 'SELECT * FROM control_shares WHERE share_id = :share_id',
  /** Writes only when the versions changed (learned_at: when this list was first learned). */
  setPartnerVersions:
    'INSERT INTO partner_versions (org, versions, learned_at) VALUES (:org, :versions, :learned_at) ON CONFLICT (org) DO UPDATE SET' +
    ' versions = excluded.versions, learned_at = excluded.learned_at WHERE partner_versions.versions IS DISTINCT FROM excluded.versions',
  getPartnerVersions: 'SELECT versions FROM partner_versions WHERE org = :org',
  insertRevocationTombstone:
    'INSERT INTO revocation_tombstones (sender_org, share_id, revoked_at, expires_at, received_at)' +
    ' VALUES (:sender_org, :share_id, :revoked_at, :expires_at, :received_at) ON CONFLICT DO NOTHING',
  getRevocationTombstone: 'SELECT * FROM revocation_tombstones WHERE sender_org = :sender_org AND share_id = :share_id',
} as const

export const LINK_SQL = {
  insertLinkShare: insert('link_shares', [
    'id',
    'case_id',
    'created_by',
    'recipient_kind',
    'recipient_value',
    'scope',
    'folder_ids',
    'evidence_ids',
    'format',
    'retain_folder_structure',
    'audit_trail',
    'table_of_contents',
    'transcripts',
    'message',
    'state',
    'failure',
    'created_at',
    'updated_at',
    'expires_at',
    'revoked_at',
    'revoked_by',
    'package_created_at',
    'package_size',
    'package_digest',
    'items',
    'token_hash',
  ]),
  getLinkShare: 'SELECT * FROM link_shares WHERE id = :id',
  findLinkShareByTokenHash: 'SELECT * FROM link_shares WHERE token_hash = :token_hash',
  listLinkShares: 'SELECT * FROM link_shares WHERE case_id = :case_id ORDER BY created_at, id',
  completeLinkShare: `UPDATE link_shares SET state = 'ready', updated_at = :at, package_created_at = :created_at, package_size = :size,
    package_digest = :digest, items = :items WHERE id = :id AND state = 'processing'`,
  failLinkShare: "UPDATE link_shares SET state = 'failed', failure = :reason, updated_at = :at WHERE id = :id AND state IN ('processing', 'ready')",
  revokeLinkShare: "UPDATE link_shares SET state = 'revoked', revoked_by = :by, revoked_at = :at, updated_at = :at WHERE id = :id AND state <> 'revoked'",
  setLinkShareTokenHash: 'UPDATE link_shares SET token_hash = :token_hash WHERE id = :id',
  /** Every member of the package in one statement, at its position (from 0). */
  insertLinkShareMembers: `
    INSERT INTO link_share_members (link_id, position, path, size, crc32, kind, ref)
    SELECT :link_id, member.position - 1, member.path, member.size, member.crc32, member.kind, member.ref
    FROM unnest(:paths::text[], :sizes::bigint[], :crc32s::bigint[], :kinds::text[], :refs::text[]) WITH ORDINALITY
      AS member (path, size, crc32, kind, ref, position)`,
  listLinkShareMembers: 'SELECT path, size, crc32, kind, ref FROM link_share_members WHERE link_id = :id ORDER BY position',
} as const

export const INBOUND_PACKAGE_SQL = {
  insert: insert('inbound_packages', [
    'id',
    'sender_org',
    'package_id',
    'state',
    'offer_jws',
    'offer_digest',
    'offer_jti',
    'recipients',
    'format',
    'size',
    'manifest_digest',
    'message',
    'expires_at',
    'failure',
    'sender_name',
    'case_id',
    'chunk_size',
    'chunks',
    'created_at',
    'updated_at',
    'received_at',
    'revoked_at',
  ]),
  get: 'SELECT * FROM inbound_packages WHERE id = :id',
  find: 'SELECT * FROM inbound_packages WHERE sender_org = :sender_org AND package_id = :package_id',
  list: 'SELECT * FROM inbound_packages ORDER BY created_at DESC, id',
  // As SQLite's, newest first by seq.
  listVisible: `
    SELECT p.*, p.seq AS position FROM inbound_packages AS p
    WHERE p.offer_jws IS NOT NULL AND (:after::bigint IS NULL OR p.seq < :after::bigint)
      AND (:sees_all::int = 1 OR ${namesUserOrGroup('p.recipients')})
    ORDER BY p.seq DESC LIMIT :limit::bigint`,
  complete: `UPDATE inbound_packages SET state = 'received', sender_name = :sender_name, case_id = :case_id, chunk_size = :chunk_size, chunks = :chunks,
    received_at = :at, updated_at = :at WHERE id = :id AND state = 'receiving'`,
  refuse: "UPDATE inbound_packages SET state = 'refused', failure = :reason, updated_at = :at WHERE id = :id AND state = 'receiving'",
  revoke: "UPDATE inbound_packages SET state = 'revoked', revoked_at = :at, updated_at = :at WHERE id = :id AND state <> 'revoked'",
  getLinkShareOffer: 'SELECT offer_jws, offered_at FROM link_shares WHERE id = :id AND offer_jws IS NOT NULL',
  setLinkShareOffer: 'UPDATE link_shares SET offer_jws = :jws, updated_at = :at WHERE id = :id',
  markLinkShareOffered: 'UPDATE link_shares SET offered_at = :at, updated_at = :at WHERE id = :id AND offered_at IS NULL',
} as const

export const OUTBOX_SQL = {
  /**
   * Held until the transaction commits: appends take turns, so seq (assigned at insert) orders
   * entries as they committed and a consumer reading after a seq never skips one that commits
   * later with a lower seq.
   */
  lockAppend: "SELECT pg_advisory_xact_lock(hashtext('caseway.outbox'))",
  insert: insert('outbox', ['event_id', 'consumer', 'case_id', 'event', 'recorded_at']),
  list: 'SELECT * FROM outbox WHERE consumer = :consumer AND seq > :after ORDER BY seq LIMIT :limit',
  delete: 'DELETE FROM outbox WHERE consumer = :consumer AND event_id = :event_id',
} as const

export const TRANSFER_SQL = {
  /** Every item in one statement, in the order given (seq follows it). */
  insertHeldBack: `
    INSERT INTO outbound_held_back (share_id, revision, evidence_id, name, reason)
    SELECT :share, :revision, item.evidence_id, item.name, item.reason
    FROM unnest(:evidence_ids::text[], :names::text[], :reasons::text[]) WITH ORDINALITY AS item (evidence_id, name, reason, position)
    ORDER BY item.position
    ON CONFLICT DO NOTHING`,
  listHeldBack: 'SELECT * FROM outbound_held_back WHERE share_id = :share AND revision = :revision ORDER BY seq',
  insertTransfer: 'INSERT INTO outbound_transfers (share_id, revision, chunks_total, bytes_total) VALUES (:share, :revision, 0, 0) ON CONFLICT DO NOTHING',
  /** Every chunk of the answer in one statement (thousands for a large share). */
  insertTransferChunks: `
    INSERT INTO outbound_transfer_chunks (share_id, revision, digest, size)
    SELECT :share, :revision, chunk.digest, chunk.size FROM unnest(:digests::text[], :sizes::bigint[]) AS chunk (digest, size)
    ORDER BY chunk.digest
    ON CONFLICT DO NOTHING`,
  /** Totals follow the chunk rows, so an answer recorded twice counts each chunk once. */
  totalTransfer: `
    UPDATE outbound_transfers SET
      chunks_total = (SELECT count(*) FROM outbound_transfer_chunks c WHERE c.share_id = :share AND c.revision = :revision),
      bytes_total = (SELECT coalesce(sum(size), 0) FROM outbound_transfer_chunks c WHERE c.share_id = :share AND c.revision = :revision)
    WHERE share_id = :share AND revision = :revision`,
  /** Marks the chunk of the share's current revision; RETURNING says whether it was new (the row lock makes it once across replicas). */
  markChunkServed: `
    UPDATE outbound_transfer_chunks SET served = true
    WHERE share_id = :share AND revision = (SELECT revision FROM outbound_shares WHERE id = :share) AND digest = :digest AND NOT served
    RETURNING revision, size`,
  countChunkServed:
    'UPDATE outbound_transfers SET chunks_done = chunks_done + 1, bytes_done = bytes_done + :size WHERE share_id = :share AND revision = :revision',
  getTransfer: 'SELECT * FROM outbound_transfers WHERE share_id = :share AND revision = :revision',
} as const
