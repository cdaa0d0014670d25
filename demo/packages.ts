/**
 * The demo's last act: the case shared *with a link*, as packages that prove themselves offline
 * (SPEC.md §22, CW-LOC-032…CW-LOC-039). Metro PD makes one link share per format — a ZIP for a
 * records clerk at County DA, known only by an e-mail address, who downloads it through the
 * e-mailed capability link from Metro PD's download listener (trusting Metro PD's CA, whose
 * fingerprint the e-mail carries); a TAR for a user of the partner County DA, carried over the
 * federation (§22, EP-10..EP-12: offered, pulled and verified by County DA's node) and downloaded
 * by that user from County DA's local API; an ISO for Metro PD's own records officer, who
 * downloads it from the local API — and verifies each file as a clerk would, with
 * `verifyPackage` (what `caseway package verify` runs) against the CA fingerprint. The files and
 * the sender's `ca.crt` are written to `packagesDir`.
 *
 * @module
 */
import { createWriteStream } from 'node:fs'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { verifyPackage } from '#packaging'
import { LocalClient, type LinkShare, type LinkShareInput } from '../client/local_client.ts'
import type { LoopbackNode } from '../testkit/loopback_node.ts'
import type { SmtpReceiver } from '../testkit/smtp_receiver.ts'
import { waitFor } from '../testkit/wait.ts'

export interface PackagesAct {
  api: LocalClient
  node: LoopbackNode
  caseId: string
  caseNumber: string
  /** Where `case.zip`, `case.tar`, `case.iso` and `ca.crt` go. */
  packagesDir: string
  /** Catches the e-mailed link; without it the ZIP goes to the records officer too. */
  smtp: SmtpReceiver | undefined
  /** Tell every step (`--packages`), or one line in all. */
  verbose: boolean
  say: (line: string) => void
  timeoutMs: number
  /** The partner's user the TAR is for, with a client of the partner's local API as that user. */
  partner: { org: string; name: string; user: { id: string; name: string }; api: LocalClient }
}

const CLERK_EMAIL = 'records.clerk@county-da.example'
const OFFICER = { id: 'records-officer', name: 'Records Officer', email: 'records@metro-pd.example' }

export async function sharePackages(act: PackagesAct): Promise<void> {
  const { api, node, say, verbose } = act
  await mkdir(act.packagesDir, { recursive: true, mode: 0o700 })
  await api.createUser(OFFICER)
  const officer = new LocalClient({ baseUrl: api.baseUrl, token: (await api.createToken(OFFICER.id, 'member')).token })
  const byEmail = act.smtp !== undefined
  const plans: Array<{ format: LinkShareInput['format']; recipient: LinkShareInput['recipient'] }> = [
    { format: 'zip', recipient: byEmail ? { kind: 'email', value: CLERK_EMAIL } : { kind: 'local-user', value: OFFICER.id } },
    { format: 'tar', recipient: { kind: 'partner-user', value: `${act.partner.org}/${act.partner.user.id}` } },
    { format: 'iso', recipient: { kind: 'local-user', value: OFFICER.id } },
  ]
  if (verbose)
    say(
      `${node.name} shares case ${act.caseNumber} with a link, as three packages: a ZIP for ${byEmail ? CLERK_EMAIL : OFFICER.name} ` +
        `(${byEmail ? 'an e-mail address: a capability link to the download listener' : 'no SMTP receiver: the local API'}), a TAR for ${act.partner.user.name} at ${act.partner.name} ` +
        `(carried over the federation, downloaded from ${act.partner.name}'s node), an ISO for ${OFFICER.name} (the local API).`,
    )
  const written: string[] = []
  for (const plan of plans) {
    const created = await api.createLinkShare(act.caseId, {
      recipient: plan.recipient,
      scope: 'case',
      format: plan.format,
      attachments: { auditTrail: true, tableOfContents: true },
      message: `Case ${act.caseNumber}, as filed.`,
    })
    const ready = await readyLinkShare(api, created, act.timeoutMs)
    const file = join(act.packagesDir, `case.${plan.format}`)
    if (plan.recipient.kind === 'email') await downloadByEmailedLink(act, file)
    else if (plan.recipient.kind === 'partner-user') await downloadFromPartner(act, ready, file)
    else await officer.downloadLinkPackage(ready.id, { file })
    const verified = await verifyPackage(file, { caFingerprint: node.caFingerprint })
    written.push(`case.${plan.format}`)
    if (verbose)
      say(
        `  ${file}: ${ready.package!.size} bytes, ${verified.files} files; signed by ${verified.manifest.sender.name} (${verified.manifest.iss}), ` +
          `every digest and the CA fingerprint ${verified.caFingerprint.slice(0, 19)}… verified offline.`,
      )
  }
  await copyFile(join(node.pkiDir, 'ca.crt'), join(act.packagesDir, 'ca.crt'))
  say(
    verbose
      ? `  ${join(act.packagesDir, 'ca.crt')}: ${node.name}'s CA certificate. Check any of them with: caseway package verify <file> --ca-fingerprint ${node.caFingerprint}`
      : `${node.name} also shared the case with a link as ${written.join(', ')}: each built, downloaded and verified offline against its CA fingerprint.`,
  )
}

