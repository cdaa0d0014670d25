/**
 * The e-mail about a ready link share. For an e-mail recipient (SPEC.md CW-LOC-038), once the
 * package is ready, the `link-email` job draws a random token (256 bits), stores only its
 * SHA-256 and e-mails the link to the download listener with the CA fingerprint to check the
 * package against. The token exists nowhere else: a retry draws a new one, and the hash of
 * the last one sent is the one that opens the package. A local user or group recipient gets a
 * notice at its users' addresses instead, when the node has an SMTP server: no link, they
 * download through the local API.
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
import { recipientEmails } from '../access/recipients.ts'
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

/**
 * The handler of the `link-email` job (ref = link share id): the capability link for an e-mail
 * recipient; for a local user or group, a notice to their addresses (no link: they download
 * through the local API).
 */
export function linkEmailJobHandler(ctx: NodeContext): JobHandler {
  return async (job, signal) => {
    const link = await ctx.store.linkShares.get(job.ref)
    if (link === undefined) throw new PermanentJobError(`no link share ${job.ref}`)
    const now = Math.floor(ctx.clock.now().getTime() / 1000)
    if (link.state !== 'ready' || link.expiresAt <= now) return
    const smtp = ctx.config.notifications.smtp
    const { kind, value } = link.recipient
    let to: string[]
    let where: string
    if (kind === 'email') {
      const base = downloadBaseUrl(ctx.config)
      if (smtp === undefined || base === undefined) throw new PermanentJobError('no SMTP server or no download listener configured')
      const token = randomBytes(TOKEN_BYTES).toString('base64url')
      await ctx.store.linkShares.setTokenHash(link.id, tokenHash(token))
      to = [value]
      where = `${base}/download/${token}`
    } else if (smtp !== undefined && (kind === 'local-user' || kind === 'local-group')) {
      to = (await recipientEmails(ctx, [{ kind: kind === 'local-user' ? 'user' : 'group', id: value }])).to
      where = `Caseway, link share ${link.id} (GET /api/v1/link-shares/${link.id}/package)`
    } else return
    if (to.length === 0) return
    const caseRecord = await ctx.store.cases.get(link.caseId)
    const title = [caseRecord?.fields['caseNumber'], caseRecord?.fields['title']].flat().filter((part) => typeof part === 'string' && part !== '')
    await sendEmail(
      smtp!,
      {
        to,
        subject: `[Caseway] ${ctx.identity.name} shared ${title.length > 0 ? `case ${title.join(' – ')}` : 'a case'} with you`.replace(/\p{Cc}+/gu, ' '),
        text: composeLinkEmail(ctx, link, where, kind === 'email'),
        messageId: `${link.id}.${job.attempts}@link.caseway`,
      },
      signal,
    )
    await ctx.record({ type: 'link.emailed', caseId: link.caseId, actor: SYSTEM_ACTOR, linkShareId: link.id })
  }
}

function composeLinkEmail(ctx: NodeContext, link: LinkShareRecord, where: string, capability: boolean): string {
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
    `  ${where}`,
    '',
    ...(capability ? ['The link is for you alone: whoever has it can download the package.'] : []),
    `The package proves itself offline. Check it against this organization's CA fingerprint:`,
    `  ${certificateFingerprint(ctx.identity.caCertificate)}`,
    'with `caseway package verify <file> --ca-fingerprint <fingerprint>`, or as VERIFY.txt in the package says.',
  )
  return lines.join('\n') + '\n'
}
