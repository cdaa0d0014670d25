/**
 * Named crash points, for the tests that prove a crash at a given moment loses nothing. A test
 * starts a real node process with `CASEWAY_CRASH_POINT=<name>`; when the code reaches
 * `crashPoint('<name>')` the process is killed with SIGKILL on the spot — no `finally`, no
 * shutdown hook, no flushed buffer, as a power cut or the OOM killer would. Without the variable
 * (every production node) `crashPoint` is a string comparison against undefined.
 *
 * Points are named `<area>.<moment>` and listed in {@link CRASH_POINTS}, so a crash matrix can
 * iterate over them and a typo in a test fails the type check instead of never crashing.
 * Only this module reads the variable.
 *
 * @module
 */

export const CRASH_POINTS = [
  // Any node: the machinery every action and job goes through.
  /** An action's transaction (state, outbox rows, job rows) committed; no consumer has run yet. */
  'outbox.after-commit',
  /** An outbox consumer handled a case's entries; the next consumer or case has not run. */
  'outbox.after-consumer',
  /** A metadata transaction's work is done; COMMIT has not run (everything in it must vanish). */
  'store.before-commit',
  /** A metadata transaction committed. */
  'store.after-commit',
  /** A job was claimed (marked running); its handler has not started. */
  'job.claimed',
  /** A job's handler returned; the job is not marked done yet (it runs again after the restart). */
  'job.handled',
  /** A job was marked done. */
  'job.completed',
  /** A failed job's retry was recorded. */
  'job.failed',
  /** A blob's bytes are in its temporary file, synced; not renamed into place. */
  'blob.written',
  /** A blob was renamed into place; its directory is not synced yet. */
  'blob.renamed',
  /** The audit consumer appended one entry (and removed its outbox row) in one transaction. */
  'audit.appended',

  // Sender: sharing, offering, serving chunks, taking receipts, revising, revoking.
  /** An upload's chunks are stored; its evidence row is not (the blobs are unreferenced). */
  'evidence.chunks-stored',
  /** A share, its revision 1 and its offer job committed. */
  'share.created',
  /** The offer job is about to POST the manifest. */
  'offer.before-send',
  /** The partner answered the offer; its status change is not recorded. */
  'offer.answered',
  /** The offer's outcome is recorded; the job is not marked done. */
  'offer.recorded',
  /** A chunk was opened for a partner; no byte has been sent. */
  'chunk.opened',
  /** A chunk's response was handed to the connection in full. */
  'chunk.served',
  /** A partner's receipt verified; nothing recorded. */
  'receipt.verified',
  /** A partner's receipt recorded (share delivered); the answer is not sent. */
  'receipt.recorded',
  /** A new revision of a share and its offer job committed. */
  'revision.stored',
  /** The live-revision consumer made its revisions; its outbox rows are not removed. */
  'revision.consumer-revised',
  /** A revocation (status and job) committed on the sender; the partner is not told. */
  'revocation.stored',
  /** The revocation job is about to POST the revocation. */
  'revocation.before-send',
  /** The partner took the revocation; `revocation.delivered` is not recorded. */
  'revocation.sent',

  // Receiver: taking offers, pulling, verifying, receipting, revocations, import, notifications.
  /** An offer's manifest verified; nothing stored. */
  'offer.verified',
  /** An offer stored with its fetch job; the answer is not sent. */
  'offer.stored',
  /** The fetch job started on a receiving share. */
  'fetch.started',
  /** The fetch job stored one chunk (its digest matched). */
  'fetch.chunk-stored',
  /** A batch of pulled chunks is durable in the blob store (fetch or revision fetch); their delivery records are not committed. */
  'pull.batch-stored',
  /** Every chunk of the revision is stored; the items are not verified. */
  'fetch.chunks-pulled',
  /** Every item was hashed against its whole-file digest; no receipt signed. */
  'verify.checked',
  /** The receipt is signed; the share's new status, receipt and receipt job are not committed. */
  'receipt.signed',
  /** The share is complete (or rejected) with its receipt and receipt job, committed. */
  'fetch.completed',
  /** The receipt job is about to POST the receipt. */
  'receipt.before-send',
  /** The sender took the receipt; the receipt job is not marked done. */
  'receipt.sent',
  /** A pending revision's fetch stored one chunk. */
  'revision-fetch.chunk-stored',
  /** A pending revision's items were verified; its outcome is not committed. */
  'revision-fetch.checked',
  /** A pending revision's outcome and receipt committed; the receipt is not sent. */
  'revision-fetch.verified',
  /** The sender took a pending revision's receipt; it is not marked sent. */
  'revision-fetch.receipt-sent',
  /** A partner's revocation verified; nothing recorded. */
  'revocation.verified',
  /** A partner's revocation committed (access ended); cascades and the answer are not done. */
  'revocation.accepted',
  /** An import was checked; the imported case is not committed. */
  'import.checked',
  /** An imported case committed. */
  'import.committed',
  /** The notification consumer queued a revision's notification jobs. */
  'notification.queued',
  /** A notification job is about to deliver (SMTP, webhook). */
  'notification.before-send',
  /** A notification was delivered; its status and audit entry are not recorded. */
  'notification.delivered',
  /** A notification's status and audit entry are recorded. */
  'notification.recorded',
] as const

export type CrashPointName = (typeof CRASH_POINTS)[number]

/** The environment variable that arms one crash point. */
export const CRASH_POINT_VARIABLE = 'CASEWAY_CRASH_POINT'

/**
 * `<name>` crashes the first time the point is reached; `<name>:<n>` the n-th time (a matrix
 * crashes the second upload, the third offer, …). Read once: fixed for the life of the process.
 */
const [armed, nth] = parseArmed(process.env[CRASH_POINT_VARIABLE])
let reached = 0

function parseArmed(value: string | undefined): [string | undefined, number] {
  const match = value === undefined ? null : /^([a-z0-9.-]+)(?::([1-9][0-9]*))?$/.exec(value)
  return match === null ? [undefined, 0] : [match[1], Number(match[2] ?? 1)]
}

/** Kills this process with SIGKILL when `name` is the armed crash point; otherwise does nothing. */
export function crashPoint(name: CrashPointName): void {
  if (armed !== name || ++reached < nth) return
  // Synchronous write: the test reads it to know the crash came from here and not from a bug.
  process.stderr.write(`caseway: crash point ${name} reached: SIGKILL\n`)
  process.kill(process.pid, 'SIGKILL')
}
