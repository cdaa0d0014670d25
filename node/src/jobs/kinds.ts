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
  /** Receiver: e-mail our users that a share arrived. ref = `<inbound id>:<revision>`. */
  notifyEmail: 'notify-email',
  /** Receiver: POST the signed share.received event to the agency's webhook. ref = `<inbound id>:<revision>`. */
  notifyWebhook: 'notify-webhook',
  /** Sender: POST the signed revocation to the partner (EP-5) until it takes it. ref = outbound share id. */
  revoke: 'revoke',
  /** Sender: build and sign a link share's package, then mark it ready (or failed). ref = link share id. */
  linkPackage: 'link-package',
  /** Sender: e-mail a ready link share's capability link to its e-mail recipient, or a notice to its local user or group. ref = link share id. */
  linkEmail: 'link-email',
  /** Sender: POST a ready link share's signed package offer to its partner (EP-10). ref = link share id. */
  packageOffer: 'package-offer',
  /** Sender: POST the signed revocation of a link share's package to its partner (EP-12). ref = link share id. */
  packageRevoke: 'package-revoke',
  /** Receiver: pull an offered package (EP-11), verify it and make it visible (or refuse it). ref = inbound package id. */
  packagePull: 'package-pull',
  /** Receiver: e-mail the recipients of a received package. ref = inbound package id. */
  packageNotify: 'package-notify',
} as const

export type JobKind = (typeof JOB)[keyof typeof JOB]

/** The kinds of the exchange (`sending/offer_job.ts`, `receiving/fetch_job.ts`, `receiving/receipt_job.ts`). */
export type ExchangeJobKind = typeof JOB.offer | typeof JOB.fetch | typeof JOB.receipt
