/**
 * Who works on a case and who has access to it: the team (owner and administrators manage it),
 * the access overview (owner, team, partner shares with recipients and access level), and the
 * import details of an imported case. Object-level checks as every case route (CW-LOC-002).
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { MAX_TEAM_MEMBERS } from '../../limits.ts'
import { getCaseTeam, setCaseTeam } from '../../cases/case_team.ts'
import { getCaseAccessOverview } from '../../access/case_access_overview.ts'
import { getImportDetails } from '../../receiving/import_case.ts'
import { principalOf } from '../auth.ts'
import { ADDED_RECIPIENTS, paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'
import { ADD_RECIPIENTS_BODY, ADDED_RECIPIENTS_ANSWER } from './external_cases.ts'
import { addImportRecipients } from '../../receiving/added_recipients.ts'

const seconds = { type: 'integer', description: 'Unix time, seconds.' } as const

const PERSON = {
  type: ['object', 'null'],
  description: 'The case owner (null for a case the node created itself: administrators only).',
  required: ['userId', 'name'],
  properties: { userId: { type: 'string' }, name: { type: 'string' } },
} as const

const TEAM = {
  type: 'array',
  items: {
    type: 'object',
    required: ['kind', 'id', 'name'],
    properties: { kind: { enum: ['user', 'group'] }, id: { type: 'string' }, name: { type: 'string' } },
  },
} as const

const CASE_TEAM = {
  type: 'object',
  required: ['caseId', 'owner', 'team'],
  properties: { caseId: { type: 'string' }, owner: PERSON, team: TEAM },
} as const

const ACCESS_LEVEL = { enum: ['view', 'view-download', 'full'], description: 'full = import, apply updates or share onward.' } as const

const POLICY_SUMMARY = {
  type: 'object',
  required: ['id', 'version', 'name', 'permissions'],
  properties: {
    id: { type: 'string' },
    version: { type: 'integer' },
    name: { type: 'string' },
    permissions: { $ref: 'SharingPolicy#/properties/permissions' },
  },
} as const

export function caseAccessRoutes(app: LocalApi, ctx: NodeContext): void {
  app.get(
    '/cases/:id/team',
    {
      schema: {
        tags: ['cases'],
        summary: 'The owner and team of a case',
        params: paramsSchemas.id,
        response: { 200: { description: 'Owner and team', ...CASE_TEAM }, ...problems(400, 404) },
      },
    },
    async (request) => getCaseTeam(ctx, principalOf(request), request.params.id),
  )

  app.put(
    '/cases/:id/team',
    {
      schema: {
        tags: ['cases'],
        summary: 'Replace the team of a case (its owner or an administrator)',
        description: 'Team members (users, and members of groups) read and write the case, its folders, evidence and shares.',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['team'],
          properties: {
            team: {
              type: 'array',
              maxItems: MAX_TEAM_MEMBERS,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['kind', 'id'],
                properties: { kind: { enum: ['user', 'group'] }, id: { type: 'string', minLength: 1, maxLength: 200 } },
              },
            },
          },
        },
        response: { 200: { description: 'Owner and new team', ...CASE_TEAM }, ...problems(400, 403, 404) },
      },
    },
    async (request) => setCaseTeam(ctx, principalOf(request), request.params.id, request.body.team),
  )

  app.get(
    '/cases/:id/access',
    {
      schema: {
        tags: ['cases'],
        summary: 'Who has access to a case: the owner (marked as such), the team, each partner share with its recipients and access level, and each link share',
        params: paramsSchemas.id,
        response: {
          200: {
            description: 'Access overview',
            type: 'object',
            required: ['caseId', 'owner', 'team', 'shares', 'linkShares'],
            properties: {
              caseId: { type: 'string' },
              owner: PERSON,
              team: TEAM,
              shares: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['shareId', 'org', 'orgName', 'recipients', 'accessLevel', 'status', 'sharedBy', 'sharedOn', 'expiresAt'],
                  properties: {
                    shareId: { type: 'string' },
                    org: { type: 'string' },
                    orgName: { type: 'string' },
                    recipients: { type: 'array', items: ref('Recipient') },
                    accessLevel: ACCESS_LEVEL,
                    status: { enum: ['processing', 'retrying', 'delivered', 'rejected', 'failed', 'revoked', 'expired'] },
                    sharedBy: { type: 'string' },
                    sharedOn: seconds,
                    expiresAt: seconds,
                  },
                },
              },
              linkShares: { type: 'array', description: 'Link shares of the case (CW-LOC-036).', items: ref('LinkShare') },
            },
          },
          ...problems(400, 404),
        },
      },
    },
    async (request) => getCaseAccessOverview(ctx, principalOf(request), request.params.id),
  )

  app.get(
    '/cases/:id/import-details',
    {
      schema: {
        tags: ['cases'],
        summary: 'Where an imported case came from: sender, recipients, received-on date, access level, sharing policy and provenance chain',
        params: paramsSchemas.id,
        response: {
          200: {
            description: 'Import details',
            type: 'object',
            required: [
              'caseId',
              'inboundId',
              'senderOrg',
              'senderName',
              'recipients',
              'addedRecipients',
              'receivedAt',
              'importedAt',
              'accessLevel',
              'policy',
              'shareId',
              'revision',
              'provenance',
            ],
            properties: {
              caseId: { type: 'string' },
              inboundId: { type: 'string', description: 'The external case it was imported from.' },
              senderOrg: { type: 'string' },
              senderName: { type: 'string' },
              sharedBy: { type: 'string', description: 'Display name of the person at the sender who shared (CW-MAN-005); absent for a 0.1 manifest.' },
              sharedById: { type: 'string', description: "The sender's opaque id of that person: meaningful to the sender's node only." },
              recipients: { type: 'array', items: ref('Recipient') },
              addedRecipients: ADDED_RECIPIENTS,
              receivedAt: seconds,
              importedAt: seconds,
              accessLevel: ACCESS_LEVEL,
              policy: POLICY_SUMMARY,
              shareId: { type: 'string', description: "The sender's share id." },
              revision: { type: 'integer' },
              shareStatus: {
                enum: ['receiving', 'complete', 'rejected', 'revoked', 'expired'],
                description: 'The external case now: revoked or expired means the sender withdrew it; the imported case stays but may not be shared onward.',
              },
              provenance: { type: 'array', description: 'The provenance chain, originator first (CW-PROV-001, CW-PROV-007).', items: ref('ProvenanceHop') },
            },
          },
          ...problems(400, 404),
        },
      },
    },
    async (request) => getImportDetails(ctx, principalOf(request), request.params.id),
  )

  app.post(
    '/cases/:id/import-details/recipients',
    {
      schema: {
        tags: ['cases'],
        summary:
          "Add users or groups of this organization as recipients of the external case an imported case came from, if the sender's policy permits it (CW-LOC-025)",
        description:
          'For a caller who may write the imported case and is a recipient of its external case, or an administrator. The same list as POST /external-cases/{id}/recipients; ' +
          'recorded on both the external case and the imported case; the added recipients are notified like the first ones. 403 CW_ERR_ACTION_NOT_ALLOWED when the policy withholds addRecipients.',
        params: paramsSchemas.id,
        body: ADD_RECIPIENTS_BODY,
        response: { 200: ADDED_RECIPIENTS_ANSWER, ...problems(400, 403, 404, 410) },
      },
    },
    async (request) => addImportRecipients(ctx, principalOf(request), request.params.id, request.body),
  )
}
