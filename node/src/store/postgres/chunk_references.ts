/**
 * Which chunk digests the PostgreSQL metadata store still needs the blob store to keep: the
 * reference sources of `../sqlite/chunk_references.ts` (which explains each of them), with the
 * JSON columns read through `jsonb` functions. A table that names chunks adds its source in both.
 *
 * @module
 */
import type { ChunkReferenceSource } from '../sqlite/chunk_references.ts'

/** An outbound share `s` whose chunks are still served to its partner (and so kept). */
export const SHARE_IN_FORCE = "s.status NOT IN ('revoked', 'expired') AND s.expires_at > :now"

/** An inbound share `i` whose evidence its recipients may still read (and so kept). */
const INBOUND_IN_FORCE = "i.status IN ('receiving', 'complete') AND i.expires_at > :now"

/** A link share `l` whose package may still be built or downloaded (and so kept). */
const LINK_SHARE_IN_FORCE = "l.state IN ('processing', 'ready') AND l.expires_at > :now"

/** The chunks named by the evidence items of a JSON text column holding `{ evidence: [{ chunks }] }`. */
const manifestChunks = (column: string): string =>
  `jsonb_array_elements(${column}::jsonb -> 'evidence') AS item, jsonb_array_elements_text(item -> 'chunks') AS chunk`

export const CHUNK_REFERENCE_SOURCES: readonly ChunkReferenceSource[] = [
  { from: 'evidence.chunks', sql: 'SELECT chunk AS digest FROM evidence AS e, jsonb_array_elements_text(e.chunks::jsonb) AS chunk' },
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
    sql: `SELECT chunk AS digest FROM inbound_shares AS i, ${manifestChunks('i.manifest')} WHERE ${INBOUND_IN_FORCE}`,
  },
  {
    from: 'inbound_revisions.manifest',
    sql: `SELECT chunk AS digest FROM inbound_revisions AS r JOIN inbound_shares AS i ON i.id = r.inbound_id, ${manifestChunks('r.manifest')}
      WHERE r.status = 'pending' AND r.transfer <> 'rejected' AND ${INBOUND_IN_FORCE}`,
  },
  {
    from: 'applied_states.snapshot',
    sql: `SELECT chunk AS digest FROM applied_states AS a JOIN inbound_shares AS i ON i.id = a.inbound_id, ${manifestChunks('a.snapshot')}
      WHERE ${INBOUND_IN_FORCE}`,
  },
  {
    from: 'link_share_members.ref',
    sql: `SELECT m.ref AS digest FROM link_share_members AS m JOIN link_shares AS l ON l.id = m.link_id
      WHERE m.kind = 'generated' AND ${LINK_SHARE_IN_FORCE}`,
  },
  {
    from: 'inbound_packages.chunks',
    sql: `SELECT chunk AS digest FROM inbound_packages AS p, jsonb_array_elements_text(p.chunks::jsonb) AS chunk
      WHERE p.state IN ('receiving', 'received') AND p.chunks IS NOT NULL AND p.expires_at > :now`,
  },
]

/** A blob was deleted: no partner counts as having delivered it any more. */
export const FORGET_DELIVERED_SQL = 'DELETE FROM partner_chunks WHERE digest = :digest'

/** The shares of case `:case` in force that name any of `:digests`. */
export const SHARES_NAMING_SQL = `
  SELECT DISTINCT s.id FROM outbound_shares AS s JOIN share_chunks AS c ON c.share_id = s.id
  WHERE s.case_id = :case AND ${SHARE_IN_FORCE} AND c.digest = ANY(:digests::text[])
  ORDER BY s.id`
