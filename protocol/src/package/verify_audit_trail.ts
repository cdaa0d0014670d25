/**
 * Verifying the audit trail a package carries (SPEC.md CW-AUD-002, CW-AUD-003, CW-PKG-009):
 * entries one at a time, so a long trail streams.
 *
 * @module
 */
import { digestJson } from '../canonical/digest.ts'
import { VerificationError } from '../errors.ts'

/** The signed head of the trail: the last entry's digest and seq. */
export interface AuditHead {
  head: string
  seq: number
}

/** Checks audit entries in order; `finish` compares the end with the signed head. */
export interface AuditTrailChecker {
  /** Checks the next entry; throws `CW_ERR_AUDIT_CHAIN_BROKEN` naming its position and reason. */
  add(entry: unknown): void
  /** Throws unless the last entry is the signed head. */
  finish(): void
}

function broken(seq: number, reason: string): VerificationError {
  return new VerificationError('CW_ERR_AUDIT_CHAIN_BROKEN', `audit entry ${seq}: ${reason}`, { at: `/entries/${seq - 1}` })
}

/**
 * A checker for one case's chain ending at `expected`: entry *n* has `seq` *n* and the same
 * `caseId` as the first (else `sequence`), `digest` = the digest of its canonical content
 * (else `digest`), `prev` = the previous entry's digest or `null` for the first (else `link`).
 */
export function auditTrailChecker(expected: AuditHead): AuditTrailChecker {
  let position = 0
  let caseId: unknown
  let prev: string | null = null
  return {
    add(entry: unknown): void {
      position += 1
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw broken(position, 'sequence (not an entry object)')
      const { caseId: id, seq, at, type, actor, data, prev: link, digest } = entry as Record<string, unknown>
      if (position === 1) caseId = id
      if (seq !== position || id !== caseId || typeof id !== 'string') throw broken(position, 'sequence')
      let computed: string
      try {
        computed = digestJson({ caseId: id, seq, at, type, actor, data, prev: link })
      } catch {
        throw broken(position, 'digest')
      }
      if (digest !== computed) throw broken(position, 'digest')
      if (link !== prev) throw broken(position, 'link')
      prev = computed
    },
    finish(): void {
      if (position !== expected.seq || prev !== expected.head) {
        throw new VerificationError('CW_ERR_AUDIT_CHAIN_BROKEN', `audit trail ends at entry ${position}, not at the signed head ${expected.seq}`, {
          at: '/audit/head',
        })
      }
    },
  }
}
