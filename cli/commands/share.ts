/**
 * `caseway share …`: share a case with a partner (the entire case, selected folders or
 * selected evidence), follow the status of a case's shares, revoke one — through the running
 * node's local API, with any token that has access to the case.
 *
 * @module
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import type { Recipient } from '#protocol'
import type { Share, ShareInput } from '../../client/local_client.ts'
import { parseDays, parseOrgId } from '../arguments.ts'
import { UsageError } from '../errors.ts'
import { apiOptions, withClient, type ApiOptions } from '../local_api.ts'
import { fields, isoTime, print, printError } from '../output.ts'

interface CreateOptions extends ApiOptions {
  partner: string
  folder?: string[]
  evidence?: string[]
  recipient?: Recipient[]
  message?: string
  expiresInDays?: number
}

const RECIPIENT_KINDS: readonly Recipient['kind'][] = ['user', 'group', 'email', 'badge', 'agency']

/** `kind:id` (user, group, email, badge, agency); a bare value is an e-mail address when it has an @, else a user id. */
function collectRecipient(value: string, previous: Recipient[] = []): Recipient[] {
  const colon = value.indexOf(':')
  const kind = colon > 0 ? value.slice(0, colon) : undefined
  let recipient: Recipient
  if (kind !== undefined && (RECIPIENT_KINDS as readonly string[]).includes(kind)) recipient = { kind: kind as Recipient['kind'], id: value.slice(colon + 1) }
  else recipient = value.includes('@') ? { kind: 'email', id: value } : { kind: 'user', id: value }
  if (recipient.id === '') throw new InvalidArgumentError(`no id in ${JSON.stringify(value)}`)
  return [...previous, recipient]
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** The share properties shown under their own labels; any other the node sends is shown as it comes. */
const SHOWN = new Set([
  'id',
  'caseId',
  'partnerOrg',
  'scope',
  'folderIds',
  'evidenceIds',
  'message',
  'recipients',
  'policy',
  'status',
  'statusCode',
  'statusDetail',
  'revision',
  'createdBy',
  'createdAt',
  'updatedAt',
  'expiresAt',
])

/** A property the node added (progress counters, the next attempt, the last error …), as text. */
function extraValue(name: string, value: unknown): string {
  if (typeof value === 'number' && name.endsWith('At')) return isoTime(value)
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

function scopeOf(share: Share): string {
  if (share.scope === 'folders') return `folders ${share.folderIds.join(', ')}`
  if (share.scope === 'evidence') return `evidence ${share.evidenceIds.join(', ')}`
  return 'entire case'
}

function describeShare(share: Share): string {
  const record = share as unknown as Record<string, unknown>
  const rows: [string, string][] = [
    ['partner', share.partnerOrg],
    ['status', share.status],
  ]
  if (share.statusCode !== null) rows.push(['code', share.statusCode])
  if (share.statusDetail !== null) rows.push(['detail', share.statusDetail])
  for (const [name, value] of Object.entries(record)) {
    if (!SHOWN.has(name) && value !== null && value !== undefined) rows.push([name, extraValue(name, value)])
  }
  rows.push(
    ['scope', scopeOf(share)],
    ['recipients', share.recipients.length === 0 ? '-' : share.recipients.map((r) => `${r.kind}:${r.id}`).join(', ')],
    ['policy', `${share.policy.id}@${share.policy.version}`],
    ['revision', String(share.revision)],
    ['created', `${isoTime(share.createdAt)} by ${share.createdBy}`],
    ['updated', isoTime(share.updatedAt)],
    ['expires', isoTime(share.expiresAt)],
  )
  return `share ${share.id}\n${fields(rows, '  ')}`
}

export function register(program: Command): void {
  const share = program.command('share').description("share cases with partners, follow the shares' status, revoke them")

  apiOptions(
    share
      .command('create')
      .description("share a case with a partner under the partner's policy: the entire case, or selected folders, or selected evidence")
      .argument('<caseId>', 'the case')
      .requiredOption('--partner <org>', "the partner's organization id", parseOrgId)
      .option('--folder <id>', 'share this folder (repeatable); instead of the entire case', collect)
      .option('--evidence <id>', 'share this evidence item (repeatable); instead of the entire case', collect)
      .option(
        '--recipient <recipient>',
        'who at the partner sees it (repeatable): an e-mail address, a user id, or kind:id (user, group, email, badge, agency)',
        collectRecipient,
      )
      .option('--message <text>', 'a message to the recipients')
      .option('--expires-in-days <days>', "how long the share lasts (the node's share duration and the policy still bound it)", parseDays),
  ).action(async (caseId: string, options: CreateOptions) => {
    if (options.folder !== undefined && options.evidence !== undefined) {
      throw new UsageError('a share is of the entire case, of folders or of evidence: give --folder or --evidence, not both')
    }
    const input: ShareInput = {
      caseId,
      partnerOrg: options.partner,
      scope: options.folder !== undefined ? 'folders' : options.evidence !== undefined ? 'evidence' : 'case',
      ...(options.folder === undefined ? {} : { folderIds: options.folder }),
      ...(options.evidence === undefined ? {} : { evidenceIds: options.evidence }),
      ...(options.recipient === undefined ? {} : { recipients: options.recipient }),
      ...(options.message === undefined ? {} : { message: options.message }),
      ...(options.expiresInDays === undefined ? {} : { expiresInSeconds: options.expiresInDays * 86_400 }),
    }
    const created = await withClient(options, (client) => client.createShare(input))
    printError(`share ${created.id} of case ${created.caseId} with ${created.partnerOrg}: ${created.status}, expires ${isoTime(created.expiresAt)}\n`)
    print(`${created.id}\n`)
  })

  apiOptions(
    share
      .command('status')
      .description("the shares of a case and their status (processing, delivered, rejected with the partner's reason, …)")
      .argument('<caseId>', 'the case')
      .option('--json', 'print the shares as JSON, every property the node sends'),
  ).action(async (caseId: string, options: ApiOptions & { json?: boolean }) => {
    const shares = await withClient(options, (client) => client.listShares(caseId))
    if (options.json === true) {
      print(JSON.stringify(shares, null, 2) + '\n')
      return
    }
    if (shares.length === 0) printError(`case ${caseId} has no shares\n`)
    print(shares.map(describeShare).join('\n'))
  })

  apiOptions(
    share
      .command('revoke')
      .description('revoke a share: the partner, and every share derived from it, lose access at once')
      .argument('<shareId>', 'the share (from share status)')
      .option('--reason <text>', 'why; told to the partner'),
  ).action(async (shareId: string, options: ApiOptions & { reason?: string }) => {
    const revoked = await withClient(options, (client) => client.revokeShare(shareId, options.reason))
    printError(`share ${revoked.id} of case ${revoked.caseId} with ${revoked.partnerOrg}: ${revoked.status}\n`)
  })
}
