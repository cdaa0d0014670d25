/**
 * The capability link of a link share for an e-mail recipient (SPEC.md CW-LOC-038): once the
 * package is ready, the `link-email` job draws a random token (256 bits), stores only its
 * SHA-256 and e-mails the link to the download listener with the CA fingerprint to check the
 * package against. The token exists nowhere else: a retry draws a new one, and the hash of
 * the last one sent is the one that opens the package.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { certificateFingerprint } from '#protocol'
import type { NodeConfig } from '../config/schema.ts'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { sendEmail } from '../notifications/email.ts'
import type { LinkShareRecord } from '../store/metadata_store.ts'

/** Bytes of randomness in a capability token (CW-LOC-038: at least 128 bits). */
const TOKEN_BYTES = 32

/** What a capability token looks like: `TOKEN_BYTES` bytes, base64url. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** The SHA-256 (hex) a token is stored and looked up as. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Where the e-mailed links point: the configured public URL, or the federation host with the listener's port. */
export function downloadBaseUrl(config: NodeConfig): string | undefined {
  const listener = config.links.downloadListener
  if (listener === undefined) return undefined
  if (listener.publicUrl !== undefined) return listener.publicUrl
  return `https://${new URL(config.federation.publicUrl).hostname}:${listener.port}`
}

/** The handler of the `link-email` job (ref = link share id). */
export function linkEmailJobHandler(ctx: NodeContext): JobHandler {
  return async (job, signal) => {
    const link = await ctx.store.getLinkShare(job.ref)
    if (link === undefined) throw new PermanentJobError(`no link share ${job.ref}`)
    const now = Math.floor(ctx.clock.now().getTime() / 1000)
    if (link.state !== 'ready' || link.expiresAt <= now || link.recipient.kind !== 'email') return
    const smtp = ctx.config.notifications.smtp
    const base = downloadBaseUrl(ctx.config)
    if (smtp === undefined || base === undefined) throw new PermanentJobError('no SMTP server or no download listener configured')
    const token = randomBytes(TOKEN_BYTES).toString('base64url')
    await ctx.store.setLinkShareTokenHash(link.id, tokenHash(token))
    const caseRecord = await ctx.store.getCase(link.caseId)
    const title = [caseRecord?.fields['caseNumber'], caseRecord?.fields['title']].flat().filter((part) => typeof part === 'string' && part !== '')
    await sendEmail(
      smtp,
      {
        to: [link.recipient.value],
        subject: `[Caseway] ${ctx.identity.name} shared ${title.length > 0 ? `case ${title.join(' – ')}` : 'a case'} with you`.replace(/\p{Cc}+/gu, ' '),
        text: composeLinkEmail(ctx, link, `${base}/download/${token}`),
        messageId: `${link.id}.${job.attempts}@link.caseway`,
      },
      signal,
    )
    await ctx.record({ type: 'link.emailed', caseId: link.caseId, actor: SYSTEM_ACTOR, linkShareId: link.id })
  }
}

function composeLinkEmail(ctx: NodeContext, link: LinkShareRecord, url: string): string {
  const lines = [`${ctx.identity.name} (${ctx.identity.org}) shared a case package with you.`, '']
  if (link.message !== null)
    lines.push(
      'Message:',
      ...link.message
        .replace(/[^\P{Cc}\n]/gu, '')
        .split('\n')
        .map((line) => `  ${line}`),
      '',
    )
  lines.push(
    `Download (${link.format.toUpperCase()}, ${link.package?.size ?? 0} bytes), until ${new Date(link.expiresAt * 1000).toISOString()}:`,
    `  ${url}`,
    '',
    'The link is for you alone: whoever has it can download the package.',
    `The package proves itself offline. Check it against this organization's CA fingerprint:`,
    `  ${certificateFingerprint(ctx.identity.caCertificate)}`,
    'with `caseway package verify <file> --ca-fingerprint <fingerprint>`, or as VERIFY.txt in the package says.',
  )
  return lines.join('\n') + '\n'
}
