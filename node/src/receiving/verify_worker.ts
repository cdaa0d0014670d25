/**
 * The worker thread of `verify_off_loop.ts`: verifies one manifest and posts the outcome as
 * plain data (a refusal as its problem code, message and location).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { CasewayError, verifyManifest } from '#protocol'
import type { WorkerAnswer, WorkerInput } from './verify_off_loop.ts'

const input = workerData as WorkerInput
let answer: WorkerAnswer
try {
  const verified = await verifyManifest(input.jws, {
    trustAnchors: input.trustAnchors,
    audience: input.audience,
    currentDate: new Date(input.currentDateMs),
    maxBytes: input.maxBytes,
  })
  answer = { ok: true, manifest: verified.manifest, digest: verified.digest, effectivePolicy: verified.chain.effectivePolicy }
} catch (error) {
  answer =
    error instanceof CasewayError
      ? { ok: false, code: error.code, message: error.message, ...(error.at === undefined ? {} : { at: error.at }) }
      : { ok: false, message: error instanceof Error ? error.message : String(error) }
}
parentPort!.postMessage(answer)
