/**
 * The SQLite schema, as an ordered list of migrations.
 *
 * Migration `n` (1-based) is `MIGRATIONS[n - 1]`. {@link migrate} applies the missing ones at
 * open, each in its own `BEGIN IMMEDIATE` transaction together with its row in
 * `schema_migrations`, so a crash leaves the database at a whole version. Never edit a
 * migration that has shipped; append a new one.
 *
 * Conventions: STRICT tables; timestamps are integer Unix seconds; booleans are 0/1 integers;
 * arrays and objects are JSON text; lists come back in insertion order (rowid) unless a
 * natural key orders them.
 *
 * @module
 */
import type { DatabaseSync } from 'node:sqlite'

export const MIGRATIONS: readonly string[] = [
  // 1: everything a node remembers in v0.1
  `
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT;

  CREATE TABLE policies (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    policy TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE partners (
    org TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    ca_certificate TEXT NOT NULL,
    ca_fingerprint TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    policy_id TEXT,
    policy_version INTEGER,
    added_at INTEGER NOT NULL,
    CHECK ((policy_id IS NULL) = (policy_version IS NULL)),
    FOREIGN KEY (policy_id, policy_version) REFERENCES policies (id, version)
  ) STRICT;

  CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    fields TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    imported_from TEXT
  ) STRICT;

  CREATE TABLE folders (
    case_id TEXT NOT NULL REFERENCES cases (id),
    id TEXT NOT NULL,
    parent_id TEXT,
    name TEXT NOT NULL,
    PRIMARY KEY (case_id, id)
  ) STRICT;

  CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    folder_id TEXT,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    digest TEXT NOT NULL,
    chunk_size INTEGER NOT NULL,
    chunks TEXT NOT NULL,
    do_not_disclose INTEGER NOT NULL CHECK (do_not_disclose IN (0, 1)),
    attachment_of TEXT,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (case_id, folder_id) REFERENCES folders (case_id, id)
  ) STRICT;
  CREATE INDEX evidence_case ON evidence (case_id);

  CREATE TABLE outbound_shares (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    partner_org TEXT NOT NULL REFERENCES partners (org),
    scope TEXT NOT NULL CHECK (scope IN ('case', 'folders', 'evidence')),
    folder_ids TEXT NOT NULL,
    evidence_ids TEXT NOT NULL,
    message TEXT,
    recipients TEXT NOT NULL,
    policy TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'delivered', 'rejected', 'failed', 'revoked', 'expired')),
    status_code TEXT,
    status_detail TEXT,
    revision INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX outbound_shares_case ON outbound_shares (case_id);

  CREATE TABLE outbound_revisions (
    share_id TEXT NOT NULL REFERENCES outbound_shares (id),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    manifest_jws TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    receipt_jws TEXT,
    PRIMARY KEY (share_id, revision)
  ) STRICT;

  -- Which chunks a share makes servable to its partner (the union over its revisions).
  CREATE TABLE share_chunks (
    share_id TEXT NOT NULL REFERENCES outbound_shares (id),
    digest TEXT NOT NULL,
    PRIMARY KEY (share_id, digest)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX share_chunks_digest ON share_chunks (digest);

  CREATE TABLE inbound_shares (
    id TEXT PRIMARY KEY,
    sender_org TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    share_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    manifest_jws TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    manifest TEXT NOT NULL,
    policy TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('receiving', 'complete', 'rejected', 'revoked', 'expired')),
    status_detail TEXT,
    received_at INTEGER NOT NULL,
    completed_at INTEGER,
    expires_at INTEGER NOT NULL,
    receipt_jws TEXT,
    UNIQUE (sender_org, share_id)
  ) STRICT;

  -- CW-SIG-012: (iss, jti) of accepted signed objects, kept until they expire.
  CREATE TABLE jtis (
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    digest TEXT NOT NULL,
    exp INTEGER NOT NULL,
    PRIMARY KEY (iss, jti)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX jtis_exp ON jtis (exp);

  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    run_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  -- At most one pending job per (kind, ref): a duplicate enqueue is ignored. A job enqueued
  -- while another of the same kind and ref runs waits as pending (it may have new work to do);
  -- at most one of them runs at a time.
  CREATE UNIQUE INDEX jobs_pending ON jobs (kind, ref) WHERE state = 'pending';
  CREATE UNIQUE INDEX jobs_running ON jobs (kind, ref) WHERE state = 'running';
  CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
  CREATE INDEX jobs_ref ON jobs (ref);
  `,
  // n: principals (users, groups, members) and case access (owner, team); one import per inbound share
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    badge TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
    disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX users_email ON users (lower(email)) WHERE email IS NOT NULL;
  CREATE INDEX users_badge ON users (badge) WHERE badge IS NOT NULL;

  CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX group_members_user ON group_members (user_id);

  -- Every token belongs to a user: the users of existing tokens become user records.
  INSERT INTO users (id, name, email, badge, role, kind, disabled, created_at, updated_at)
    SELECT user_id, user_id, NULL, NULL, CASE WHEN max(role = 'admin') = 1 THEN 'admin' ELSE 'member' END, 'user', 0, min(created_at), max(created_at)
    FROM tokens GROUP BY user_id;

  CREATE TABLE case_access (
    case_id TEXT PRIMARY KEY REFERENCES cases (id),
    owner TEXT NOT NULL,
    team TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  -- Importing an external case twice yields the same local case.
  CREATE UNIQUE INDEX cases_imported_from ON cases (imported_from) WHERE imported_from IS NOT NULL;
  `,
  // n: audit trail: one append-only hash chain per case (audit/audit_trail.ts)
  `
  CREATE TABLE audit_entries (
    case_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev TEXT,
    digest TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
  ) STRICT, WITHOUT ROWID;
  -- Append-only for the node's own code; the digest chain detects changes made around this.
  CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
  CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
  `,
  // n: operations: share counts by status for the metrics, from the indexes alone
  `
  CREATE INDEX outbound_shares_status ON outbound_shares (status, expires_at);
  CREATE INDEX inbound_shares_status ON inbound_shares (status, expires_at);
  `,
  // n: notifications: delivery state of each notification of an inbound share (notifications/)
  `
  CREATE TABLE notifications (
    inbound_id TEXT NOT NULL REFERENCES inbound_shares (id),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (inbound_id, revision, channel)
  ) STRICT, WITHOUT ROWID;
  `,
  // n: revisions: later revisions of inbound shares kept apart from what is applied, and the applied state of external cases
  `
  CREATE TABLE inbound_revisions (
    inbound_id TEXT NOT NULL REFERENCES inbound_shares (id),
    revision INTEGER NOT NULL CHECK (revision >= 2),
    manifest_jws TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    manifest TEXT NOT NULL,
    policy TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'superseded')),
    transfer TEXT NOT NULL CHECK (transfer IN ('receiving', 'verified', 'rejected')),
    receipt_jws TEXT,
    receipt_sent INTEGER NOT NULL CHECK (receipt_sent IN (0, 1)),
    received_at INTEGER NOT NULL,
    verified_at INTEGER,
    PRIMARY KEY (inbound_id, revision)
  ) STRICT;
  CREATE TABLE applied_states (
    inbound_id TEXT PRIMARY KEY REFERENCES inbound_shares (id),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    snapshot TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  `,
  // n: trust-only partners — anchors for signed objects, never for TLS (CW-PROV-008)
  `
  ALTER TABLE partners ADD COLUMN trust_only INTEGER NOT NULL DEFAULT 0 CHECK (trust_only IN (0, 1));
  `,
  // n: conformance control — the outbound shares EP-6 made, and for which peer (SPEC.md §21, CW-CTL-002)
  `
  CREATE TABLE control_shares (
    share_id TEXT PRIMARY KEY REFERENCES outbound_shares (id),
    peer_org TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  `,
  // n: the outbox — domain events written in their action's transaction, one row per consumer
  // still to handle it (audit trail, notifications, live-share revisions); a consumer deletes
  // its row in the transaction that does its work. seq (the rowid) orders a case's events.
  `
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    consumer TEXT NOT NULL,
    case_id TEXT NOT NULL,
    event TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (consumer, event_id)
  ) STRICT;
  CREATE INDEX outbox_consumer ON outbox (consumer, seq);
  `,
  // n: proof of possession and per-partner quotas — the chunks each partner has itself delivered to this node, written
  // only after the chunk's bytes matched its digest and were stored durably (SPEC.md CW-POS-005).
  // A partner is asked for every other chunk, even one the node holds (CW-POS-001).
  `
  CREATE TABLE partner_chunks (
    partner_org TEXT NOT NULL,
    digest TEXT NOT NULL,
    delivered_at INTEGER NOT NULL,
    PRIMARY KEY (partner_org, digest)
  ) STRICT, WITHOUT ROWID;
  -- Per-partner quotas (CW-QUO-003): the evidence bytes of each offer accepted, for the daily budget.
  CREATE TABLE partner_offer_bytes (
    partner_org TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX partner_offer_bytes_partner ON partner_offer_bytes (partner_org, accepted_at);
  `,
  // n: token lifecycle (CW-LOC-010) — a name, an expiry and the last use of each bearer token.
  // Tokens made before this expire 90 days after the upgrade (the default lifetime), not never.
  `
  ALTER TABLE tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
  ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
  UPDATE tokens SET expires_at = max(created_at, unixepoch()) + 90 * 86400;
  CREATE INDEX tokens_user ON tokens (user_id);
  `,
  // n: recipients the receiving side added to an external case (SPEC.md CW-LOC-025), apart from the signed manifest's
  `
  CREATE TABLE added_recipients (
    inbound_id TEXT NOT NULL REFERENCES inbound_shares (id),
    kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    recipient_id TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (inbound_id, kind, recipient_id)
  ) STRICT;
  `,
  // versions: what each partner's federation listener said it supports (CW-VER-003, CW-VER-004),
  // and the revocations received for shares never offered (CW-FED-018)
  `
  CREATE TABLE partner_versions (
    org TEXT PRIMARY KEY,
    versions TEXT NOT NULL,
    learned_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE revocation_tombstones (
    sender_org TEXT NOT NULL,
    share_id TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (sender_org, share_id)
  ) STRICT;
  `,
  // progress: what the sending policy held back from each revision of a share, and how far the
  // partner has fetched the chunks it asked for (CW-LOC-031). One row per chunk the partner's offer
  // answer named; serving the whole chunk marks it and moves its transfer's counters in one
  // transaction, so reading progress is one row.
  `
  CREATE TABLE outbound_held_back (
    share_id TEXT NOT NULL REFERENCES outbound_shares (id),
    revision INTEGER NOT NULL,
    evidence_id TEXT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (share_id, revision, evidence_id)
  ) STRICT;
  CREATE TABLE outbound_transfers (
    share_id TEXT NOT NULL REFERENCES outbound_shares (id),
    revision INTEGER NOT NULL,
    chunks_total INTEGER NOT NULL,
    bytes_total INTEGER NOT NULL,
    chunks_done INTEGER NOT NULL DEFAULT 0,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (share_id, revision)
  ) STRICT;
  CREATE TABLE outbound_transfer_chunks (
    share_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    served INTEGER NOT NULL DEFAULT 0 CHECK (served IN (0, 1)),
    PRIMARY KEY (share_id, revision, digest),
    FOREIGN KEY (share_id, revision) REFERENCES outbound_transfers (share_id, revision)
  ) STRICT, WITHOUT ROWID;
  `,
  // n: operations: the job-queue view lists jobs retrying or dead without reading the done ones,
  // which are nearly all of them
  `
  CREATE INDEX jobs_unfinished ON jobs (created_at) WHERE state <> 'done';
  `,
  // n: the last successful exchange with each partner (Unix seconds, to the minute: written at
  // most once a minute per partner, partners/contacts.ts), kept across restarts
  `
  ALTER TABLE partners ADD COLUMN last_contact_at INTEGER;
  `,
  // n: a version of each applied state, raised by every write of it: listing updates (polled)
  // reuses the differences it computed against the same applied state
  `
  ALTER TABLE applied_states ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
  `,
  // n: the revisions of a share without their manifests, answered from the index: those columns
  // sit after the manifests in the row, and reaching them walks every overflow page of both
  `
  CREATE INDEX inbound_revisions_state ON inbound_revisions (inbound_id, revision, manifest_digest, status, transfer, received_at);
  `,
  // o: job leases: a running job is held by one replica (claimed_by) until lease_until; a replica
  // that dies leaves its jobs to the others once the lease has run out, and one restarting puts
  // back only its own.
  `
  ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
  ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
  `,
  // p: link shares (SPEC.md §22, CW-LOC-032…): a case package for one recipient. The package's
  // members are kept in order (generated ones as blobs, evidence by id) so its layout is
  // recomputed and streamed byte-identically on every download; the capability token of an
  // e-mail recipient is stored only hashed.
  `
  CREATE TABLE link_shares (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    created_by TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('email', 'local-user', 'local-group', 'partner-user', 'partner-group')),
    recipient_value TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('case', 'folders', 'evidence')),
    folder_ids TEXT NOT NULL,
    evidence_ids TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('zip', 'tar', 'iso')),
    retain_folder_structure INTEGER NOT NULL CHECK (retain_folder_structure IN (0, 1)),
    audit_trail INTEGER NOT NULL CHECK (audit_trail IN (0, 1)),
    table_of_contents INTEGER NOT NULL CHECK (table_of_contents IN (0, 1)),
    transcripts INTEGER NOT NULL CHECK (transcripts IN (0, 1)),
    message TEXT,
    state TEXT NOT NULL CHECK (state IN ('processing', 'ready', 'failed', 'revoked')),
    failure TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT,
    package_created_at INTEGER,
    package_size INTEGER,
    package_digest TEXT,
    items INTEGER,
    token_hash TEXT UNIQUE
  ) STRICT;
  CREATE INDEX link_shares_case ON link_shares (case_id, created_at);
  CREATE TABLE link_share_members (
    link_id TEXT NOT NULL REFERENCES link_shares (id),
    position INTEGER NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    crc32 INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('generated', 'evidence')),
    ref TEXT NOT NULL,
    PRIMARY KEY (link_id, position)
  ) STRICT, WITHOUT ROWID;
  `,
  // q: blob lifecycle: the collector forgets who delivered a chunk it deleted (chunk_references.ts)
  `
  CREATE INDEX partner_chunks_digest ON partner_chunks (digest);
  `,
  // r: packages carried to a partner's users (SPEC.md §22, CW-PKG-011..017): the sender's signed
  // offer of a link share, and the receiver's inbound packages (stored as chunks once verified)
  `
  ALTER TABLE link_shares ADD COLUMN offer_jws TEXT;
  ALTER TABLE link_shares ADD COLUMN offered_at INTEGER;
  CREATE TABLE inbound_packages (
    id TEXT PRIMARY KEY,
    sender_org TEXT NOT NULL,
    package_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('receiving', 'received', 'refused', 'revoked')),
    offer_jws TEXT,
    offer_digest TEXT,
    offer_jti TEXT,
    recipients TEXT NOT NULL,
    format TEXT,
    size INTEGER,
    manifest_digest TEXT,
    message TEXT,
    expires_at INTEGER NOT NULL,
    failure TEXT,
    sender_name TEXT,
    case_id TEXT,
    chunk_size INTEGER,
    chunks TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    received_at INTEGER,
    revoked_at INTEGER,
    UNIQUE (sender_org, package_id)
  ) STRICT;
  CREATE INDEX inbound_packages_created ON inbound_packages (created_at);
  `,
  // s: a re-offer is recognised by its digest before its payload is read (CW-FED-004)
  `
  CREATE INDEX inbound_shares_digest ON inbound_shares (sender_org, manifest_digest);
  `,
  // t: the recipients a manifest names, beside it: a listing's recipient check reads them, never the manifest
  `
  ALTER TABLE inbound_shares ADD COLUMN recipients TEXT NOT NULL DEFAULT '[]';
  UPDATE inbound_shares SET recipients = json_extract(manifest, '$.share.recipients')
    WHERE json_type(manifest, '$.share.recipients') = 'array';
  `,
  // u: an inbound share's JWS is kept with its payload detached: the payload is the manifest's text (rows.ts)
  `
  UPDATE inbound_shares SET manifest_jws =
    substr(manifest_jws, 1, instr(manifest_jws, '.')) || '.' ||
    substr(substr(manifest_jws, instr(manifest_jws, '.') + 1), instr(substr(manifest_jws, instr(manifest_jws, '.') + 1), '.') + 1)
    WHERE instr(manifest_jws, '..') = 0;
  `,
]

/**
 * Brings `db` to the latest schema version; returns the number of migrations applied (0 when
 * the database was already current). Refuses a database written by a newer version.
 */
export function migrate(db: DatabaseSync, migrations: readonly string[] = MIGRATIONS): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT')
  const current = db.prepare('SELECT coalesce(max(version), 0) AS version FROM schema_migrations')
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
  let applied = 0
  for (;;) {
    db.exec('BEGIN IMMEDIATE')
    try {
      // Read inside the write transaction: another process may have migrated meanwhile.
      const version = Number((current.get() as { version: number }).version)
      if (version > migrations.length) {
        throw new Error(`database schema version ${version} is newer than this Caseway (${migrations.length})`)
      }
      if (version === migrations.length) {
        db.exec('COMMIT')
        return applied
      }
      db.exec(migrations[version]!)
      record.run(version + 1, Math.floor(Date.now() / 1000))
      db.exec('COMMIT')
      applied += 1
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw err
    }
  }
}
