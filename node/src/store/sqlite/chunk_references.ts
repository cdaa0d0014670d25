/**
 * Which chunk digests the metadata store still needs the blob store to keep: the one list of
 * reference sources the blob collector (`operations/blob_collector.ts`) marks from. A table that
 * names chunks and is not listed here lets the collector delete them: a new table that names
 * chunks adds its source here (one entry: the SQL that selects its `digest`s, with `:now` the
 * Unix seconds of the collection).
 *
 * Every table that names chunks, and what it means for them:
 * - `evidence.chunks`: the agency's own cases, and cases imported from external cases — kept
 *   while the evidence exists.
 * - `share_chunks`, `outbound_transfer_chunks`: shares we sent — kept while the share is in
 *   force ({@link SHARE_IN_FORCE}, the rule chunks are served by), even after the evidence
 *   itself was deleted.
 * - `inbound_shares.manifest`, `inbound_revisions.manifest` (a pending revision),
 *   `applied_states.snapshot`: external cases — kept while the external case is receiving or
 *   complete and not expired (what its recipients may still download).
 * - `link_share_members.ref` of kind `generated`: the generated files of a link share's package
 *   (manifest, SHA256SUMS, table of contents…), kept while the link share is in force
 *   ({@link LINK_SHARE_IN_FORCE}); its evidence members are items of the case, which cannot be
 *   deleted while such a link share includes them (`cases/evidence.ts`).
 * - `inbound_packages.chunks`: a package a partner offered our users (§22, CW-PKG-017), stored as
 *   chunks once verified — kept while it is received and not expired (freshly stored chunks of
 *   one still being verified are covered by the collector's grace period).
 * - Not references: `partner_chunks` records that a partner delivered a chunk (proof of
 *   possession, CW-POS-005) and is forgotten when its blob is deleted ({@link FORGET_DELIVERED_SQL});
 *   `outbound_revisions.manifest_jws` names the chunks `share_chunks` holds.
 *
 * @module
 */

/** One table (or column) that names chunks the blob store must keep. */
export interface ChunkReferenceSource {
  /** The table and column, for whoever reads a collection's reasoning. */
  readonly from: string
  /** Selects the referenced digests as `digest`; may use `:now` (Unix seconds). */
  readonly sql: string
}

/** An outbound share `s` whose chunks are still served to its partner (and so kept). */
export const SHARE_IN_FORCE = "s.status NOT IN ('revoked', 'expired') AND s.expires_at > :now"

/** An inbound share `i` whose evidence its recipients may still read (and so kept). */
const INBOUND_IN_FORCE = "i.status IN ('receiving', 'complete') AND i.expires_at > :now"

/** A link share `l` whose package may still be built or downloaded (and so kept). */
const LINK_SHARE_IN_FORCE = "l.state IN ('processing', 'ready') AND l.expires_at > :now"

/** The chunks named by the evidence items of a JSON column holding `{ evidence: [{ chunks }] }`. */
const manifestChunks = (column: string): string => `json_each(${column}, '$.evidence') AS item, json_each(item.value, '$.chunks') AS chunk`

export const CHUNK_REFERENCE_SOURCES: readonly ChunkReferenceSource[] = [
  { from: 'evidence.chunks', sql: 'SELECT chunk.value AS digest FROM evidence AS e, json_each(e.chunks) AS chunk' },
  {
    from: 'share_chunks.digest',
    sql: `SELECT c.digest FROM share_chunks AS c JOIN outbound_shares AS s ON s.id = c.share_id WHERE ${SHARE_IN_FORCE}`,
  },
  {
    from: 'outbound_transfer_chunks.digest',
    sql: `SELECT c.digest FROM outbound_transfer_chunks AS c JOIN outbound_shares AS s ON s.id = c.share_id WHERE ${SHARE_IN_FORCE}`,
  },
  {
    from: 'inbound_shares.manifest',
    sql: `SELECT chunk.value AS digest FROM inbound_shares AS i, ${manifestChunks('i.manifest')} WHERE ${INBOUND_IN_FORCE}`,
  },
  {
    from: 'inbound_revisions.manifest',
    sql: `SELECT chunk.value AS digest FROM inbound_revisions AS r JOIN inbound_shares AS i ON i.id = r.inbound_id, ${manifestChunks('r.manifest')}
      WHERE r.status = 'pending' AND r.transfer <> 'rejected' AND ${INBOUND_IN_FORCE}`,
  },
  {
    from: 'applied_states.snapshot',
    sql: `SELECT chunk.value AS digest FROM applied_states AS a JOIN inbound_shares AS i ON i.id = a.inbound_id, ${manifestChunks('a.snapshot')}
      WHERE ${INBOUND_IN_FORCE}`,
  },
  {
    from: 'link_share_members.ref',
    sql: `SELECT m.ref AS digest FROM link_share_members AS m JOIN link_shares AS l ON l.id = m.link_id
      WHERE m.kind = 'generated' AND ${LINK_SHARE_IN_FORCE}`,
  },
  {
    from: 'inbound_packages.chunks',
    sql: `SELECT chunk.value AS digest FROM inbound_packages AS p, json_each(p.chunks) AS chunk
      WHERE p.state IN ('receiving', 'received') AND p.chunks IS NOT NULL AND p.expires_at > :now`,
  },
]

/** A blob was deleted: no partner counts as having delivered it any more (its next offer is asked for it). */
export const FORGET_DELIVERED_SQL = 'DELETE FROM partner_chunks WHERE digest = ?'

/** The shares of case `:case` in force that name any of the digests of the JSON array `:digests`. */
export const SHARES_NAMING_SQL = `
  SELECT DISTINCT s.id FROM outbound_shares AS s JOIN share_chunks AS c ON c.share_id = s.id
  WHERE s.case_id = :case AND ${SHARE_IN_FORCE} AND c.digest IN (SELECT value FROM json_each(:digests))
  ORDER BY s.id`
