/**
 * The common path of the storage integration tests: pairs two node processes, gives the
 * receiver a review policy, and shares one generated video from the sender's new case with it,
 * waiting until the share is delivered.
 */
import type { LocalClient, Share } from '../../../client/local_client.ts'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { pair, type OrgProcess } from './processes.ts'

/** Creates a policy that lets the partner view and download video, and assigns it to `partnerOrg`. */
export async function assignReviewPolicy(api: LocalClient, partnerOrg: string): Promise<void> {
  const policy = await api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber'], evidenceCategories: ['video'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await api.assignPolicy(partnerOrg, policy.id)
}

/** Waits until the sender's share reads `delivered` (its receipt came back), and returns it. */
export async function waitDelivered(api: LocalClient, shareId: string, timeoutMs: number): Promise<Share> {
  return await waitFor(
    `share ${shareId} delivered`,
    async (seen) => {
      const current = await api.getShare(shareId)
      seen(`${current.status} ${current.statusCode ?? ''}`)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs, intervalMs: 200 },
  )
}

export interface VideoShareOptions {
  caseNumber: string
  /** The file name of the video; its name (without extension) also seeds its bytes. */
  name: string
  size: number
}

/** Pairs `sender` and `receiver`, shares the video and waits for delivery; returns the video's digest. */
export async function deliverVideoShare(sender: OrgProcess, receiver: OrgProcess, options: VideoShareOptions): Promise<{ digest: string; seed: string }> {
  await pair(sender, receiver)
  await assignReviewPolicy(sender.api, receiver.org)
  const theCase = await sender.api.createCase({ caseNumber: options.caseNumber, title: 'Robbery' })
  const seed = options.name.replace(/\.[^.]*$/, '')
  const video = await sender.api.uploadEvidence(
    theCase.id,
    { name: options.name, category: 'video', mediaType: 'video/mp4' },
    generatedContent(options.size, seed),
  )
  const share = await sender.api.createShare({ caseId: theCase.id, partnerOrg: receiver.org, scope: 'case' })
  await waitDelivered(sender.api, share.id, 60_000)
  return { digest: video.digest, seed }
}
