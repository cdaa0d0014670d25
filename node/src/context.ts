/**
 * What every service of a node is given: configuration, stores, its own identity, the
 * trust anchors of its partners, the job queue, the clock and the logger. Built once by
 * `createNode` and passed down; services never construct these themselves.
 *
 * @module
 */
import type { Logger } from 'pino'
import type { Signer, TrustAnchor } from '#protocol'
import type { NodeConfig } from './config/schema.ts'
import type { MetadataStore, UnitOfWork } from './store/metadata_store.ts'
import type { BlobStore } from './store/blob_store.ts'
import type { AnyNodeEvent } from './events.ts'

/** This node's own PKI material, read from the pki directory at start-up. */
export interface Identity {
  readonly org: string
  readonly name: string
  /** Signs manifests, grants, receipts and revocations (signing.crt + chain). */
  readonly signer: Signer
  /** TLS material for both the federation listener and outbound connections. */
  readonly tls: { readonly key: string; readonly cert: string; readonly ca: string }
  /** PEM of this organization's CA. */
  readonly caCertificate: string
}

export interface Clock {
  /** Current time. Tests inject a fixed or advancing clock. */
  now(): Date
}

/**
 * One store transaction of an action, with what belongs to it: the domain events it causes
 * (written to the outbox in the same transaction, so they commit or roll back with the
 * action) and what to do once it committed (wake the job runner).
 */
export interface Transaction {
  /** The store inside the transaction: every call here commits or rolls back together. */
  readonly store: UnitOfWork
  /** Records a domain event of this action; its consumers get it once the transaction commits. */
  record(event: AnyNodeEvent): void
  /** Runs `effect` after the commit (never after a rollback); for in-memory effects such as waking a runner. */
  afterCommit(effect: () => void): void
}

export interface Jobs {
  /**
   * Queues a job in the action's transaction `tx` (one live job per (kind, ref): a duplicate is
   * ignored); the runner is woken once `tx` commits, so a job exists exactly when its state does.
   */
  enqueue(tx: Transaction, kind: string, ref: string, payload?: Record<string, unknown>, runAt?: number): Promise<void>
}

export interface NodeContext {
  readonly config: NodeConfig
  readonly identity: Identity
  readonly store: MetadataStore
  readonly blobs: BlobStore
  readonly jobs: Jobs
  readonly clock: Clock
  readonly log: Logger
  /**
   * Trust anchors for verifying signed objects (grants, manifests, receipts, revocations): the
   * CAs of enabled partners, trust-only ones included (CW-PROV-008), and our own CA.
   */
  trustAnchors(): Promise<TrustAnchor[]>
  /** Trust anchors for TLS peers: the CAs of enabled partners that are not trust-only. */
  tlsAnchors(): Promise<TrustAnchor[]>
  /** Call after partners change (import, enable, disable): the federation listener reloads its CAs. */
  trustChanged(): Promise<void>
  /**
   * Runs an action's store work as one transaction (see {@link Transaction}). When it resolves,
   * the transaction committed and the consumers of its events (audit trail, notifications,
   * live-share revisions, metrics) have had their turn: a caller reads the audit entry at once.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>
  /**
   * Records an event that has no action transaction of its own (a view, a download, a refusal):
   * written to the outbox in a small transaction of its own, then handled as above.
   */
  record(event: AnyNodeEvent): Promise<void>
  /**
   * Asks a partner whose protocol versions this node does not know yet for them (its EP-4
   * answer's `Caseway-Versions`, CW-VER-004), bounded in time; never throws. Absent in contexts
   * without a peer client (then the node signs 0.1 until a partner's answer says otherwise).
   */
  probePartnerVersions?: (partnerOrg: string) => Promise<void>
}
