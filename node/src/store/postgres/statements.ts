/**
 * The SQL of the PostgreSQL metadata store for tokens, partners, policies, cases, shares,
 * replay protection, quotas and operations: the statements of `../sqlite/statements.ts` in
 * PostgreSQL, with `:name` parameters (see `connection.ts`) named as the shared row mappers'
 * columns. Insertion order is the `seq` identity column where SQLite used the rowid.
 *
 * @module
 */
import { SHARE_IN_FORCE } from './chunk_references.ts'

export const insert = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => ':' + c).join(', ')})`

/**
 * SQL that is true when the JSON array `column` of principals (`{kind, id}`) names the user
 * `:user_id` or one of the groups in the JSON array `:groups`: case teams and package recipients
 * are matched the same way.
 */
export function namesUserOrGroup(column: string): string {
  return `EXISTS (
        SELECT 1 FROM jsonb_array_elements(${column}::jsonb) AS principal (value)
        WHERE CASE principal.value ->> 'kind'
          WHEN 'user' THEN principal.value ->> 'id' = :user_id
          WHEN 'group' THEN principal.value ->> 'id' IN (SELECT jsonb_array_elements_text(:groups::jsonb))
        END)`
}

const TOKEN_COLUMNS = ['id', 'hash', 'role', 'user_id', 'name', 'created_at', 'expires_at', 'last_used_at', 'revoked_at']
const PARTNER_COLUMNS = ['org', 'name', 'endpoint', 'ca_certificate', 'ca_fingerprint', 'enabled', 'policy_id', 'policy_version', 'added_at', 'trust_only']
const POLICY_COLUMNS = ['id', 'version', 'policy', 'created_at']
const CASE_COLUMNS = ['id', 'fields', 'created_at', 'updated_at', 'imported_from']
const FOLDER_COLUMNS = ['case_id', 'id', 'parent_id', 'name']
const EVIDENCE_COLUMNS = [
  'id',
  'case_id',
  'folder_id',
  'name',
  'category',
  'media_type',
  'size',
  'digest',
  'chunk_size',
  'chunks',
  'do_not_disclose',
  'attachment_of',
  'created_at',
]
const OUTBOUND_SHARE_COLUMNS = [
  'id',
  'case_id',
  'partner_org',
  'scope',
  'folder_ids',
  'evidence_ids',
  'message',
  'recipients',
  'policy',
  'status',
  'status_code',
  'status_detail',
  'revision',
  'created_by',
  'created_at',
  'updated_at',
  'expires_at',
]
const OUTBOUND_REVISION_COLUMNS = ['share_id', 'revision', 'manifest_jws', 'manifest_digest', 'created_at', 'receipt_jws']
/** Written when an inbound share's manifest changes, never otherwise (tens of MB for a large share). */
const INBOUND_MANIFEST_COLUMNS: readonly string[] = ['manifest_jws', 'manifest_digest', 'manifest', 'recipients']
const INBOUND_SHARE_COLUMNS = [
  'id',
  'sender_org',
  'sender_name',
  'share_id',
  'revision',
  'manifest_jws',
  'manifest_digest',
  'manifest',
  'policy',
  'status',
  'status_detail',
  'received_at',
  'completed_at',
  'expires_at',
  'receipt_jws',
  'recipients',
]
/**
 * An inbound share as read: all but its signed manifest, never read back (tens of MB for a large
 * share), and `recipients`, the manifest's own, kept apart so that the recipient check of a
 * listing never reads a manifest.
 */
const READ_INBOUND_SHARE_COLUMNS = INBOUND_SHARE_COLUMNS.filter((c) => c !== 'manifest_jws' && c !== 'recipients')
  .map((c) => `s.${c}`)
  .join(', ')

/** A chunk of share `:share` may go to `:partner` (EP-2 and EP-20 alike): the share is theirs and in force. */
const SERVABLE_TO_PARTNER = `s.partner_org = :partner AND ${SHARE_IN_FORCE}`

export const SQL = {
  insertToken: insert('tokens', TOKEN_COLUMNS),
  findTokenByHash: 'SELECT * FROM tokens WHERE hash = :hash',
  getToken: 'SELECT * FROM tokens WHERE id = :id',
  listTokens: 'SELECT * FROM tokens ORDER BY created_at DESC, id',
  listUserTokens: 'SELECT * FROM tokens WHERE user_id = :user_id ORDER BY created_at DESC, id',
  revokeToken: 'UPDATE tokens SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL',
  revokeUserTokens: 'UPDATE tokens SET revoked_at = :at WHERE user_id = :user_id AND revoked_at IS NULL RETURNING id',
  touchToken: 'UPDATE tokens SET last_used_at = :at WHERE id = :id',

  upsertPartner:
    insert('partners', PARTNER_COLUMNS) +
    ' ON CONFLICT (org) DO UPDATE SET ' +
    PARTNER_COLUMNS.filter((c) => c !== 'org')
      .map((c) => `${c} = excluded.${c}`)
      .join(', '),
  getPartner: 'SELECT * FROM partners WHERE org = :org',
  listPartners: 'SELECT * FROM partners ORDER BY org',
  /** Never moves back: writes from both directions (and replicas) may arrive out of order. */
  recordPartnerContact: 'UPDATE partners SET last_contact_at = :at WHERE org = :org AND (last_contact_at IS NULL OR last_contact_at < :at)',
  listPartnerContacts: 'SELECT org, last_contact_at FROM partners WHERE last_contact_at IS NOT NULL',

  insertPolicy: insert('policies', POLICY_COLUMNS),
  getPolicyVersion: 'SELECT * FROM policies WHERE id = :id AND version = :version',
  getPolicyLatest: 'SELECT * FROM policies WHERE id = :id ORDER BY version DESC LIMIT 1',
  listPolicies: 'SELECT * FROM policies ORDER BY id, version',

  insertCase: insert('cases', CASE_COLUMNS),
  updateCaseFields: 'UPDATE cases SET fields = :fields, updated_at = :updated_at WHERE id = :id',
  getCase: 'SELECT * FROM cases WHERE id = :id',
  listCases: 'SELECT * FROM cases ORDER BY created_at, seq',
  // spec: CW-LOC-002, CW-LOC-054 — as SQLite's, newest first by seq.
  listVisibleCases: `
    SELECT c.*, c.seq AS position FROM cases AS c LEFT JOIN case_access AS a ON a.case_id = c.id
    WHERE (:after::bigint IS NULL OR c.seq < :after::bigint)
      AND (:sees_all::int = 1 OR a.owner = :user_id OR ${namesUserOrGroup('a.team')})
    ORDER BY c.seq DESC LIMIT :limit::bigint`,
  insertFolder: insert('folders', FOLDER_COLUMNS),
  listFolders: 'SELECT * FROM folders WHERE case_id = :case_id ORDER BY seq',
  insertEvidence: insert('evidence', EVIDENCE_COLUMNS),
  getEvidence: 'SELECT * FROM evidence WHERE id = :id',
  listEvidence: 'SELECT * FROM evidence WHERE case_id = :case_id ORDER BY seq',

  insertOutboundShare: insert('outbound_shares', OUTBOUND_SHARE_COLUMNS),
  updateOutboundStatus: 'UPDATE outbound_shares SET status = :status, status_code = :code, status_detail = :detail, updated_at = :at WHERE id = :id',
  getOutboundShare: 'SELECT * FROM outbound_shares WHERE id = :id',
  getOutboundShareState: 'SELECT id, partner_org, status, expires_at, revision FROM outbound_shares WHERE id = :id',
  listOutboundShares: 'SELECT * FROM outbound_shares ORDER BY created_at, seq',
  listOutboundSharesOfCase: 'SELECT * FROM outbound_shares WHERE case_id = :case_id ORDER BY created_at, seq',
  listOutboundSharesOfCasePage: `
    SELECT *, seq AS position FROM outbound_shares
    WHERE case_id = :case_id AND (:after::bigint IS NULL OR seq < :after::bigint)
    ORDER BY seq DESC LIMIT :limit::bigint`,
  insertOutboundRevision: insert('outbound_revisions', OUTBOUND_REVISION_COLUMNS),
  /** A new revision becomes the share's current one (never moves backwards). */
  advanceOutboundRevision: 'UPDATE outbound_shares SET revision = greatest(revision, :revision), updated_at = greatest(updated_at, :at) WHERE id = :id',
  /** Every digest of a revision in one statement (10,000 of them for a large share), in digest order: B-tree inserts in key order, as SQLite's. */
  insertShareChunks: 'INSERT INTO share_chunks (share_id, digest) SELECT :share_id, d FROM unnest(:digests::text[]) AS d ORDER BY d ON CONFLICT DO NOTHING',
  getOutboundRevision: 'SELECT * FROM outbound_revisions WHERE share_id = :share_id AND revision = :revision',
  setOutboundReceipt: 'UPDATE outbound_revisions SET receipt_jws = :receipt_jws WHERE share_id = :share_id AND revision = :revision',
  isChunkServable: `
    SELECT 1 AS servable FROM share_chunks AS c
    JOIN outbound_shares AS s ON s.id = c.share_id
    WHERE c.share_id = :share AND c.digest = :digest AND ${SERVABLE_TO_PARTNER}
    LIMIT 1`,
  servableChunks: `
    SELECT DISTINCT c.digest AS digest FROM share_chunks AS c
    JOIN outbound_shares AS s ON s.id = c.share_id
    WHERE c.share_id = :share AND c.digest = ANY(:digests::text[]) AND ${SERVABLE_TO_PARTNER}`,

  insertInboundShare: insert('inbound_shares', INBOUND_SHARE_COLUMNS),
  updateInboundShare:
    'UPDATE inbound_shares SET ' +
    INBOUND_SHARE_COLUMNS.filter((c) => c !== 'id')
      .map((c) => `${c} = :${c}`)
      .join(', ') +
    ' WHERE id = :id',
  // The same without the manifest columns, when the manifest is the one stored (see the store's `update`).
  updateInboundShareKeepingManifest:
    'UPDATE inbound_shares SET ' +
    INBOUND_SHARE_COLUMNS.filter((c) => c !== 'id' && !INBOUND_MANIFEST_COLUMNS.includes(c))
      .map((c) => `${c} = :${c}`)
      .join(', ') +
    ' WHERE id = :id AND manifest_digest = :manifest_digest',
  getInboundShare: `SELECT ${READ_INBOUND_SHARE_COLUMNS} FROM inbound_shares AS s WHERE id = :id`,
  getInboundShareState: 'SELECT id, sender_org, revision, manifest_digest, status, expires_at FROM inbound_shares WHERE id = :id',
  // Indexed: inbound_shares_digest, and the revisions of the sender's shares by inbound_revisions_state.
  findInboundShareStateByDigest: `
    SELECT id, sender_org, revision, manifest_digest, status, expires_at FROM inbound_shares
    WHERE id = (
      SELECT id FROM inbound_shares WHERE sender_org = :sender_org AND manifest_digest = :digest
      UNION ALL
      SELECT r.inbound_id FROM inbound_shares AS s JOIN inbound_revisions AS r ON r.inbound_id = s.id
      WHERE s.sender_org = :sender_org AND r.manifest_digest = :digest
      LIMIT 1)`,
  findInboundShare: `SELECT ${READ_INBOUND_SHARE_COLUMNS} FROM inbound_shares AS s WHERE sender_org = :sender_org AND share_id = :share_id`,
  listInboundShares: `SELECT ${READ_INBOUND_SHARE_COLUMNS} FROM inbound_shares AS s ORDER BY received_at, seq`,
  // spec: CW-LOC-001, CW-LOC-054 — as SQLite's: the recipient matching of
  // access/recipients.ts in SQL, newest first by seq; `recipient` is 1 when the viewer is one.
  listVisibleInboundShares: `
    SELECT * FROM (
      SELECT ${READ_INBOUND_SHARE_COLUMNS}, s.seq AS position, (
          jsonb_array_length(n.named) = 0
          OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(n.named) AS r (value)
            WHERE CASE r.value ->> 'kind'
              WHEN 'agency' THEN r.value ->> 'id' = :org
              WHEN 'user' THEN r.value ->> 'id' = :user_id
              WHEN 'group' THEN r.value ->> 'id' IN (SELECT jsonb_array_elements_text(:groups::jsonb))
              WHEN 'email' THEN lower(r.value ->> 'id') = (SELECT lower(email) FROM users WHERE id = :user_id)
              WHEN 'badge' THEN r.value ->> 'id' = (SELECT badge FROM users WHERE id = :user_id)
            END)
          OR EXISTS (
            SELECT 1 FROM added_recipients AS a
            WHERE a.inbound_id = s.id
              AND ((a.kind = 'user' AND a.recipient_id = :user_id)
                OR (a.kind = 'group' AND a.recipient_id IN (SELECT jsonb_array_elements_text(:groups::jsonb))))
          )
        )::int AS recipient
      FROM inbound_shares AS s
      CROSS JOIN LATERAL (SELECT s.recipients::jsonb AS named) AS n
      WHERE s.status <> 'rejected' AND (:after::bigint IS NULL OR s.seq < :after::bigint)
    ) AS v
    WHERE v.recipient = 1 OR :sees_all::int = 1
    ORDER BY v.position DESC LIMIT :limit::bigint`,

  insertJti: 'INSERT INTO jtis (iss, jti, digest, exp) VALUES (:iss, :jti, :digest, :exp) ON CONFLICT DO NOTHING',
  getJti: 'SELECT digest FROM jtis WHERE iss = :iss AND jti = :jti',
  forgetExpiredJtis: 'DELETE FROM jtis WHERE exp <= :now',
  insertOfferBytes: 'INSERT INTO partner_offer_bytes (partner_org, accepted_at, bytes) VALUES (:partner, :at, :bytes)',
  forgetOfferBytes: 'DELETE FROM partner_offer_bytes WHERE accepted_at <= :before',
  partnerUsage: `SELECT
      (SELECT count(*) FROM inbound_shares WHERE sender_org = :partner AND status = 'receiving')
        + (SELECT count(*) FROM inbound_revisions r JOIN inbound_shares s ON s.id = r.inbound_id
           WHERE s.sender_org = :partner AND r.transfer = 'receiving' AND r.status <> 'superseded') AS pending,
      (SELECT coalesce(sum(bytes), 0) FROM partner_offer_bytes WHERE partner_org = :partner AND accepted_at > :since) AS bytes,
      (SELECT min(accepted_at) FROM partner_offer_bytes WHERE partner_org = :partner AND accepted_at > :since) AS oldest`,
  insertPartnerChunk: 'INSERT INTO partner_chunks (partner_org, digest, delivered_at) VALUES (:partner, :digest, :at) ON CONFLICT DO NOTHING',
  insertPartnerChunks: `
    INSERT INTO partner_chunks (partner_org, digest, delivered_at)
    SELECT DISTINCT :partner::text, d, :at::bigint FROM unnest(:digests::text[]) AS d ON CONFLICT DO NOTHING`,
  deliveredChunks: `
    SELECT DISTINCT d AS digest FROM unnest(:digests::text[]) AS d
    WHERE EXISTS (SELECT 1 FROM partner_chunks p WHERE p.partner_org = :partner AND p.digest = d)`,
} as const

// Operations (readiness, metrics)

/**
 * As `OPERATIONS_SQL` of the SQLite store: a share past its expiry that nothing has marked yet
 * counts as expired; a failed outbound share as `retrying` while its offer job is live; an
 * inbound share receiving as its fetch job says. Ordered outbound first, then by status.
 */
export const OPERATIONS_SQL = {
  ping: 'SELECT 1 AS ok',
  countShares: `
    SELECT direction, status, count FROM (
      SELECT 'outbound' AS direction, effective AS status, count(*) AS count FROM (
        SELECT CASE
          WHEN o.expires_at <= :now AND o.status NOT IN ('revoked', 'rejected', 'expired') THEN 'expired'
          WHEN o.status = 'failed' AND EXISTS (
            SELECT 1 FROM jobs AS j WHERE j.ref = o.id AND j.kind = 'offer' AND j.state IN ('pending', 'running')
          ) THEN 'retrying'
          ELSE o.status END AS effective
        FROM outbound_shares AS o
      ) AS outbound GROUP BY effective
      UNION ALL
      SELECT 'inbound' AS direction, effective AS status, count(*) AS count FROM (
        SELECT CASE
          WHEN i.expires_at <= :now AND i.status NOT IN ('revoked', 'rejected', 'expired') THEN 'expired'
          WHEN i.status = 'receiving' THEN coalesce((
            SELECT CASE
              WHEN j.state = 'dead' THEN 'failed'
              WHEN j.state = 'pending' AND j.last_error IS NOT NULL THEN 'retrying'
              ELSE 'receiving' END
            FROM jobs AS j
            WHERE j.ref = i.id AND j.kind = 'fetch'
            -- the live fetch job if there is one (the oldest), else the newest
            ORDER BY j.state IN ('pending', 'running') DESC,
              CASE WHEN j.state IN ('pending', 'running') THEN j.seq ELSE -j.seq END
            LIMIT 1
          ), 'receiving')
          ELSE i.status END AS effective
        FROM inbound_shares AS i
      ) AS inbound GROUP BY effective
    ) AS counts
    ORDER BY direction DESC, status`,
} as const

// Revocation (cascade to onward shares)

export const REVOCATION_SQL = {
  /** Onward shares of an external case: caseId is the inbound id or the case imported from it. */
  listOutboundSharesDerivedFrom: `
    SELECT * FROM outbound_shares
    WHERE case_id = :inbound_id OR case_id IN (SELECT id FROM cases WHERE imported_from = :inbound_id)
    ORDER BY created_at, seq`,
} as const
