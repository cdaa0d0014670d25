/**
 * Every SQL statement the SQLite metadata store runs. Parameters are named after the columns
 * (see `rows.ts`); the store prepares each statement once and reuses it.
 *
 * @module
 */
import { SHARE_IN_FORCE } from './chunk_references.ts'
import { namesUserOrGroup } from './rows.ts'

const insert = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => ':' + c).join(', ')})`

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
 * listing never reads a manifest. The manifest's text is null when the node holds that manifest
 * parsed (`shared_manifests.ts`, the function `caseway_manifest_shared`): SQLite then reads none
 * of its pages.
 */
const READ_INBOUND_SHARE_COLUMNS = INBOUND_SHARE_COLUMNS.filter((c) => c !== 'manifest_jws' && c !== 'recipients')
  .map((c) => (c === 'manifest' ? 'CASE WHEN caseway_manifest_shared(s.manifest_digest) THEN NULL ELSE s.manifest END AS manifest' : `s.${c}`))
  .join(', ')
const JOB_COLUMNS = ['id', 'kind', 'ref', 'payload', 'state', 'attempts', 'run_at', 'last_error', 'created_at', 'updated_at', 'claimed_by', 'lease_until']

/** A chunk of share `:share` may go to `:partner` (EP-2 and EP-20 alike): the share is theirs and in force. */
const SERVABLE_TO_PARTNER = `s.partner_org = :partner AND ${SHARE_IN_FORCE}`

export const SQL = {
  insertToken: insert('tokens', TOKEN_COLUMNS),
  findTokenByHash: 'SELECT * FROM tokens WHERE hash = ?',
  getToken: 'SELECT * FROM tokens WHERE id = ?',
  listTokens: 'SELECT * FROM tokens ORDER BY created_at DESC, id',
  listUserTokens: 'SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at DESC, id',
  revokeToken: 'UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  revokeUserTokens: 'UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING id',
  touchToken: 'UPDATE tokens SET last_used_at = ? WHERE id = ?',

  upsertPartner:
    insert('partners', PARTNER_COLUMNS) +
    ' ON CONFLICT (org) DO UPDATE SET ' +
    PARTNER_COLUMNS.filter((c) => c !== 'org')
      .map((c) => `${c} = excluded.${c}`)
      .join(', '),
  getPartner: 'SELECT * FROM partners WHERE org = ?',
  listPartners: 'SELECT * FROM partners ORDER BY org',
  /** Never moves back: writes from both directions may arrive out of order. */
  recordPartnerContact: 'UPDATE partners SET last_contact_at = :at WHERE org = :org AND (last_contact_at IS NULL OR last_contact_at < :at)',
  listPartnerContacts: 'SELECT org, last_contact_at FROM partners WHERE last_contact_at IS NOT NULL',

  insertPolicy: insert('policies', POLICY_COLUMNS),
  getPolicyVersion: 'SELECT * FROM policies WHERE id = ? AND version = ?',
  getPolicyLatest: 'SELECT * FROM policies WHERE id = ? ORDER BY version DESC LIMIT 1',
  listPolicies: 'SELECT * FROM policies ORDER BY id, version',

  insertCase: insert('cases', CASE_COLUMNS),
  updateCaseFields: 'UPDATE cases SET fields = ?, updated_at = ? WHERE id = ?',
  getCase: 'SELECT * FROM cases WHERE id = ?',
  listCases: 'SELECT * FROM cases ORDER BY created_at, rowid',
  // spec: CW-LOC-002, CW-LOC-054 — owner and team matching of access/case_access.ts, in SQL;
  // newest first by rowid.
  listVisibleCases: `
    SELECT c.*, c.rowid AS position FROM cases AS c LEFT JOIN case_access AS a ON a.case_id = c.id
    WHERE (:after IS NULL OR c.rowid < :after)
      AND (:sees_all = 1 OR a.owner = :user_id OR ${namesUserOrGroup('a.team')})
    ORDER BY c.rowid DESC LIMIT :limit`,
  insertFolder: insert('folders', FOLDER_COLUMNS),
  listFolders: 'SELECT * FROM folders WHERE case_id = ? ORDER BY rowid',
  insertEvidence: insert('evidence', EVIDENCE_COLUMNS),
  getEvidence: 'SELECT * FROM evidence WHERE id = ?',
  listEvidence: 'SELECT * FROM evidence WHERE case_id = ? ORDER BY rowid',

  insertOutboundShare: insert('outbound_shares', OUTBOUND_SHARE_COLUMNS),
  updateOutboundStatus: 'UPDATE outbound_shares SET status = ?, status_code = ?, status_detail = ?, updated_at = ? WHERE id = ?',
  getOutboundShare: 'SELECT * FROM outbound_shares WHERE id = ?',
  getOutboundShareState: 'SELECT id, partner_org, status, expires_at, revision FROM outbound_shares WHERE id = ?',
  listOutboundShares: 'SELECT * FROM outbound_shares ORDER BY created_at, rowid',
  listOutboundSharesOfCase: 'SELECT * FROM outbound_shares WHERE case_id = ? ORDER BY created_at, rowid',
  listOutboundSharesOfCasePage: `
    SELECT *, rowid AS position FROM outbound_shares
    WHERE case_id = :case_id AND (:after IS NULL OR rowid < :after)
    ORDER BY rowid DESC LIMIT :limit`,
  insertOutboundRevision: insert('outbound_revisions', OUTBOUND_REVISION_COLUMNS),
  /** A new revision becomes the share's current one (never moves backwards). */
  advanceOutboundRevision: 'UPDATE outbound_shares SET revision = max(revision, :revision), updated_at = max(updated_at, :at) WHERE id = :id',
  // ?2 is a JSON array of digests: one statement for the chunks of a whole manifest.
  // In digest order: the rows go into two B-trees keyed by digest, and 100,000 inserts at random
  // places took 1.2–1.5 s where in order they take 0.27 s (sort included).
  insertShareChunks: 'INSERT INTO share_chunks (share_id, digest) SELECT ?, d.value FROM json_each(?) AS d WHERE true ORDER BY d.value ON CONFLICT DO NOTHING',
  getOutboundRevision: 'SELECT * FROM outbound_revisions WHERE share_id = ? AND revision = ?',
  setOutboundReceipt: 'UPDATE outbound_revisions SET receipt_jws = ? WHERE share_id = ? AND revision = ?',
  /** Indexed: share_chunks_digest, then the share by primary key. */
  isChunkServable: `
    SELECT 1 AS servable FROM share_chunks AS c
    JOIN outbound_shares AS s ON s.id = c.share_id
    WHERE c.share_id = :share AND c.digest = :digest AND ${SERVABLE_TO_PARTNER}
    LIMIT 1`,
  servableChunks: `
    SELECT DISTINCT c.digest AS digest FROM share_chunks AS c
    JOIN outbound_shares AS s ON s.id = c.share_id
    WHERE c.share_id = :share AND c.digest IN (SELECT value FROM json_each(:digests)) AND ${SERVABLE_TO_PARTNER}`,

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
  getInboundShare: `SELECT ${READ_INBOUND_SHARE_COLUMNS} FROM inbound_shares AS s WHERE id = ?`,
  getInboundShareState: 'SELECT id, sender_org, revision, manifest_digest, status, expires_at FROM inbound_shares WHERE id = ?',
  // Indexed: inbound_shares_digest, and the revisions of the sender's shares by inbound_revisions_state.
  findInboundShareStateByDigest: `
    SELECT id, sender_org, revision, manifest_digest, status, expires_at FROM inbound_shares
    WHERE id = (
      SELECT id FROM inbound_shares WHERE sender_org = :sender_org AND manifest_digest = :digest
      UNION ALL
      SELECT r.inbound_id FROM inbound_shares AS s JOIN inbound_revisions AS r ON r.inbound_id = s.id
      WHERE s.sender_org = :sender_org AND r.manifest_digest = :digest
      LIMIT 1)`,
  findInboundShare: `SELECT ${READ_INBOUND_SHARE_COLUMNS} FROM inbound_shares AS s WHERE sender_org = ? AND share_id = ?`,
  listInboundShares: `SELECT ${READ_INBOUND_SHARE_COLUMNS} FROM inbound_shares AS s ORDER BY received_at, rowid`,
  // spec: CW-LOC-001, CW-LOC-054 — the recipient matching of access/recipients.ts, in SQL: the
  // manifest's recipients (the entire agency when it names none) and those our side added.
  // Newest first by rowid, which an update keeps; `recipient` is 1 when the viewer is one.
  // lower() folds ASCII only, which an e-mail recipient is (CW-FMT-006).
  listVisibleInboundShares: `
    SELECT * FROM (
      SELECT ${READ_INBOUND_SHARE_COLUMNS}, s.rowid AS position, (
          json_array_length(s.recipients) = 0
          OR EXISTS (
            SELECT 1 FROM json_each(s.recipients) AS r
            WHERE CASE json_extract(r.value, '$.kind')
              WHEN 'agency' THEN json_extract(r.value, '$.id') = :org
              WHEN 'user' THEN json_extract(r.value, '$.id') = :user_id
              WHEN 'group' THEN json_extract(r.value, '$.id') IN (SELECT value FROM json_each(:groups))
              WHEN 'email' THEN lower(json_extract(r.value, '$.id')) = (SELECT lower(email) FROM users WHERE id = :user_id)
              WHEN 'badge' THEN json_extract(r.value, '$.id') = (SELECT badge FROM users WHERE id = :user_id)
            END)
          OR EXISTS (
            SELECT 1 FROM added_recipients AS a
            WHERE a.inbound_id = s.id
              AND ((a.kind = 'user' AND a.recipient_id = :user_id) OR (a.kind = 'group' AND a.recipient_id IN (SELECT value FROM json_each(:groups))))
          )
        ) AS recipient
      FROM inbound_shares AS s
      WHERE s.status <> 'rejected' AND (:after IS NULL OR s.rowid < :after)
    )
    WHERE recipient = 1 OR :sees_all = 1
    ORDER BY position DESC LIMIT :limit`,

  insertJti: 'INSERT INTO jtis (iss, jti, digest, exp) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  getJti: 'SELECT digest FROM jtis WHERE iss = ? AND jti = ?',
  forgetExpiredJtis: 'DELETE FROM jtis WHERE exp <= ?',
  insertOfferBytes: 'INSERT INTO partner_offer_bytes (partner_org, accepted_at, bytes) VALUES (?, ?, ?)',
  forgetOfferBytes: 'DELETE FROM partner_offer_bytes WHERE accepted_at <= ?',
  partnerUsage: `SELECT
      (SELECT count(*) FROM inbound_shares WHERE sender_org = :partner AND status = 'receiving')
        + (SELECT count(*) FROM inbound_revisions r JOIN inbound_shares s ON s.id = r.inbound_id
           WHERE s.sender_org = :partner AND r.transfer = 'receiving' AND r.status != 'superseded') AS pending,
      (SELECT coalesce(sum(bytes), 0) FROM partner_offer_bytes WHERE partner_org = :partner AND accepted_at > :since) AS bytes,
      (SELECT min(accepted_at) FROM partner_offer_bytes WHERE partner_org = :partner AND accepted_at > :since) AS oldest`,
  insertPartnerChunk: 'INSERT INTO partner_chunks (partner_org, digest, delivered_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  // ?3 is a JSON array of digests; `WHERE true` tells SQLite the ON CONFLICT is the upsert's, not a join's.
  insertPartnerChunks:
    'INSERT INTO partner_chunks (partner_org, digest, delivered_at) SELECT DISTINCT ?, d.value, ? FROM json_each(?) AS d WHERE true ON CONFLICT DO NOTHING',
  // One query for a whole manifest: ?1 is a JSON array of digests.
  deliveredChunks:
    'SELECT DISTINCT d.value AS digest FROM json_each(?) AS d WHERE EXISTS (SELECT 1 FROM partner_chunks p WHERE p.partner_org = ? AND p.digest = d.value)',

  /** Only uniqueness conflicts are ignored (a live duplicate, or the same id again). */
  enqueueJob: insert('jobs', JOB_COLUMNS) + ' ON CONFLICT DO NOTHING',
  /** A job whose lease ran out while a newer one of its kind and ref waits is superseded by it. */
  supersedeExpiredJobs: `
    UPDATE jobs SET state = 'done', last_error = 'superseded by a newer job', updated_at = :now, claimed_by = NULL, lease_until = NULL
    WHERE state = 'running' AND lease_until < :now
      AND EXISTS (SELECT 1 FROM jobs AS p WHERE p.state = 'pending' AND p.kind = jobs.kind AND p.ref = jobs.ref)`,
  // Due pending jobs whose kind and ref has none running, and running jobs whose lease ran out
  // (their replica died): the claim counts an attempt and takes the lease.
  claimDueJobs: `
    UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = :now, claimed_by = :owner, lease_until = :lease_until
    WHERE id IN (
      SELECT id FROM jobs AS p
      WHERE ((state = 'pending' AND run_at <= :now
              AND NOT EXISTS (SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.kind = p.kind AND r.ref = p.ref))
          OR (state = 'running' AND lease_until < :now))
        AND (:kinds IS NULL OR kind IN (SELECT value FROM json_each(:kinds)))
      ORDER BY run_at, rowid LIMIT :limit
    )
    RETURNING *, rowid AS seq`,
  renewJobLease: "UPDATE jobs SET lease_until = :lease_until WHERE id = :id AND state = 'running' AND claimed_by = :owner",
  completeJob:
    "UPDATE jobs SET state = 'done', updated_at = :at, claimed_by = NULL, lease_until = NULL WHERE id = :id AND state = 'running' AND claimed_by = :owner",
  failJob: `
    UPDATE jobs SET state = :state, last_error = :error, run_at = :run_at, updated_at = :at, claimed_by = NULL, lease_until = NULL
    WHERE id = :id AND state = 'running' AND claimed_by = :owner`,
  jobExists: 'SELECT 1 AS found FROM jobs WHERE id = ?',
  /** A failed job whose (kind, ref) already has a pending successor is superseded by it. */
  hasPendingSibling: `
    SELECT 1 AS found FROM jobs AS p JOIN jobs AS j ON j.kind = p.kind AND j.ref = p.ref
    WHERE j.id = ? AND p.state = 'pending' AND p.id <> j.id LIMIT 1`,
  supersedeRunningJobs: `
    UPDATE jobs SET state = 'done', last_error = 'superseded by a newer job', updated_at = :at, claimed_by = NULL, lease_until = NULL
    WHERE state = 'running' AND (claimed_by = :owner OR claimed_by IS NULL)
      AND EXISTS (SELECT 1 FROM jobs AS p WHERE p.state = 'pending' AND p.kind = jobs.kind AND p.ref = jobs.ref)`,
  // Jobs claimed before leases existed (claimed_by NULL) were this node's: there was one.
  resetRunningJobs: `
    UPDATE jobs SET state = 'pending', updated_at = :at, claimed_by = NULL, lease_until = NULL
    WHERE state = 'running' AND (claimed_by = :owner OR claimed_by IS NULL)`,
  listJobs: 'SELECT * FROM jobs ORDER BY created_at, rowid',
  listJobsOfRef: 'SELECT * FROM jobs WHERE ref = ? ORDER BY created_at, rowid',
  /**
   * Jobs whose last attempt failed: live ones (retrying) and dead ones that no later job of the
   * same kind and ref took over (a later revision's offer, say), oldest first.
   */
  listFailingJobs: `
    SELECT * FROM jobs AS j INDEXED BY jobs_unfinished
    WHERE state <> 'done'
      AND (
        (state IN ('pending', 'running') AND last_error IS NOT NULL)
        OR (state = 'dead' AND NOT EXISTS (SELECT 1 FROM jobs AS later WHERE later.ref = j.ref AND later.kind = j.kind AND later.rowid > j.rowid))
      )
    ORDER BY created_at, rowid`,
} as const

// Operations (readiness, metrics)

/**
 * A share past its expiry that nothing has marked yet counts as expired, as the services show
 * it. Both counts read only the (status, expires_at) indexes, never the share rows, but for an
 * outbound share stored `failed`: it counts as `retrying` while its offer job will run again
 * (`sending/share_view.ts`, CW-LOC-030), so its id is looked up by rowid — failed shares are few.
 * So is an inbound share `receiving`: `retrying` or `failed` as its fetch job says
 * (`reportedFetchStatus` in `receiving/external_cases.ts`).
 */
export const OPERATIONS_SQL = {
  ping: 'SELECT 1 AS ok',
  countShares: `
    SELECT 'outbound' AS direction, effective AS status, COUNT(*) AS count FROM (
      SELECT CASE
        WHEN expires_at <= :now AND status NOT IN ('revoked', 'rejected', 'expired') THEN 'expired'
        WHEN status = 'failed' AND EXISTS (
          SELECT 1 FROM outbound_shares AS s JOIN jobs AS j ON j.ref = s.id
          WHERE s.rowid = o.rowid AND j.kind = 'offer' AND j.state IN ('pending', 'running')
        ) THEN 'retrying'
        ELSE status END AS effective
      FROM outbound_shares AS o INDEXED BY outbound_shares_status
    ) GROUP BY effective
    UNION ALL
    SELECT 'inbound' AS direction, effective AS status, COUNT(*) AS count FROM (
      SELECT CASE
        WHEN expires_at <= :now AND status NOT IN ('revoked', 'rejected', 'expired') THEN 'expired'
        WHEN status = 'receiving' THEN COALESCE((
          SELECT CASE
            WHEN j.state = 'dead' THEN 'failed'
            WHEN j.state = 'pending' AND j.last_error IS NOT NULL THEN 'retrying'
            ELSE 'receiving' END
          FROM inbound_shares AS s JOIN jobs AS j ON j.ref = s.id
          WHERE s.rowid = i.rowid AND j.kind = 'fetch'
          -- the live fetch job if there is one (the oldest), else the newest
          ORDER BY j.state IN ('pending', 'running') DESC,
            CASE WHEN j.state IN ('pending', 'running') THEN j.rowid ELSE -j.rowid END
          LIMIT 1
        ), 'receiving')
        ELSE status END AS effective
      FROM inbound_shares AS i INDEXED BY inbound_shares_status
    ) GROUP BY effective`,
} as const

// Revocation (cascade to onward shares)

export const REVOCATION_SQL = {
  /** Onward shares of an external case: caseId is the inbound id or the case imported from it. */
  listOutboundSharesDerivedFrom: `
    SELECT * FROM outbound_shares
    WHERE case_id = :inboundId OR case_id IN (SELECT id FROM cases WHERE imported_from = :inboundId)
    ORDER BY created_at, rowid`,
} as const
