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
import type { MetadataStore } from './store/metadata_store.ts'
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

export interface Jobs {
  /** Persists a job and wakes the runner. One live job per (kind, ref): a duplicate is ignored. */
  enqueue(kind: string, ref: string, payload?: Record<string, unknown>, runAt?: number): Promise<void>
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
  /** Records a domain event (audit trail, notifications, metrics subscribe to it). */
  record(event: AnyNodeEvent): Promise<void>
}
