/**
 * The worker thread of `verify_off_loop.ts`: verifies the manifests it is sent, one message
 * each, and answers with the outcome as plain data (a refusal as its problem code, message and
 * location).
 *
 * @module
 */
import { parentPort } from 'node:worker_threads'
import { CasewayError, verifyManifest } from '#protocol'
import type { WorkerAnswer, WorkerInput } from './verify_off_loop.ts'

async function verify(input: WorkerInput): Promise<WorkerAnswer> {
  try {
    const verified = await verifyManifest(input.jws, {
      trustAnchors: input.trustAnchors,
      audience: input.audience,
      currentDate: new Date(input.currentDateMs),
      maxBytes: input.maxBytes,
      versions: input.versions,
    })
    return { ok: true, digest: verified.digest, effectivePolicy: verified.chain.effectivePolicy }
  } catch (error) {
    return error instanceof CasewayError
      ? { ok: false, code: error.code, message: error.message, ...(error.at === undefined ? {} : { at: error.at }) }
      : { ok: false, message: error instanceof Error ? error.message : String(error) }
  }
}

parentPort!.on('message', ({ id, input }: { id: number; input: WorkerInput }) => {
  void verify(input).then((answer) => parentPort!.postMessage({ id, answer }))
})
