/**
 * Pulling an offered package (SPEC.md §22, CW-PKG-013, CW-PKG-014, CW-PKG-017), receiver side.
 * The `package-pull` job streams EP-11's bytes into a staging file (0600, never in memory),
 * resuming with a Range after an interruption; once all `size` bytes are there it verifies the
 * package as `caseway package verify` would — but against the CA pinned for the sender, not the
 * CA the package carries — and checks that it is the package offered. Only then are its bytes
 * stored as chunks in the blob store and the package made visible to its recipients, in one
 * step; a package that fails is discarded and the offer refused. The `package-notify` job then
 * e-mails the recipients.
 *
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CasewayError, chunkStream, certificateFingerprint, VerificationError } from '#protocol'
import { packageManifestDigest, verifyPackage, type VerifiedPackage } from '#packaging'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB } from '../jobs/kinds.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import { sendEmail } from '../notifications/email.ts'
import { recipientEmails } from '../access/recipients.ts'
import type { InboundPackageRecord, PartnerRecord } from '../store/metadata_store.ts'

type Offered = InboundPackageRecord & { offer: NonNullable<InboundPackageRecord['offer']> }

const seconds = (ctx: NodeContext): number => Math.floor(ctx.clock.now().getTime() / 1000)

/** Where packages being pulled are staged: beside the node's other state, readable by the node alone. */
function stagingPath(ctx: NodeContext, id: string): { dir: string; file: string } {
  const dir = join(ctx.config.dir, 'staging', 'packages')
  return { dir, file: join(dir, `${id}.part`) }
}

/** Passes at most `limit` bytes; more is an error (the sender serves more than it offered). */
function atMost(limit: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length
      done(seen > limit ? new Error(`the sender served more than the ${limit} bytes offered`) : null, chunk)
    },
  })
}

/**
 * spec: CW-PKG-014 — the package at `file` is the one offered and verifies against the CA
 * pinned for its sender.
 *
 * @throws {VerificationError} the first failure.
 */
async function verifyReceived(held: Offered, partner: PartnerRecord, file: string): Promise<VerifiedPackage> {
  // The package's own ca.crt must be the sender's pinned CA: anything else is refused.
  const verified = await verifyPackage(file, { caFingerprint: certificateFingerprint(partner.caCertificate) })
  if (verified.kind !== held.offer.format)
    throw new VerificationError('CW_ERR_PACKAGE_INVALID', `the package is ${verified.kind}, not the ${held.offer.format} offered`)
  if (verified.signer.org !== held.senderOrg || verified.manifest.iss !== held.senderOrg)
    throw new VerificationError('CW_ERR_PEER_MISMATCH', `the package was signed by ${verified.signer.org}, not ${held.senderOrg}`, { at: '/iss' })
  if (verified.manifest.jti !== held.packageId)
    throw new VerificationError('CW_ERR_PACKAGE_INVALID', `the package is ${verified.manifest.jti}, not ${held.packageId}`, { at: 'package-manifest.jws' })
  // The offer names the signed manifest by the digest of its JWS.
  const manifestDigest = await packageManifestDigest(file)
  if (manifestDigest !== held.offer.manifest)
    throw new VerificationError('CW_ERR_PACKAGE_INVALID', 'the package manifest is not the one offered', { at: 'package-manifest.jws' })
  return verified
}

