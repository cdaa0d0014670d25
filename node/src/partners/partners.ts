/**
 * Partner organizations: pinned from a partner bundle checked against the fingerprint
 * exchanged out of band (SPEC.md CW-TRUST-001 … CW-TRUST-004), enabled or disabled, and
 * given the sharing policy that new shares with them are made under.
 *
 * @module
 */
import { checkPartnerBundle, normalizeFingerprint, RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { PartnerRecord } from '../store/metadata_store.ts'

/**
 * Checks `bundle` (`checkPartnerBundle`: schema, CA profile, org, fingerprint) and pins it.
 * Importing a partner again replaces its CA and endpoint (a rotation, vouched for by the new
 * out-of-band fingerprint) and keeps its enabled state and policy. Our own organization is
 * refused. Reloads the trust anchors.
 *
 * `trustOnly` pins the CA as a trust anchor for signed objects only (SPEC.md CW-PROV-008): an
 * originator of chains we receive through another partner. It is never trusted for TLS and
 * nothing is shared with or pulled from it. Each import sets the flag as given (re-importing
 * without it makes the organization a full partner).
 *
 * @throws {VerificationError} the bundle's faults, `CW_ERR_FINGERPRINT_MISMATCH`.
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` for an unreadable fingerprint or our own org.
 */
export async function importPartner(ctx: NodeContext, bundle: unknown, fingerprint: string, options: { trustOnly?: boolean } = {}): Promise<PartnerRecord> {
  let expected: string
  try {
    expected = normalizeFingerprint(fingerprint)
  } catch (error) {
    throw new RequestError('CW_ERR_BAD_REQUEST', error instanceof Error ? error.message : 'fingerprint is invalid', { at: '/fingerprint' })
  }
  const checked = checkPartnerBundle(bundle, { fingerprint: expected, currentDate: ctx.clock.now() })
  if (checked.org === ctx.identity.org) {
    throw new RequestError('CW_ERR_BAD_REQUEST', `"${checked.org}" is this organization; a node is not its own partner`, { at: '/bundle/org' })
  }
  const partner = await ctx.store.transaction(async (store) => {
    const existing = await store.partners.get(checked.org)
    const record: PartnerRecord = {
      org: checked.org,
      name: checked.name,
      endpoint: checked.endpoint,
      caCertificate: checked.caCertificate,
      caFingerprint: checked.caFingerprint,
      enabled: existing?.enabled ?? true,
      policyId: existing?.policyId ?? null,
      policyVersion: existing?.policyVersion ?? null,
      addedAt: existing?.addedAt ?? Math.floor(ctx.clock.now().getTime() / 1000),
      trustOnly: options.trustOnly === true,
    }
    await store.partners.upsert(record)
    return record
  })
  ctx.log.info(
    { partner: partner.org, fingerprint: partner.caFingerprint, trustOnly: partner.trustOnly },
    partner.trustOnly ? 'trust anchor imported' : 'partner imported',
  )
  await ctx.trustChanged()
  return partner
}

/** A partner with its last successful exchange (Unix seconds, to the minute: `contacts.ts`; null when none). */
export type ListedPartner = PartnerRecord & { lastContactAt: number | null }

export async function listPartners(ctx: NodeContext): Promise<ListedPartner[]> {
  const [partners, contacts] = await Promise.all([ctx.store.partners.list(), ctx.store.partners.listContacts()])
  return partners.map((partner) => ({ ...partner, lastContactAt: contacts.get(partner.org) ?? null }))
}

/** @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function getPartner(ctx: NodeContext, org: string): Promise<PartnerRecord> {
  const partner = await ctx.store.partners.get(org)
  if (partner === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no partner "${org}"`)
  return partner
}

/**
 * Enables or disables a partner; a disabled partner's CA is no longer a trust anchor and no
 * share can be made with it. Reloads the trust anchors.
 */
export async function setPartnerEnabled(ctx: NodeContext, org: string, enabled: boolean): Promise<PartnerRecord> {
  const partner = await ctx.store.transaction(async (store) => {
    const existing = await store.partners.get(org)
    if (existing === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no partner "${org}"`)
    const record: PartnerRecord = { ...existing, enabled }
    await store.partners.upsert(record)
    return record
  })
  ctx.log.info({ partner: org, enabled }, enabled ? 'partner enabled' : 'partner disabled')
  await ctx.trustChanged()
  return partner
}

/**
 * Assigns a policy version to a partner for its future shares; the latest version when
 * `version` is omitted. Shares already made keep theirs (CW-POL-007).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` for an unknown partner or policy version.
 */
export async function assignPolicy(ctx: NodeContext, org: string, policyId: string, version?: number): Promise<PartnerRecord> {
  return ctx.store.transaction(async (store) => {
    const existing = await store.partners.get(org)
    if (existing === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no partner "${org}"`)
    const policy = await store.policies.get(policyId, version)
    if (policy === undefined) {
      const which = version === undefined ? `"${policyId}"` : `"${policyId}" version ${version}`
      throw new RequestError('CW_ERR_NOT_FOUND', `no policy ${which}`, { at: version === undefined ? '/policyId' : '/version' })
    }
    const record: PartnerRecord = { ...existing, policyId: policy.id, policyVersion: policy.version }
    await store.partners.upsert(record)
    ctx.log.info({ partner: org, policyId: policy.id, policyVersion: policy.version }, 'policy assigned')
    return record
  })
}

/**
 * The enabled, full partner `org` an exchange job talks to, or a retryable error: an admin may
 * enable it again, and the job then goes on.
 */
export async function enabledPartner(ctx: Pick<NodeContext, 'store'>, org: string): Promise<PartnerRecord> {
  const partner = await ctx.store.partners.get(org)
  if (partner === undefined || !partner.enabled || partner.trustOnly) throw new Error(`partner ${org} is not an enabled partner`)
  return partner
}
