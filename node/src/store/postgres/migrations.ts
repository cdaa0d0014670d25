/**
 * The PostgreSQL schema, as an ordered list of migrations (the SQLite schema of
 * `../sqlite/migrations.ts`, translated once: PostgreSQL started at today's SQLite version).
 *
 * {@link migrate} applies the missing ones at open, all in one transaction that first takes a
 * transaction-level advisory lock, so two replicas opening at once run them once: the second
 * waits, then finds the schema current. DDL is transactional in PostgreSQL, so a failure leaves
 * the database at the previous version. Never edit a migration that has shipped; append one.
 *
 * Conventions: timestamps and sizes are `bigint` Unix seconds / bytes; flags are `boolean`;
 * arrays and objects are JSON `text`, stored byte for byte as the store wrote them (signed
 * manifests among them) and cast to `jsonb` only by the few queries that look inside. Where
 * SQLite listed rows in insertion order (rowid), a `seq` identity column orders them.
 *
 * @module
 */
import type { PoolClient } from 'pg'

export const MIGRATIONS: readonly string[] = [
  // 1: everything a node remembers, as of SQLite migration q (link shares, blob lifecycle, job leases)
  `
  CREATE TABLE tokens (
    id text PRIMARY KEY,
    hash text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('admin', 'member')),
    user_id text NOT NULL,
    name text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    last_used_at bigint,
    revoked_at bigint
  );
  CREATE INDEX tokens_user ON tokens (user_id);

  CREATE TABLE policies (
    id text NOT NULL,
    version bigint NOT NULL,
    policy text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (id, version)
  );

  CREATE TABLE partners (
    org text PRIMARY KEY,
    name text NOT NULL,
    endpoint text NOT NULL,
    ca_certificate text NOT NULL,
    ca_fingerprint text NOT NULL,
    enabled boolean NOT NULL,
    policy_id text,
    policy_version bigint,
    added_at bigint NOT NULL,
    trust_only boolean NOT NULL DEFAULT false,
    last_contact_at bigint,
    CHECK ((policy_id IS NULL) = (policy_version IS NULL)),
    FOREIGN KEY (policy_id, policy_version) REFERENCES policies (id, version)
  );

  CREATE TABLE cases (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    fields text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    imported_from text
  );
  -- Importing an external case twice yields the same local case.
  CREATE UNIQUE INDEX cases_imported_from ON cases (imported_from) WHERE imported_from IS NOT NULL;

  CREATE TABLE folders (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    case_id text NOT NULL REFERENCES cases (id),
    id text NOT NULL,
    parent_id text,
    name text NOT NULL,
    PRIMARY KEY (case_id, id)
  );

  CREATE TABLE evidence (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    case_id text NOT NULL REFERENCES cases (id),
    folder_id text,
    name text NOT NULL,
    category text NOT NULL,
    media_type text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0),
    digest text NOT NULL,
    chunk_size bigint NOT NULL,
    chunks text NOT NULL,
    do_not_disclose boolean NOT NULL,
    attachment_of text,
    created_at bigint NOT NULL,
    FOREIGN KEY (case_id, folder_id) REFERENCES folders (case_id, id)
  );
  CREATE INDEX evidence_case ON evidence (case_id, seq);

  CREATE TABLE outbound_shares (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    case_id text NOT NULL,
    partner_org text NOT NULL REFERENCES partners (org),
    scope text NOT NULL CHECK (scope IN ('case', 'folders', 'evidence')),
    folder_ids text NOT NULL,
    evidence_ids text NOT NULL,
    message text,
    recipients text NOT NULL,
    policy text NOT NULL,
    status text NOT NULL CHECK (status IN ('processing', 'delivered', 'rejected', 'failed', 'revoked', 'expired')),
    status_code text,
    status_detail text,
    revision bigint NOT NULL,
    created_by text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE INDEX outbound_shares_case ON outbound_shares (case_id);
  CREATE INDEX outbound_shares_status ON outbound_shares (status, expires_at);

  CREATE TABLE outbound_revisions (
    share_id text NOT NULL REFERENCES outbound_shares (id),
    revision bigint NOT NULL CHECK (revision >= 1),
    manifest_jws text NOT NULL,
    manifest_digest text NOT NULL,
    created_at bigint NOT NULL,
    receipt_jws text,
    PRIMARY KEY (share_id, revision)
  );

  -- Which chunks a share makes servable to its partner (the union over its revisions).
  CREATE TABLE share_chunks (
    share_id text NOT NULL REFERENCES outbound_shares (id),
    digest text NOT NULL,
    PRIMARY KEY (share_id, digest)
  );
  CREATE INDEX share_chunks_digest ON share_chunks (digest);

  CREATE TABLE inbound_shares (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    sender_org text NOT NULL,
    sender_name text NOT NULL,
    share_id text NOT NULL,
    revision bigint NOT NULL,
    manifest_jws text NOT NULL,
    manifest_digest text NOT NULL,
    manifest text NOT NULL,
    policy text NOT NULL,
    status text NOT NULL CHECK (status IN ('receiving', 'complete', 'rejected', 'revoked', 'expired')),
    status_detail text,
    received_at bigint NOT NULL,
    completed_at bigint,
    expires_at bigint NOT NULL,
    receipt_jws text,
    UNIQUE (sender_org, share_id)
  );
  CREATE INDEX inbound_shares_status ON inbound_shares (status, expires_at);

  -- CW-SIG-012: (iss, jti) of accepted signed objects, kept until they expire.
  CREATE TABLE jtis (
    iss text NOT NULL,
    jti text NOT NULL,
    digest text NOT NULL,
    exp bigint NOT NULL,
    PRIMARY KEY (iss, jti)
  );
  CREATE INDEX jtis_exp ON jtis (exp);

  -- A running job is held by one replica (claimed_by) until lease_until.
  CREATE TABLE jobs (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    kind text NOT NULL,
    ref text NOT NULL,
    payload text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts bigint NOT NULL CHECK (attempts >= 0),
    run_at bigint NOT NULL,
    last_error text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    claimed_by text,
    lease_until bigint
  );
  -- At most one pending and one running job per (kind, ref), as in SQLite.
  CREATE UNIQUE INDEX jobs_pending ON jobs (kind, ref) WHERE state = 'pending';
  CREATE UNIQUE INDEX jobs_running ON jobs (kind, ref) WHERE state = 'running';
  CREATE INDEX jobs_due ON jobs (run_at, seq) WHERE state = 'pending';
  CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
  CREATE INDEX jobs_ref ON jobs (ref);
  CREATE INDEX jobs_unfinished ON jobs (created_at) WHERE state <> 'done';

  CREATE TABLE users (
    id text PRIMARY KEY,
    name text NOT NULL,
    email text,
    badge text,
    role text NOT NULL CHECK (role IN ('admin', 'member')),
    kind text NOT NULL CHECK (kind IN ('user', 'service')),
    disabled boolean NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE INDEX users_email ON users (lower(email)) WHERE email IS NOT NULL;
  CREATE INDEX users_badge ON users (badge) WHERE badge IS NOT NULL;

  CREATE TABLE groups (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_at bigint NOT NULL
  );

  CREATE TABLE group_members (
    group_id text NOT NULL REFERENCES groups (id),
    user_id text NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
  );
  CREATE INDEX group_members_user ON group_members (user_id);

  CREATE TABLE case_access (
    case_id text PRIMARY KEY REFERENCES cases (id),
    owner text NOT NULL,
    team text NOT NULL,
    updated_at bigint NOT NULL
  );

  CREATE TABLE audit_entries (
    case_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    at bigint NOT NULL,
    type text NOT NULL,
    actor text NOT NULL,
    data text NOT NULL,
    prev text,
    digest text NOT NULL,
    PRIMARY KEY (case_id, seq)
  );
  -- Append-only for the node's own code; the digest chain detects changes made around this.
  CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$;
  CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();

  CREATE TABLE notifications (
    inbound_id text NOT NULL REFERENCES inbound_shares (id),
    revision bigint NOT NULL CHECK (revision >= 1),
    channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
    status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts bigint NOT NULL CHECK (attempts >= 0),
    last_error text,
    updated_at bigint NOT NULL,
    PRIMARY KEY (inbound_id, revision, channel)
  );

  CREATE TABLE inbound_revisions (
    inbound_id text NOT NULL REFERENCES inbound_shares (id),
    revision bigint NOT NULL CHECK (revision >= 2),
    manifest_jws text NOT NULL,
    manifest_digest text NOT NULL,
    manifest text NOT NULL,
    policy text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'applied', 'superseded')),
    transfer text NOT NULL CHECK (transfer IN ('receiving', 'verified', 'rejected')),
    receipt_jws text,
    receipt_sent boolean NOT NULL,
    received_at bigint NOT NULL,
    verified_at bigint,
    PRIMARY KEY (inbound_id, revision)
  );
  CREATE INDEX inbound_revisions_state ON inbound_revisions (inbound_id, revision) INCLUDE (manifest_digest, status, transfer, received_at);

  CREATE TABLE applied_states (
    inbound_id text PRIMARY KEY REFERENCES inbound_shares (id),
    revision bigint NOT NULL CHECK (revision >= 1),
    snapshot text NOT NULL,
    updated_at bigint NOT NULL,
    version bigint NOT NULL DEFAULT 1
  );

  CREATE TABLE control_shares (
    share_id text PRIMARY KEY REFERENCES outbound_shares (id),
    peer_org text NOT NULL,
    created_at bigint NOT NULL
  );

  -- seq orders a case's events as they committed: appends take a lock held to commit (outbox.ts).
  CREATE TABLE outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL,
    consumer text NOT NULL,
    case_id text NOT NULL,
    event text NOT NULL,
    recorded_at bigint NOT NULL,
    UNIQUE (consumer, event_id)
  );
  CREATE INDEX outbox_consumer ON outbox (consumer, seq);

  CREATE TABLE partner_chunks (
    partner_org text NOT NULL,
    digest text NOT NULL,
    delivered_at bigint NOT NULL,
    PRIMARY KEY (partner_org, digest)
  );
  CREATE INDEX partner_chunks_digest ON partner_chunks (digest);
  CREATE TABLE partner_offer_bytes (
    partner_org text NOT NULL,
    accepted_at bigint NOT NULL,
    bytes bigint NOT NULL
  );
  CREATE INDEX partner_offer_bytes_partner ON partner_offer_bytes (partner_org, accepted_at);

  CREATE TABLE added_recipients (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    inbound_id text NOT NULL REFERENCES inbound_shares (id),
    kind text NOT NULL CHECK (kind IN ('user', 'group')),
    recipient_id text NOT NULL,
    added_by text NOT NULL,
    added_at bigint NOT NULL,
    PRIMARY KEY (inbound_id, kind, recipient_id)
  );

  CREATE TABLE partner_versions (
    org text PRIMARY KEY,
    versions text NOT NULL,
    learned_at bigint NOT NULL
  );
  CREATE TABLE revocation_tombstones (
    sender_org text NOT NULL,
    share_id text NOT NULL,
    revoked_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    received_at bigint NOT NULL,
    PRIMARY KEY (sender_org, share_id)
  );

  CREATE TABLE outbound_held_back (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    share_id text NOT NULL REFERENCES outbound_shares (id),
    revision bigint NOT NULL,
    evidence_id text NOT NULL,
    name text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (share_id, revision, evidence_id)
  );
  CREATE TABLE outbound_transfers (
    share_id text NOT NULL REFERENCES outbound_shares (id),
    revision bigint NOT NULL,
    chunks_total bigint NOT NULL,
    bytes_total bigint NOT NULL,
    chunks_done bigint NOT NULL DEFAULT 0,
    bytes_done bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (share_id, revision)
  );
  CREATE TABLE outbound_transfer_chunks (
    share_id text NOT NULL,
    revision bigint NOT NULL,
    digest text NOT NULL,
    size bigint NOT NULL,
    served boolean NOT NULL DEFAULT false,
    PRIMARY KEY (share_id, revision, digest),
    FOREIGN KEY (share_id, revision) REFERENCES outbound_transfers (share_id, revision)
  );

  CREATE TABLE link_shares (
    id text PRIMARY KEY,
    case_id text NOT NULL REFERENCES cases (id),
    created_by text NOT NULL,
    recipient_kind text NOT NULL CHECK (recipient_kind IN ('email', 'local-user', 'local-group', 'partner-user', 'partner-group')),
    recipient_value text NOT NULL,
    scope text NOT NULL CHECK (scope IN ('case', 'folders', 'evidence')),
    folder_ids text NOT NULL,
    evidence_ids text NOT NULL,
    format text NOT NULL CHECK (format IN ('zip', 'tar', 'iso')),
    retain_folder_structure boolean NOT NULL,
    audit_trail boolean NOT NULL,
    table_of_contents boolean NOT NULL,
    transcripts boolean NOT NULL,
    message text,
    state text NOT NULL CHECK (state IN ('processing', 'ready', 'failed', 'revoked')),
    failure text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    revoked_at bigint,
    revoked_by text,
    package_created_at bigint,
    package_size bigint,
    package_digest text,
    items bigint,
    token_hash text UNIQUE
  );
  CREATE INDEX link_shares_case ON link_shares (case_id, created_at);
  CREATE TABLE link_share_members (
    link_id text NOT NULL REFERENCES link_shares (id),
    position bigint NOT NULL,
    path text NOT NULL,
    size bigint NOT NULL,
    crc32 bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('generated', 'evidence')),
    ref text NOT NULL,
    PRIMARY KEY (link_id, position)
  );
  `,
  // 2: packages carried to a partner's users (SPEC.md §22, CW-PKG-011..017), as SQLite migration r:
  // the sender's signed offer of a link share, and the receiver's inbound packages
  `
  ALTER TABLE link_shares ADD COLUMN offer_jws text;
  ALTER TABLE link_shares ADD COLUMN offered_at bigint;
  CREATE TABLE inbound_packages (
    id text PRIMARY KEY,
    sender_org text NOT NULL,
    package_id text NOT NULL,
    state text NOT NULL CHECK (state IN ('receiving', 'received', 'refused', 'revoked')),
    offer_jws text,
    offer_digest text,
    offer_jti text,
    recipients text NOT NULL,
    format text,
    size bigint,
    manifest_digest text,
    message text,
    expires_at bigint NOT NULL,
    failure text,
    sender_name text,
    case_id text,
    chunk_size bigint,
    chunks text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    received_at bigint,
    revoked_at bigint,
    UNIQUE (sender_org, package_id)
  );
  CREATE INDEX inbound_packages_created ON inbound_packages (created_at);
  `,
  // 3: inbound packages page by insertion order (CW-LOC-054), as SQLite's rowid
  `
  ALTER TABLE inbound_packages ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
  CREATE UNIQUE INDEX inbound_packages_seq ON inbound_packages (seq);
  `,
  // 4: a re-offer is recognised by its digest before its payload is read (CW-FED-004)
  `
  CREATE INDEX inbound_shares_digest ON inbound_shares (sender_org, manifest_digest);
  `,
  // 5: the recipients a manifest names, beside it: a listing's recipient check reads them, never the manifest
  `
  ALTER TABLE inbound_shares ADD COLUMN recipients text NOT NULL DEFAULT '[]';
  UPDATE inbound_shares SET recipients = (manifest::jsonb -> 'share' -> 'recipients')::text
    WHERE jsonb_typeof(manifest::jsonb -> 'share' -> 'recipients') = 'array';
  `,
  // 6: an inbound share's JWS is kept with its payload detached: the payload is the manifest's text (sqlite/rows.ts)
  `
  UPDATE inbound_shares SET manifest_jws = split_part(manifest_jws, '.', 1) || '..' || split_part(manifest_jws, '.', 3)
    WHERE split_part(manifest_jws, '.', 2) <> '';
  `,
]

