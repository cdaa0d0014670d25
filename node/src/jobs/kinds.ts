/**
 * The kinds of persistent job a node runs; each has one handler.
 *
 * @module
 */
export const JOB = {
  /** Sender: POST a revision's manifest to the partner (EP-1). ref = share id. */
  offer: 'offer',
  /** Receiver: pull the chunks an inbound revision still needs (EP-2). ref = inbound share id. */
  fetch: 'fetch',
  /** Receiver: POST the signed receipt to the sender (EP-3). ref = inbound share id. */
  receipt: 'receipt',
} as const

export type JobKind = (typeof JOB)[keyof typeof JOB]
