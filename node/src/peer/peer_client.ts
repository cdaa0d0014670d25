/**
 * The outbound side of the Federation API (SPEC.md §16): offers, chunk pulls, receipts and revocations sent
 * to a partner's federation listener over mutual TLS.
 *
 * One undici `Agent` per partner org, built from that partner's pinned CA only (CW-TRUST-004:
 * never the runtime's default roots) and this node's TLS certificate as the client
 * certificate. The server certificate must pass the usual host-name check and name the
 * partner's organization under the partner's CA (CW-TLS-004). An agent is rebuilt when the
 * partner's CA changes.
 *
 * Every failure is a {@link PeerRefusal} (the partner answered with a problem document) or a
 * {@link PeerUnreachable} (no usable answer); an abort through `signal` is rethrown as is.
 *
 * @module
 */
import { checkServerIdentity as checkHostName, type PeerCertificate } from 'node:tls'
import type { Readable } from 'node:stream'
import { Agent, request, type Dispatcher } from 'undici'
import {
  assertHealthAnswer,
  assertOfferAnswer,
  assertPackageOfferAnswer,
  assertReceiptAnswer,
  assertRevocationAnswer,
  CHUNK_BATCH_FEATURE,
  FEATURES_HEADER,
  FEDERATION_PATHS,
  parseFeaturesHeader,
  JOSE_MEDIA_TYPE,
  type HealthAnswer,
  type OfferAnswer,
  type PackageOfferAnswer,
  VERSIONS_HEADER,
  type ReceiptAnswer,
  type RevocationAnswer,
} from '#protocol'
import type { NodeContext } from '../context.ts'
import type { PartnerRecord } from '../store/metadata_store.ts'
import { parseRetryAfter, PeerRefusal, PeerUnreachable } from './errors.ts'
import { verifyPeerCertificate } from './peer_certificate.ts'
import { learnPartnerVersions } from './versions.ts'

/** The partner's answer to an offer: `202` accepted, `200` an idempotent re-offer (CW-FED-003, -004). */
export interface OfferResult {
  status: 200 | 202
  answer: OfferAnswer
}

/** The partner's answer to a package offer: `202` accepted, `200` a re-offer (CW-PKG-012). */
export interface PackageOfferResult {
  status: 200 | 202
  answer: PackageOfferAnswer
}

export interface PeerClient {
  /** EP-1: offers a signed manifest. */
  offer(partner: PartnerRecord, jws: string, signal?: AbortSignal): Promise<OfferResult>
  /**
   * EP-2: the body of one chunk, as it arrives. The caller consumes it (into `blobs.put`, which
   * verifies the digest) or destroys it.
   */
  fetchChunk(partner: PartnerRecord, shareId: string, digest: string, signal?: AbortSignal): Promise<Readable>
  /**
   * EP-20: the bodies of several chunks of one share, concatenated in the order of `digests`
   * (CW-BAT-003), as they arrive. The caller cuts it by the lengths the manifest gives and
   * verifies each chunk, or destroys it. Ask only when {@link chunkBatchesServed} says so.
   */
  fetchChunkBatch?(partner: PartnerRecord, shareId: string, digests: readonly string[], signal?: AbortSignal): Promise<Readable>
  /**
   * CW-VER-007, CW-BAT-004: whether the partner's latest answer listed the `chunk-batch` feature. Before any
   * answer of the partner this session, its EP-4 is asked (bounded); no answer means no.
   */
  chunkBatchesServed?(partner: PartnerRecord, signal?: AbortSignal): Promise<boolean>
  /** EP-3: returns a signed receipt. */
  sendReceipt(partner: PartnerRecord, jws: string, signal?: AbortSignal): Promise<ReceiptAnswer>
  /** EP-5: sends a signed revocation. */
  sendRevocation(partner: PartnerRecord, jws: string, signal?: AbortSignal): Promise<RevocationAnswer>
  /** EP-10: offers a signed package offer (CW-PKG-012). Absent only in test doubles. */
  offerPackage?(partner: PartnerRecord, jws: string, signal?: AbortSignal): Promise<PackageOfferResult>
  /**
   * EP-11: the package's bytes from byte `from` on (a `Range` when `from` > 0, CW-PKG-013), as they
   * arrive, with the offset they start at. The caller consumes or destroys the body.
   */
  fetchPackage?(partner: PartnerRecord, packageId: string, from: number, signal?: AbortSignal): Promise<{ start: number; body: Readable }>
  /** EP-12: sends the signed revocation of a package (CW-PKG-015). */
  sendPackageRevocation?(partner: PartnerRecord, jws: string, signal?: AbortSignal): Promise<RevocationAnswer>
  /** EP-4: the partner's health answer (its `Caseway-Versions` is recorded like every answer's, CW-VER-004). */
  health?(partner: PartnerRecord, signal?: AbortSignal): Promise<HealthAnswer>
  /** Closes every connection. */
  close(): Promise<void>
}

