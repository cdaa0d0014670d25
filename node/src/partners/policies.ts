/**
 * Sharing policies (SPEC.md §9). A policy is a list of immutable versions: a change is a new
 * version, and a share keeps the version it was made under (CW-POL-007).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { assertPolicy, CasewayError, RequestError, type SharingPolicy } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { PolicyRecord } from '../store/metadata_store.ts'

/**
 * Creates version 1 of a policy. `body` is a sharing policy whose `id` may be left out (one is
 * assigned) and whose `version`, if given, must be 1.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` (with the schema's `at`), `CW_ERR_CONFLICT` when the id exists.
 */
export async function createPolicy(ctx: NodeContext, body: unknown): Promise<PolicyRecord> {
  const input = asObject(body)
  if (input['version'] !== undefined && input['version'] !== 1) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'a new policy is version 1; use POST /policies/{id}/versions for a new version', { at: '/version' })
  }
  const policy = validated({ ...input, id: input['id'] ?? randomUUID(), version: 1 })
  return ctx.store.transaction(async (store) => {
    if ((await store.policies.get(policy.id)) !== undefined) {
      throw new RequestError('CW_ERR_CONFLICT', `policy "${policy.id}" exists; add a version instead`, { at: '/id' })
    }
    const record: PolicyRecord = { id: policy.id, version: 1, policy, createdAt: nowSeconds(ctx) }
    await store.policies.insert(record)
    ctx.log.info({ policyId: policy.id, policyVersion: 1 }, 'policy created')
    return record
  })
}

/**
 * Adds the next version of policy `id`. Earlier versions are never changed. `body.id`, if
 * given, must be `id`; `body.version` is ignored if absent and must be the next number if given.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_BAD_REQUEST`.
 */
export async function createPolicyVersion(ctx: NodeContext, id: string, body: unknown): Promise<PolicyRecord> {
  const input = asObject(body)
  if (input['id'] !== undefined && input['id'] !== id) {
    throw new RequestError('CW_ERR_BAD_REQUEST', `body id ${JSON.stringify(input['id'])} is not the policy "${id}"`, { at: '/id' })
  }
  return ctx.store.transaction(async (store) => {
    const latest = await store.policies.get(id)
    if (latest === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no policy "${id}"`)
    const version = latest.version + 1
    if (input['version'] !== undefined && input['version'] !== version) {
      throw new RequestError('CW_ERR_BAD_REQUEST', `the next version of "${id}" is ${version}`, { at: '/version' })
    }
    const policy = validated({ ...input, id, version })
    const record: PolicyRecord = { id, version, policy, createdAt: nowSeconds(ctx) }
    await store.policies.insert(record)
    ctx.log.info({ policyId: id, policyVersion: version }, 'policy version created')
    return record
  })
}

/** The latest version of every policy, by id. */
export async function listPolicies(ctx: NodeContext): Promise<PolicyRecord[]> {
  const latest = new Map<string, PolicyRecord>()
  for (const record of await ctx.store.policies.list()) {
    const seen = latest.get(record.id)
    if (seen === undefined || seen.version < record.version) latest.set(record.id, record)
  }
  return [...latest.values()]
}

/** @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function getPolicy(ctx: NodeContext, id: string, version?: number): Promise<PolicyRecord> {
  const record = await ctx.store.policies.get(id, version)
  if (record === undefined) {
    throw new RequestError('CW_ERR_NOT_FOUND', version === undefined ? `no policy "${id}"` : `no policy "${id}" version ${version}`)
  }
  return record
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'a policy must be a JSON object', { at: '' })
  }
  return body as Record<string, unknown>
}

/** CW-POL-001: the policy schema decides; its fault becomes a bad request naming the field. */
function validated(candidate: Record<string, unknown>): SharingPolicy {
  const copy = structuredClone(candidate)
  try {
    assertPolicy(copy)
  } catch (error) {
    if (error instanceof CasewayError) {
      throw new RequestError('CW_ERR_BAD_REQUEST', error.message, error.at === undefined ? undefined : { at: error.at })
    }
    throw error
  }
  // spec: CW-LOC-003 — import without download would be refused at every receiver; say so now.
  if (copy.permissions.import && !copy.permissions.download) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'import needs download: an imported case is a copy whose evidence the importing agency can read', {
      at: '/permissions/import',
    })
  }
  return withoutDefaults(copy)
}

/**
 * The policy as it goes on the wire: `permissions.addRecipients` only when true (CW-POL-008) —
 * absent means false, and a 0.1 partner's schema knows no such member.
 */
export function withoutDefaults(policy: SharingPolicy): SharingPolicy {
  if (policy.permissions.addRecipients !== false) return policy
  const { addRecipients: _absentMeansFalse, ...permissions } = policy.permissions
  return { ...policy, permissions }
}

function nowSeconds(ctx: NodeContext): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}