/** Advisory lock key (an arbitrary constant) that serialises migrations across replicas. */
const MIGRATION_LOCK = 0x63617365 // "case"

/**
 * Brings the database of `client` to the latest schema version; returns the number of
 * migrations applied (0 when it was current). Refuses a database written by a newer version.
 */
export async function migrate(client: PoolClient, migrations: readonly string[] = MIGRATIONS): Promise<number> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, applied_at bigint NOT NULL)')
    const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM schema_migrations')
    const version = Number(rows[0]!.version)
    if (version > migrations.length) {
      throw new Error(`database schema version ${version} is newer than this Caseway (${migrations.length})`)
    }
    for (let next = version; next < migrations.length; next++) {
      await client.query(migrations[next]!)
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [next + 1, Math.floor(Date.now() / 1000)])
    }
    await client.query('COMMIT')
    return migrations.length - version
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/** Refuses a database whose schema is not this version's (a read-only open migrates nothing). */
export async function checkSchemaVersion(client: PoolClient, migrations: readonly string[] = MIGRATIONS): Promise<void> {
  const { rows: tables } = await client.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
  let version = 0
  if (tables[0]!.present) {
    const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM schema_migrations')
    version = Number(rows[0]!.version)
  }
  if (version !== migrations.length) {
    throw new Error(`database schema version ${version} is not this Caseway's (${migrations.length}): start the node once to migrate it`)
  }
}