/** The handlers of the `package-pull` and `package-notify` jobs (ref = inbound package id). */
export function inboundPackageJobHandlers(ctx: NodeContext, peer: PeerClient): Record<typeof JOB.packagePull | typeof JOB.packageNotify, JobHandler> {
  const refuse = async (held: Offered, code: string, reason: string): Promise<void> => {
    await ctx.transaction(async (tx) => {
      if (await tx.store.inboundPackages.refuse(held.id, reason, seconds(ctx)))
        tx.record({ type: 'package.refused', caseId: held.id, actor: SYSTEM_ACTOR, sender: held.senderOrg, packageId: held.packageId, code })
    })
    ctx.log.warn({ inboundPackageId: held.id, peerOrg: held.senderOrg, code }, 'package refused')
  }

  const pull: JobHandler = async (job, signal) => {
    const record = await ctx.store.inboundPackages.get(job.ref)
    if (record === undefined) throw new PermanentJobError(`no inbound package ${job.ref}`)
    const { dir, file } = stagingPath(ctx, record.id)
    // Revoked (or refused) meanwhile: whatever was staged goes.
    if (record.state !== 'receiving' || record.offer === null) return rm(file, { force: true })
    const held: Offered = { ...record, offer: record.offer }
    if (held.expiresAt <= seconds(ctx)) {
      await rm(file, { force: true })
      return refuse(held, 'CW_ERR_SHARE_EXPIRED', 'the package expired before it was received')
    }
    if (peer.fetchPackage === undefined) throw new PermanentJobError('this node has no package client')
    const partner = await ctx.store.partners.get(held.senderOrg)
    // An administrator may enable the partner again: retried.
    if (partner === undefined || !partner.enabled) throw new Error(`partner ${held.senderOrg} is not an enabled partner`)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const size = held.offer.size
    let have = (await stat(file).catch(() => undefined))?.size ?? 0
    if (have > size) have = 0
    if (have < size) {
      let answer: Awaited<ReturnType<NonNullable<PeerClient['fetchPackage']>>>
      try {
        // spec: CW-PKG-013 — resumed with a range where the last pull stopped.
        answer = await peer.fetchPackage(partner, held.packageId, have, signal)
      } catch (error) {
        if (signal.aborted || !(error instanceof PeerRefusal) || error.retryable) throw error
        await rm(file, { force: true })
        return refuse(held, error.code, `the sender answered the pull with ${error.status} ${error.code}`)
      }
      await pipeline(answer.body, atMost(size - answer.start), createWriteStream(file, { flags: answer.start === 0 ? 'w' : 'a', mode: 0o600 }), { signal })
      have = (await stat(file)).size
      // Retried: the next attempt resumes from here.
      if (have !== size) throw new Error(`the package pull stopped at ${have} of ${size} bytes`)
    }
    let verified: VerifiedPackage
    try {
      verified = await verifyReceived(held, partner, file)
    } catch (error) {
      if (!(error instanceof CasewayError)) throw error
      // spec: CW-PKG-014 — discarded, never partly visible.
      await rm(file, { force: true })
      return refuse(held, error.code, `the package failed verification: ${error.message}`)
    }
    // Stored as chunks once verified; visible only with the commit below.
    const chunkSize = ctx.config.transfers.chunkSize
    const chunks: string[] = []
    for await (const chunk of chunkStream(createReadStream(file, { highWaterMark: 1 << 20 }), chunkSize)) {
      signal.throwIfAborted()
      await ctx.blobs.put(chunk.digest, chunk.data)
      chunks.push(chunk.digest)
    }
    const received = { senderName: verified.manifest.sender.name, caseId: verified.manifest.case.id, chunkSize, chunks }
    await ctx.transaction(async (tx) => {
      // A package revoked while it was verified stays revoked.
      if (!(await tx.store.inboundPackages.complete(held.id, received, seconds(ctx)))) return
      await ctx.jobs.enqueue(tx, JOB.packageNotify, held.id)
      tx.record({
        type: 'package.received',
        caseId: held.id,
        actor: SYSTEM_ACTOR,
        sender: held.senderOrg,
        packageId: held.packageId,
        bytes: size,
        manifest: held.offer.manifest,
      })
    })
    await rm(file, { force: true })
    ctx.log.info({ inboundPackageId: held.id, peerOrg: held.senderOrg, bytes: size }, 'package received and verified')
  }

  // spec: CW-PKG-017 — the recipients hear of it (their addresses; a group's members).
  const notify: JobHandler = async (job, signal) => {
    const held = await ctx.store.inboundPackages.get(job.ref)
    const smtp = ctx.config.notifications.smtp
    if (held === undefined || held.state !== 'received' || held.offer === null || smtp === undefined) return
    const { to } = await recipientEmails(ctx, held.recipients)
    if (to.length === 0) return
    const partner = await ctx.store.partners.get(held.senderOrg)
    const sender = `${held.senderName ?? partner?.name ?? held.senderOrg} (${held.senderOrg})`
    const lines = [`${sender} sent you a case package through Caseway.`, '']
    if (held.offer.message !== null)
      lines.push(
        'Message:',
        ...held.offer.message
          .replace(/[^\P{Cc}\n]/gu, '')
          .split('\n')
          .map((line) => `  ${line}`),
        '',
      )
    lines.push(
      `Download it (${held.offer.format.toUpperCase()}, ${held.offer.size} bytes) from your Caseway, until ${new Date(held.expiresAt * 1000).toISOString()}:`,
      `  GET /api/v1/inbound-packages/${held.id}/package`,
      '',
      'It was verified on arrival against the CA this node pinned for the sender, whose fingerprint is',
      `  ${partner === undefined ? 'unknown' : certificateFingerprint(partner.caCertificate)}`,
      'and proves itself offline: `caseway package verify <file> --ca-fingerprint <fingerprint>`, or as VERIFY.txt in the package says.',
    )
    await sendEmail(
      smtp,
      {
        to,
        subject: `[Caseway] ${sender} sent you a case package`.replace(/\p{Cc}+/gu, ' '),
        text: lines.join('\n') + '\n',
        messageId: `${held.id}.${job.attempts}@package.caseway`,
      },
      signal,
    )
  }
  return { [JOB.packagePull]: pull, [JOB.packageNotify]: notify }
}
