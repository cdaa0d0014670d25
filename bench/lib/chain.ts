/**
 * `chain.verify_ms`: the time to verify a 5-hop grant chain (SPEC.md §11, CW-PROV-001..009),
 * in process: six organizations, each with its CA and signing certificate (`#certs`), grants
 * org0 → org1 → … → org5 with 100 evidence digests, then `verifyGrantChain` as the last
 * receiver runs it — the median of 50 runs after a warm-up.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { createOrgCa, issueSigningCertificate } from '#certs'
import { onwardGrant, originGrant, signGrant, verifyGrantChain, type Grant, type SharingPolicy, type Signer, type TrustAnchor } from '#protocol'

export interface ChainResult {
  /** Median of `runs` verifications, milliseconds. */
  verify_ms: number
  /** Fastest and slowest run. */
  min_ms: number
  max_ms: number
  hops: number
  evidence: number
  runs: number
}

const ORGS = 6
const EVIDENCE = 100
const RUNS = 50
const WARM_UP = 5

function policy(maxDepth: number): SharingPolicy {
  return {
    id: `bench-chain-depth-${maxDepth}`,
    version: 1,
    name: 'Bench chain',
    permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward: { allowed: maxDepth > 0, maxDepth } },
    content: { caseFields: ['caseNumber', 'title', 'description'], evidenceCategories: ['video', 'document'], attachments: false },
    maxDurationSeconds: 30 * 86_400,
  }
}

export async function chainRun(): Promise<ChainResult> {
  const now = new Date()
  const names = Array.from({ length: ORGS }, (_, index) => `bench-org-${index}`)
  const orgs = await Promise.all(
    names.map(async (org) => {
      const ca = await createOrgCa({ org, name: `Bench ${org}`, now })
      const signing = await issueSigningCertificate(ca, { org, name: `Bench ${org}`, now })
      const signer: Signer = { privateKey: signing.privateKey, chain: [signing.certificate.toString('pem'), ca.certificate.toString('pem')] }
      const anchor: TrustAnchor = { certificate: ca.certificate.toString('pem'), org }
      return { org, signer, anchor }
    }),
  )
  const evidence = Array.from({ length: EVIDENCE }, (_, index) => `sha256:${createHash('sha256').update(`bench evidence ${index}`).digest('hex')}`)
  const iat = Math.floor(now.getTime() / 1000) - 60
  const hops = ORGS - 1
  const grants: Grant[] = []
  for (let index = 0; index < hops; index++) {
    const common = { aud: orgs[index + 1]!.org, share: `share-${index}`, policy: policy(hops - 1 - index), iat }
    grants.push(index === 0 ? originGrant({ ...common, iss: orgs[0]!.org, evidence }) : onwardGrant(grants[index - 1]!, common))
  }
  const jws = await Promise.all(grants.map((grant, index) => signGrant(grant, orgs[index]!.signer)))
  const options = { trustAnchors: orgs.map((org) => org.anchor), issuer: orgs[hops - 1]!.org, audience: orgs[hops]!.org, evidence, currentDate: now }
  for (let run = 0; run < WARM_UP; run++) await verifyGrantChain(jws, options)
  const times: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now()
    const verified = await verifyGrantChain(jws, options)
    times.push(performance.now() - start)
    if (verified.grants.length !== hops) throw new Error(`verified ${verified.grants.length} grants, expected ${hops}`)
  }
  times.sort((a, b) => a - b)
  const middle = Math.floor(times.length / 2)
  const median = times.length % 2 === 1 ? times[middle]! : (times[middle - 1]! + times[middle]!) / 2
  return { verify_ms: median, min_ms: times[0]!, max_ms: times[times.length - 1]!, hops, evidence: EVIDENCE, runs: RUNS }
}
