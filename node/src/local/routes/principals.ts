/**
 * Users and groups (administrators only): who the local API's tokens belong to, who share
 * recipients and case teams name.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { MAX_GROUP_MEMBERS } from '../../limits.ts'
import { createGroup, createUser, listGroups, listUsers, setGroupMembers, updateUser } from '../../access/principals.ts'
import { userActor } from '../../events.ts'
import { principalOf } from '../auth.ts'
import { problems, type LocalApi } from '../schemas.ts'

const principalId = { type: 'string', minLength: 1, maxLength: 200 } as const
const seconds = { type: 'integer', description: 'Unix time, seconds.' } as const

const USER = {
  type: 'object',
  required: ['id', 'name', 'email', 'badge', 'role', 'kind', 'disabled', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: ['string', 'null'] },
    badge: { type: ['string', 'null'] },
    role: { enum: ['admin', 'member'] },
    kind: { enum: ['user', 'service'] },
    disabled: { type: 'boolean' },
    createdAt: seconds,
    updatedAt: seconds,
  },
} as const

const GROUP = {
  type: 'object',
  required: ['id', 'name', 'createdAt', 'members'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: seconds, members: { type: 'array', items: { type: 'string' } } },
} as const

const USER_FIELDS = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  email: { type: ['string', 'null'], maxLength: 254 },
  badge: { type: ['string', 'null'], minLength: 1, maxLength: 64 },
  role: { enum: ['admin', 'member'] },
  kind: { enum: ['user', 'service'] },
  disabled: { type: 'boolean' },
} as const

const members = { type: 'array', maxItems: MAX_GROUP_MEMBERS, items: principalId } as const
const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: principalId } } as const

export function principalRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/users',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a user (a person, or a service account with kind "service")',
        body: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: principalId, ...USER_FIELDS } },
        response: { 201: { description: 'The new user', ...USER }, ...problems(400, 403, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createUser(ctx, request.body)),
  )

  app.get(
    '/users',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'List users',
        response: {
          200: { description: 'The users', type: 'object', required: ['users'], properties: { users: { type: 'array', items: USER } } },
          ...problems(403),
        },
      },
    },
    async () => ({ users: await listUsers(ctx) }),
  )

  app.patch(
    '/users/:id',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: "Change a user's name, e-mail, badge, role or kind, or disable it (its tokens are revoked: enabling it again revives none)",
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: USER_FIELDS },
        response: { 200: { description: 'The user as changed', ...USER }, ...problems(400, 403, 404) },
      },
    },
    async (request) => updateUser(ctx, request.params.id, request.body, userActor(principalOf(request).userId)),
  )

  app.post(
    '/groups',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a group of users',
        body: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: principalId, name: USER_FIELDS.name, members } },
        response: { 201: { description: 'The new group', ...GROUP }, ...problems(400, 403, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createGroup(ctx, request.body)),
  )

  app.get(
    '/groups',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'List groups with their members',
        response: {
          200: { description: 'The groups', type: 'object', required: ['groups'], properties: { groups: { type: 'array', items: GROUP } } },
          ...problems(403),
        },
      },
    },
    async () => ({ groups: await listGroups(ctx) }),
  )

  app.put(
    '/groups/:id/members',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Replace the members of a group',
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['members'], properties: { members } },
        response: { 200: { description: 'The group with its new members', ...GROUP }, ...problems(400, 403, 404) },
      },
    },
    async (request) => setGroupMembers(ctx, request.params.id, request.body.members),
  )
}