/** The partner's user waits for the package to be received and verified by their own node, then downloads it from there. */
async function downloadFromPartner(act: PackagesAct, link: LinkShare, file: string): Promise<void> {
  const { partner } = act
  const inbound = await waitFor(
    `package ${link.id} received at ${partner.org}`,
    async (seen) => {
      const held = (await partner.api.listInboundPackages()).find((candidate) => candidate.packageId === link.id)
      seen(held === undefined ? 'not offered yet' : held.status)
      if (held?.status === 'refused') throw new Error(`${partner.org} refused the package: ${held.failure ?? ''}`)
      return held?.status === 'received' ? held : undefined
    },
    { timeoutMs: act.timeoutMs, intervalMs: 100 },
  )
  if (act.verbose)
    act.say(
      `  ${partner.name}'s node pulled the TAR over mTLS (EP-11) and verified it against the CA it pinned for ${act.node.name}; ` +
        `${partner.user.name} downloads it from ${partner.name}'s local API (GET /api/v1/inbound-packages/${inbound.id}/package).`,
    )
  await partner.api.downloadInboundPackage(inbound.id, { file })
}

async function readyLinkShare(api: LocalClient, link: LinkShare, timeoutMs: number): Promise<LinkShare> {
  return waitFor(
    `link share ${link.id} (${link.format}) to be ready`,
    async (seen) => {
      const current = await api.getLinkShare(link.id)
      seen(current.failure === null ? current.status : `${current.status}: ${current.failure}`)
      if (current.status === 'failed') throw new Error(`the ${link.format} package failed: ${current.failure ?? ''}`)
      return current.status === 'ready' ? current : undefined
    },
    { timeoutMs, intervalMs: 100 },
  )
}

/** The clerk opens the e-mail, checks it names the CA fingerprint, and follows the link over HTTPS trusting that CA only. */
async function downloadByEmailedLink(act: PackagesAct, file: string): Promise<void> {
  const mail = await act.smtp!.waitFor(CLERK_EMAIL, act.timeoutMs)
  const url = /https:\/\/\S+\/download\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0]
  if (url === undefined) throw new Error(`the e-mail to ${CLERK_EMAIL} carries no download link`)
  if (!mail.text.includes(act.node.caFingerprint)) throw new Error(`the e-mail to ${CLERK_EMAIL} does not name the CA fingerprint`)
  if (act.verbose)
    act.say(`  The e-mail to ${CLERK_EMAIL} ("${mail.subject}") carries the link ${url.replace(/[A-Za-z0-9_-]{43}$/, '<token>')} and the CA fingerprint.`)
  const ca = await readFile(join(act.node.pkiDir, 'ca.crt'), 'utf8')
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`the download listener answered ${res.statusCode ?? '?'} to the e-mailed link`))
        return
      }
      pipeline(res, createWriteStream(file, { flags: 'wx', mode: 0o600 })).then(resolve, reject)
    })
    req.on('error', reject)
    req.end()
  })
}
