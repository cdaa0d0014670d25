/**
 * Receiver: verifying a large manifest on a worker thread (SPEC.md CW-QUO-004). Parsing,
 * canonicalizing and schema-checking tens of megabytes takes seconds of CPU; on the event loop
 * that would stall every other request of every partner (and `/healthz`). Small manifests are
 * verified in place: starting a worker costs more than they do.
 *
 * @module
 */
import { Worker } from 'node:worker_threads'
import { CasewayError, verifyManifest, type CaseManifest, type ProblemCode, type SharingPolicy, type TrustAnchor } from '#protocol'
import { OFF_LOOP_VERIFY_BYTES } from '../limits.ts'

/** What the offer path needs of a verified manifest (plain data: it crosses the thread boundary). */
export interface VerifiedOffer {
  manifest: CaseManifest
  digest: string
  chain: { effectivePolicy: SharingPolicy }
}

export interface VerifyOfferOptions {
  trustAnchors: TrustAnchor[]
  audience: string
  currentDate: Date
  maxBytes: number
}

/** The worker's answer. */
export type WorkerAnswer =
  { ok: true; manifest: CaseManifest; digest: string; effectivePolicy: SharingPolicy } | { ok: false; code?: ProblemCode; message: string; at?: string }

/** What the worker is given. */
export interface WorkerInput {
  jws: string
  trustAnchors: TrustAnchor[]
  audience: string
  currentDateMs: number
  maxBytes: number
}

/** spec: CW-FED-001, CW-QUO-004 — §8 steps 1–16, off the event loop above {@link OFF_LOOP_VERIFY_BYTES}. */
export async function verifyOffer(jws: string, options: VerifyOfferOptions): Promise<VerifiedOffer> {
  if (jws.length <= OFF_LOOP_VERIFY_BYTES) return verifyManifest(jws, options)
  const input: WorkerInput = {
    jws,
    trustAnchors: options.trustAnchors.map((anchor) => ({ ...anchor })),
    audience: options.audience,
    currentDateMs: options.currentDate.getTime(),
    maxBytes: options.maxBytes,
  }
  const answer = await new Promise<WorkerAnswer>((resolve, reject) => {
    const worker = new Worker(new URL('./verify_worker.ts', import.meta.url), { workerData: input })
    worker.once('message', (message: WorkerAnswer) => resolve(message))
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`manifest verification worker exited with ${code} before answering`)))
  })
  if (answer.ok) return { manifest: answer.manifest, digest: answer.digest, chain: { effectivePolicy: answer.effectivePolicy } }
  if (answer.code !== undefined) throw new CasewayError(answer.code, answer.message, answer.at === undefined ? undefined : { at: answer.at })
  throw new Error(answer.message)
}
