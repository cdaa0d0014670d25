/**
 * Keyset paging of the local API's lists (SPEC.md CW-LOC-054, CW-LOC-055): `limit` (1 to
 * {@link PAGE_LIMIT.max}, {@link PAGE_LIMIT.default} when absent) and an opaque `cursor`; each
 * answer carries `next`, the cursor of the following page, or null on the last one.
 *
 * A cursor is the store's list position (`ListPosition`) of the last item served, tagged with
 * the list it belongs to, in base64url: opaque to callers, and a cursor of one list is
 * malformed for another.
 *
 * @module
 */
import { RequestError } from '#protocol'
import type { ListPosition, PageRequest } from '../store/metadata_store.ts'

export const PAGE_LIMIT = { default: 100, max: 1000 } as const

/** Longest cursor a list accepts: a tag and a safe integer, in base64url, with room to spare. */
const MAX_CURSOR_LENGTH = 128

/** The `limit` and `cursor` query parameters of a paged list. */
export const PAGE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: PAGE_LIMIT.max, default: PAGE_LIMIT.default, description: 'Items per page.' },
    cursor: { type: 'string', minLength: 1, maxLength: MAX_CURSOR_LENGTH, description: 'The `next` of the previous page; absent for the first.' },
  },
} as const

/** The `next` property of a paged answer. */
export const NEXT_CURSOR = {
  type: ['string', 'null'],
  description: 'Cursor of the next page (pass it as `cursor`); null on the last page.',
} as const

/** The query of a paged list as the route receives it (defaults applied). */
export interface PageQuery {
  limit: number
  cursor?: string
}

/**
 * The page `query` asks of list `list`.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` for a cursor this list did not issue.
 */
export function pageRequest(list: string, query: PageQuery): PageRequest {
  if (query.cursor === undefined) return { limit: query.limit }
  const after = positionOf(list, query.cursor)
  if (after === undefined) throw new RequestError('CW_ERR_BAD_REQUEST', 'malformed cursor: pass the `next` of a previous page of this list', { at: '/cursor' })
  return { limit: query.limit, after }
}

/** The cursor of list `list` that asks for the page after position `next`; null after the last page. */
export function nextCursor(list: string, next: ListPosition | null): string | null {
  return next === null ? null : Buffer.from(`${list}:${next}`).toString('base64url')
}

function positionOf(list: string, cursor: string): ListPosition | undefined {
  const match = /^([a-z-]+):(0|[1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  if (match === null || match[1] !== list) return undefined
  const position = Number(match[2])
  // The encoding must be the one we issue: base64url decoding skips what it cannot read.
  if (!Number.isSafeInteger(position) || Buffer.from(`${list}:${position}`).toString('base64url') !== cursor) return undefined
  return position
}