export interface PeerClientOptions {
  /** Time allowed to connect, including the TLS handshake; default 10 s. */
  connectTimeoutMs?: number
  /** Time allowed for the response headers, and between two pieces of a body; default `config.limits.requestTimeoutMs`. */
  timeoutMs?: number
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** How long the EP-4 that asks an unknown partner's features may take (CW-BAT-004). */
const FEATURE_PROBE_TIMEOUT_MS = 5_000
/** Bytes read from a refusal's body; a problem document is small. */
const MAX_PROBLEM_BYTES = 64 * 1024
/** Bytes of a partner's `detail` kept (it ends up in logs and share status). */
const MAX_DETAIL_LENGTH = 1000
const PROBLEM_CODE = /^CW_ERR_[A-Z0-9_]{1,60}$/
/** Connections per partner; the fetch job bounds its own parallelism below this. */
const CONNECTIONS_PER_PARTNER = 32

interface CachedAgent {
  caFingerprint: string
  /** This node's client certificate the agent presents: a renewal (SIGHUP) makes new agents. */
  clientCertificate: string
  agent: Agent
}

/** Creates the client; `ctx` provides this node's TLS identity, the clock and the limits. */
export function createPeerClient(
  ctx: Pick<NodeContext, 'identity' | 'clock' | 'config'> & Partial<Pick<NodeContext, 'store'>>,
  options: PeerClientOptions = {},
): PeerClient {
  const timeoutMs = options.timeoutMs ?? ctx.config.limits.requestTimeoutMs
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  // An offer answer lists at most every chunk of a manifest, so it is bounded by the manifest limit.
  const maxAnswerBytes = ctx.config.limits.manifestBytes
  const agents = new Map<string, CachedAgent>()
  // spec: CW-VER-007 — the features each partner's latest answer listed (this session's).
  const features = new Map<string, readonly string[]>()

  function agentFor(partner: PartnerRecord): Agent {
    const cached = agents.get(partner.org)
    if (cached !== undefined && cached.caFingerprint === partner.caFingerprint && cached.clientCertificate === ctx.identity.tls.cert) return cached.agent
    if (cached !== undefined) void cached.agent.close().catch(() => undefined)
    const anchors = [{ certificate: partner.caCertificate, org: partner.org }]
    const agent = new Agent({
      connections: CONNECTIONS_PER_PARTNER,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: {
        ca: partner.caCertificate,
        cert: ctx.identity.tls.cert,
        key: ctx.identity.tls.key,
        minVersion: 'TLSv1.3',
        rejectUnauthorized: true,
        timeout: connectTimeoutMs,
        // spec: CW-TLS-004 — the host name as usual, then the partner's organization under its CA.
        checkServerIdentity(host: string, certificate: PeerCertificate): Error | undefined {
          const hostError = checkHostName(host, certificate)
          if (hostError !== undefined) return hostError
          try {
            const verified = verifyPeerCertificate(certificate, anchors, ctx.clock.now())
            if (verified.org === partner.org) return undefined
          } catch (error) {
            return Object.assign(new Error(`server certificate does not identify ${partner.org}: ${(error as Error).message}`), {
              code: (error as { code?: string }).code ?? 'CW_ERR_CHAIN_UNTRUSTED',
            })
          }
          return Object.assign(new Error(`server certificate does not name ${partner.org}`), { code: 'CW_ERR_PEER_MISMATCH' })
        },
      },
    })
    agents.set(partner.org, { caFingerprint: partner.caFingerprint, clientCertificate: ctx.identity.tls.cert, agent })
    return agent
  }

  async function call(
    partner: PartnerRecord,
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
    extraHeaders: Record<string, string> = {},
  ): Promise<Dispatcher.ResponseData> {
    const url = urlOf(partner, path)
    let response: Dispatcher.ResponseData
    try {
      response = await request(url, {
        dispatcher: agentFor(partner),
        method,
        headers: { ...(body === undefined ? { accept: '*/*' } : { 'content-type': JOSE_MEDIA_TYPE, accept: 'application/json' }), ...extraHeaders },
        body: body ?? null,
        signal: signal ?? null,
      })
    } catch (error) {
      if (signal?.aborted === true) throw error
      const code = (error as { code?: unknown }).code
      throw new PeerUnreachable(partner.org, describe(error), { cause: error, ...(typeof code === 'string' ? { code } : {}) })
    }
    // spec: CW-VER-004 — every answer says which versions the partner supports.
    if (ctx.store !== undefined) {
      try {
        await learnPartnerVersions(ctx.store, partner.org, response.headers[VERSIONS_HEADER], response.statusCode, ctx.clock.now())
      } catch {
        // Best effort: the versions are learned again from the next answer.
      }
    }
    // spec: CW-VER-007 — an answer of the partner's node (it lists its versions, CW-VER-003) or
    // any 2xx answer says which features it serves now; an intermediary's error page says nothing.
    const listed = response.headers[FEATURES_HEADER]
    if (listed !== undefined || response.headers[VERSIONS_HEADER] !== undefined || (response.statusCode >= 200 && response.statusCode <= 299)) {
      features.set(partner.org, parseFeaturesHeader(listed))
    }
    if (response.statusCode < 200 || response.statusCode > 299) throw await refusalOf(partner.org, response, ctx.clock.now())
    return response
  }

  /** The answer's JSON, checked with its protocol schema (SPEC.md §16); anything else is no usable answer. */
  async function readAnswer<T>(partner: PartnerRecord, response: Dispatcher.ResponseData, assertAnswer: (value: unknown) => asserts value is T): Promise<T> {
    let text: string | undefined
    try {
      text = await readLimited(response.body, maxAnswerBytes)
    } catch (error) {
      throw new PeerUnreachable(partner.org, `answer unreadable: ${describe(error)}`, { cause: error })
    }
    let value: unknown
    try {
      value = text === undefined ? undefined : JSON.parse(text)
    } catch {
      value = undefined
    }
    try {
      assertAnswer(value)
    } catch (error) {
      const at = (error as { at?: unknown }).at
      throw new PeerUnreachable(partner.org, `answer is not the JSON SPEC.md §16 defines${typeof at === 'string' && at !== '' ? ` (at ${at})` : ''}`, {
        cause: error,
        code: 'PEER_ANSWER_INVALID',
      })
    }
    return value
  }

  return {
    async offer(partner, jws, signal) {
      const response = await call(partner, 'POST', FEDERATION_PATHS.offers, jws, signal)
      const answer = await readAnswer(partner, response, assertOfferAnswer)
      return { status: response.statusCode === 200 ? 200 : 202, answer }
    },

    async fetchChunk(partner, shareId, digest, signal) {
      const response = await call(partner, 'GET', FEDERATION_PATHS.chunk(shareId, digest), undefined, signal)
      if (response.statusCode !== 200) {
        response.body.destroy()
        throw new PeerUnreachable(partner.org, `chunk answered ${response.statusCode} to a request without Range`, { code: 'PEER_ANSWER_INVALID' })
      }
      return response.body
    },

    async fetchChunkBatch(partner, shareId, digests, signal) {
      const body = JSON.stringify({ digests })
      const response = await call(partner, 'POST', FEDERATION_PATHS.chunkBatches(shareId), body, signal, { 'content-type': 'application/json', accept: '*/*' })
      if (response.statusCode !== 200) {
        response.body.destroy()
        throw new PeerUnreachable(partner.org, `chunk batch answered ${response.statusCode}`, { code: 'PEER_ANSWER_INVALID' })
      }
      return response.body
    },

    async chunkBatchesServed(partner, signal) {
      if (!features.has(partner.org)) {
        try {
          // EP-4's answer carries the headers like every answer; bounded, so a silent partner costs little.
          const probe = AbortSignal.timeout(FEATURE_PROBE_TIMEOUT_MS)
          const response = await call(partner, 'GET', FEDERATION_PATHS.healthz, undefined, signal === undefined ? probe : AbortSignal.any([signal, probe]))
          await response.body.dump()
        } catch {
          // No answer: EP-2 for now; the next answer teaches what the partner serves.
          return false
        }
      }
      return features.get(partner.org)?.includes(CHUNK_BATCH_FEATURE) ?? false
    },

    async sendReceipt(partner, jws, signal) {
      const response = await call(partner, 'POST', FEDERATION_PATHS.receipts, jws, signal)
      return readAnswer(partner, response, assertReceiptAnswer)
    },

    async sendRevocation(partner, jws, signal) {
      const response = await call(partner, 'POST', FEDERATION_PATHS.revocations, jws, signal)
      return readAnswer(partner, response, assertRevocationAnswer)
    },

    async offerPackage(partner, jws, signal) {
      const response = await call(partner, 'POST', FEDERATION_PATHS.packageOffers, jws, signal)
      const answer = await readAnswer(partner, response, assertPackageOfferAnswer)
      return { status: response.statusCode === 200 ? 200 : 202, answer }
    },

    async fetchPackage(partner, packageId, from, signal) {
      const response = await call(partner, 'GET', FEDERATION_PATHS.package(packageId), undefined, signal, from > 0 ? { range: `bytes=${from}-` } : {})
      const range = /^bytes (\d+)-\d+\/\d+$/.exec(String(response.headers['content-range'] ?? ''))
      const start = response.statusCode === 206 && range !== null ? Number(range[1]) : 0
      if (response.statusCode !== 200 && !(response.statusCode === 206 && start === from)) {
        response.body.destroy()
        throw new PeerUnreachable(partner.org, `package answered ${response.statusCode} to bytes=${from}-`, { code: 'PEER_ANSWER_INVALID' })
      }
      return { start, body: response.body }
    },

    async sendPackageRevocation(partner, jws, signal) {
      const response = await call(partner, 'POST', FEDERATION_PATHS.packageRevocations, jws, signal)
      return readAnswer(partner, response, assertRevocationAnswer)
    },

    async health(partner, signal) {
      const response = await call(partner, 'GET', FEDERATION_PATHS.healthz, undefined, signal)
      return readAnswer(partner, response, assertHealthAnswer)
    },

    async close() {
      const open = [...agents.values()]
      agents.clear()
      // Called after the jobs have stopped: nothing in flight is still wanted, so connections are
      // torn down rather than drained (a graceful close could wait on a peer that is gone).
      await Promise.all(open.map(({ agent }) => agent.destroy().catch(() => undefined)))
    },
  }
}

function urlOf(partner: PartnerRecord, path: string): string {
  let base: URL
  try {
    base = new URL(partner.endpoint)
  } catch {
    throw new PeerUnreachable(partner.org, 'partner endpoint is not a URL', { code: 'PEER_ENDPOINT_INVALID' })
  }
  if (base.protocol !== 'https:') throw new PeerUnreachable(partner.org, 'partner endpoint is not https', { code: 'PEER_ENDPOINT_INVALID' })
  return base.origin + base.pathname.replace(/\/+$/, '') + path
}

/** The body as text, or undefined when it is longer than `limit` bytes (then it is discarded). */
async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string | undefined> {
  const parts: Buffer[] = []
  let size = 0
  for await (const part of body as AsyncIterable<Buffer>) {
    size += part.length
    if (size > limit) {
      body.destroy()
      return undefined
    }
    parts.push(part)
  }
  return Buffer.concat(parts).toString('utf8')
}

/** The partner's problem document, or a stand-in when it sent none (a proxy's error page). */
async function refusalOf(peerOrg: string, response: Dispatcher.ResponseData, now: Date): Promise<PeerRefusal> {
  const status = response.statusCode
  // spec: CW-FED-017 — a temporary refusal says when to come back.
  const retryAfterMs = status >= 500 || status === 429 || status === 408 ? parseRetryAfter(response.headers['retry-after'], now) : undefined
  let problem: { code?: unknown; detail?: unknown } | undefined
  try {
    const text = await readLimited(response.body, MAX_PROBLEM_BYTES)
    const parsed: unknown = text === undefined ? undefined : JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null) problem = parsed
  } catch {
    problem = undefined
  }
  if (typeof problem?.code === 'string' && PROBLEM_CODE.test(problem.code)) {
    const detail = typeof problem.detail === 'string' ? problem.detail.slice(0, MAX_DETAIL_LENGTH) : ''
    return new PeerRefusal(peerOrg, status, problem.code, detail, retryAfterMs)
  }
  return new PeerRefusal(
    peerOrg,
    status,
    status >= 500 ? 'CW_ERR_UNAVAILABLE' : 'CW_ERR_BAD_REQUEST',
    `HTTP ${status} without a problem document`,
    retryAfterMs,
  )
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  const message = error instanceof Error ? error.message : String(error)
  return cause instanceof Error && cause.message !== message ? `${message} (${cause.message})` : message
}
