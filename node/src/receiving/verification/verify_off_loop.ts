/**
 * Receiver: verifying a large manifest on a worker thread (SPEC.md CW-QUO-005). Parsing,
 * canonicalizing and schema-checking tens of megabytes takes seconds of CPU; on the event loop
 * that would stall every other request of every partner (and `/healthz`). Small manifests are
 * verified in place: starting a worker costs more than they do.
 *
 * @module
 */
import { Worker } from 'node:worker_threads'
import { CasewayError, verifyManifest, type CaseManifest, type ProblemCode, type SharingPolicy, type TrustAnchor } from '#protocol'
import { OFF_LOOP_VERIFY_BYTES } from '../../limits.ts'
import { parsedManifest } from '../../shared_manifests.ts'

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
  /** The protocol versions this node speaks (CW-VER-001). */
  versions: readonly string[]
}

/** The worker's answer. */
export type WorkerAnswer = { ok: true; digest: string; effectivePolicy: SharingPolicy } | { ok: false; code?: ProblemCode; message: string; at?: string }

/** What the worker is given. */
export interface WorkerInput {
  jws: string
  trustAnchors: TrustAnchor[]
  audience: string
  currentDateMs: number
  maxBytes: number
  /** The protocol versions this node speaks (CW-VER-001). */
  versions: readonly string[]
}

/**
 * One worker thread, started at the first large offer and kept while offers come (unreferenced:
 * it never keeps the process alive) — starting a thread and loading the verifier costs a second
 * or more, more than most verifications. Offers queue on it, which also bounds the CPU large
 * offers take at once. Idle for {@link WORKER_IDLE_MS} it stops: a thread that has parsed a
 * large manifest holds on to tens of megabytes of heap, and a node's memory should come back
 * down after a burst of shares.
 */
let shared: { worker: Worker; waiting: Map<number, (answer: WorkerAnswer) => void>; fail: (error: Error) => void; idle: NodeJS.Timeout | undefined } | undefined
let nextId = 0

/** How long the worker waits for the next large offer before it stops. */
const WORKER_IDLE_MS = 60_000

/**
 * The worker's young generation, in MiB. V8 sizes it like the main thread's (tens of MiB on a
 * large machine); parsing a manifest makes short-lived objects, and a smaller nursery only
 * means more, shorter scavenges — on a thread that blocks no request.
 */
const WORKER_YOUNG_GENERATION_MB = 16

function verifier(): NonNullable<typeof shared> {
  if (shared !== undefined) return shared
  // The sources run as TypeScript; the installed package runs the compiled .js beside this module.
  const worker = new Worker(new URL(import.meta.url.endsWith('.ts') ? './verify_worker.ts' : './verify_worker.js', import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  })
  const waiting = new Map<number, (answer: WorkerAnswer) => void>()
  const fail = (error: Error) => {
    if (shared?.worker === worker) {
      clearTimeout(shared.idle)
      shared = undefined
    }
    for (const settle of waiting.values()) settle({ ok: false, message: error.message })
    waiting.clear()
  }
  worker.on('message', ({ id, answer }: { id: number; answer: WorkerAnswer }) => {
    const settle = waiting.get(id)
    waiting.delete(id)
    if (waiting.size === 0) {
      // Referenced only while an offer waits: idle, it must not keep the process alive.
      worker.unref()
      stopWhenIdle(worker)
    }
    settle?.(answer)
  })
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`manifest verification worker exited with ${code}`)))
  worker.unref()
  shared = { worker, waiting, fail, idle: undefined }
  return shared
}

/** Stops `worker` (the shared one) after {@link WORKER_IDLE_MS} unless an offer comes first. */
function stopWhenIdle(worker: Worker): void {
  if (shared?.worker !== worker) return
  clearTimeout(shared.idle)
  shared.idle = setTimeout(() => {
    if (shared?.worker === worker) shared = undefined
    void worker.terminate()
  }, WORKER_IDLE_MS).unref()
}

/**
 * Starts the worker for an offer of `bytes` whose body is still arriving, when it will be
 * verified there: loading the verifier then overlaps the transfer instead of following it
 * (about a second before a 30,000-item manifest was verified). An offer that never comes leaves
 * the worker to stop when idle.
 */
export function prepareVerifier(bytes: number): void {
  if (!(bytes > OFF_LOOP_VERIFY_BYTES)) return
  const current = verifier()
  if (current.waiting.size === 0) stopWhenIdle(current.worker)
}

/**
 * The manifest of `jws`, which the worker verified (its payload's digest is `digest`), read again
 * here: parsing the canonical text takes a third of the time of receiving the worker's parsed
 * value (a structured clone: 0.3 s of the event loop for 100,000 items), and the text is what
 * the store keeps (`shared_manifests.ts`).
 */
function verifiedPayload(jws: string, digest: string): CaseManifest {
  // The segment the worker decoded: it accepted exactly three, in strict base64url, so these are its bytes.
  const payload = Buffer.from(jws.slice(jws.indexOf('.') + 1, jws.lastIndexOf('.')), 'base64url').toString('utf8')
  return parsedManifest<CaseManifest>(digest, payload)
}

/** spec: CW-FED-001, CW-QUO-005 — §8 steps 1–16, off the event loop above {@link OFF_LOOP_VERIFY_BYTES}. */
export async function verifyOffer(jws: string, options: VerifyOfferOptions): Promise<VerifiedOffer> {
  if (jws.length <= OFF_LOOP_VERIFY_BYTES) return verifyManifest(jws, options)
  const input: WorkerInput = {
    jws,
    trustAnchors: options.trustAnchors.map((anchor) => ({ ...anchor })),
    audience: options.audience,
    currentDateMs: options.currentDate.getTime(),
    maxBytes: options.maxBytes,
    versions: [...options.versions],
  }
  const current = verifier()
  clearTimeout(current.idle)
  const { worker, waiting } = current
  const id = nextId++
  const answer = await new Promise<WorkerAnswer>((resolve) => {
    waiting.set(id, resolve)
    worker.ref()
    worker.postMessage({ id, input })
  })
  if (answer.ok) return { manifest: verifiedPayload(jws, answer.digest), digest: answer.digest, chain: { effectivePolicy: answer.effectivePolicy } }
  if (answer.code !== undefined) throw new CasewayError(answer.code, answer.message, answer.at === undefined ? undefined : { at: answer.at })
  throw new Error(answer.message)
}
