/**
 * spec: CW-LOC-024 — the `operationId` of every operation of the local API, by method and route
 * (fastify syntax). Written out rather than derived from the path, so that a client generated
 * from `/openapi.json` keeps its method names when a route's URL or summary is reworded: once
 * published, a name here does not change. An `onRoute` hook sets them; a documented route
 * without one is refused at start-up, so a new route cannot ship unnamed.
 *
 * @module
 */
import type { RouteOptions } from 'fastify'

export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
  'POST /api/v1/tokens': 'createToken',
  'GET /api/v1/tokens': 'listTokens',
  'POST /api/v1/tokens/:id/revoke': 'revokeToken',
  'POST /api/v1/users': 'createUser',
  'GET /api/v1/users': 'listUsers',
  'PATCH /api/v1/users/:id': 'updateUser',
  'POST /api/v1/groups': 'createGroup',
  'GET /api/v1/groups': 'listGroups',
  'PUT /api/v1/groups/:id/members': 'setGroupMembers',
  'POST /api/v1/partners': 'importPartner',
  'GET /api/v1/partners': 'listPartners',
  'POST /api/v1/partners/:org/enable': 'enablePartner',
  'POST /api/v1/partners/:org/disable': 'disablePartner',
  'PUT /api/v1/partners/:org/policy': 'assignPartnerPolicy',
  'POST /api/v1/policies': 'createPolicy',
  'GET /api/v1/policies': 'listPolicies',
  'POST /api/v1/policies/:id/versions': 'createPolicyVersion',
  'GET /api/v1/policies/:id': 'getPolicy',
  'POST /api/v1/cases': 'createCase',
  'GET /api/v1/cases': 'listCases',
  'GET /api/v1/cases/:id': 'getCase',
  'PATCH /api/v1/cases/:id': 'updateCase',
  'POST /api/v1/cases/:id/folders': 'createFolder',
  'GET /api/v1/cases/:id/team': 'getCaseTeam',
  'PUT /api/v1/cases/:id/team': 'setCaseTeam',
  'GET /api/v1/cases/:id/access': 'getCaseAccess',
  'GET /api/v1/cases/:id/import-details': 'getImportDetails',
  'POST /api/v1/cases/:id/import-details/recipients': 'addImportedCaseRecipients',
  'GET /api/v1/cases/:id/evidence': 'listEvidence',
  'POST /api/v1/cases/:id/evidence': 'uploadEvidence',
  'POST /api/v1/cases/:id/evidence/batch': 'uploadEvidenceBatch',
  'GET /api/v1/evidence/:id/content': 'downloadEvidence',
  'DELETE /api/v1/evidence/:id': 'deleteEvidence',
  'POST /api/v1/shares': 'createShare',
  'GET /api/v1/shares': 'listShares',
  'GET /api/v1/shares/:id': 'getShare',
  'POST /api/v1/shares/:id/revoke': 'revokeShare',
  'POST /api/v1/shares/:id/update': 'updateShare',
  'POST /api/v1/shares/:id/recipients': 'addShareRecipients',
  'POST /api/v1/cases/:id/link-shares': 'createLinkShare',
  'GET /api/v1/cases/:id/link-shares': 'listLinkShares',
  'GET /api/v1/link-shares/:id': 'getLinkShare',
  'POST /api/v1/link-shares/:id/revoke': 'revokeLinkShare',
  'GET /api/v1/link-shares/:id/package': 'downloadLinkSharePackage',
  'GET /api/v1/inbound-packages': 'listInboundPackages',
  'GET /api/v1/inbound-packages/:id': 'getInboundPackage',
  'GET /api/v1/inbound-packages/:id/package': 'downloadInboundPackage',
  'GET /api/v1/external-cases': 'listExternalCases',
  'GET /api/v1/external-cases/:id': 'getExternalCase',
  'GET /api/v1/external-cases/:id/evidence/:itemId/content': 'downloadExternalEvidence',
  'POST /api/v1/external-cases/:id/import': 'importExternalCase',
  'POST /api/v1/external-cases/:id/recipients': 'addExternalCaseRecipients',
  'POST /api/v1/external-cases/:id/share-onward': 'shareExternalCaseOnward',
  'GET /api/v1/external-cases/:id/updates': 'listExternalCaseUpdates',
  'POST /api/v1/external-cases/:id/updates/apply': 'applyExternalCaseUpdates',
  'GET /api/v1/cases/:id/audit': 'listCaseAudit',
  'GET /api/v1/cases/:id/audit/export': 'exportCaseAudit',
  'GET /api/v1/cases/:id/audit/verify': 'verifyCaseAudit',
  'GET /api/v1/external-cases/:id/audit': 'listExternalCaseAudit',
  'GET /api/v1/external-cases/:id/audit/export': 'exportExternalCaseAudit',
  'GET /api/v1/external-cases/:id/audit/verify': 'verifyExternalCaseAudit',
  'GET /api/v1/jobs/failing': 'listFailingJobs',
  'POST /api/v1/blobs/gc': 'collectBlobs',
}

/** `onRoute` hook: gives a documented route its operationId; throws for a documented route without one. */
export function nameOperation(route: RouteOptions): void {
  const schema = route.schema
  if (schema === undefined || (schema as { hide?: boolean }).hide === true) return
  const methods = [route.method].flat().filter((method) => method !== 'HEAD')
  if (methods.length === 0) return
  if (methods.length > 1) throw new Error(`route ${route.url}: one method per documented route, so that each operation has its own operationId`)
  const key = `${methods[0]} ${route.url}`
  if ((schema as { operationId?: string }).operationId !== undefined) return
  const operationId = OPERATION_IDS[key]
  if (operationId === undefined) throw new Error(`route ${key} has no operationId: add one to OPERATION_IDS (node/src/local/operation_ids.ts)`)
  route.schema = { ...schema, operationId }
}
