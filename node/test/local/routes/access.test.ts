/**
 * Object-level authorization on every case-scoped route (CW-LOC-002) and recipients-only
 * visibility of external cases (CW-LOC-001).
 *
 * The BOLA table below is driven by the routes the app registers: every route under /cases,
 * /evidence, /shares or /external-cases must have an entry, so a new route cannot ship without
 * saying (and proving) who may call it. For each entry, a user of this organization who is
 * neither owner, team member, recipient nor administrator calls it with the ids of another
 * user's objects and must get exactly the answer a random id gets: 404 CW_ERR_NOT_FOUND with
 * the same body (ids swapped), or 403 CW_ERR_FORBIDDEN on administrator-only routes. The
 * rightful caller gets through on the same request, so a 404 is never a broken request.
 */
import { randomUUID } from 'node:crypto'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { Recipient } from '#protocol'
import { createTestOrg } from '../../../../testkit/fixtures/orgs.ts'
import { insertInbound } from '../../support/inbound.ts'
import { createTestApp } from '../../support/local_app.ts'
import { linkPackageJobHandler } from '../../../src/links/link_package.ts'
import { JOB } from '../../../src/jobs/kinds.ts'
import { newJobRecord } from '../../../src/jobs/new_job_record.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const API = '/api/v1'

/** Creates a user (and its group memberships) and returns a token for it. */
async function userWithToken(id: string, fields: Record<string, unknown> = {}, role: 'admin' | 'member' = 'member'): Promise<string> {
  const user = await ta.call({ method: 'POST', url: `${API}/users`, payload: { id, name: id.toUpperCase(), role, ...fields } })
  if (user.statusCode !== 201) throw new Error(user.body)
  return (await ta.call({ method: 'POST', url: `${API}/tokens`, payload: { userId: id, role } })).json().token
}

const alice = await userWithToken('alice', { email: 'alice@county-pd.example', badge: 'B-100' })
const bob = await userWithToken('bob', { email: 'bob@county-pd.example', badge: 'B-200' })
const mallory = await userWithToken('mallory', { email: 'mallory@county-pd.example', badge: 'B-666' })
await ta.call({ method: 'POST', url: `${API}/groups`, payload: { id: 'robbery', name: 'Robbery unit', members: ['bob'] } })

const da = await createTestOrg('county-da')
await ta.call({ method: 'POST', url: `${API}/partners`, payload: { bundle: da.bundle, fingerprint: da.bundle.caFingerprint } })
await ta.call({ method: 'POST', url: `${API}/policies`, payload: policyBody({ id: 'da-policy' }) })
await ta.call({ method: 'PUT', url: `${API}/partners/county-da/policy`, payload: { policyId: 'da-policy' } })

/** Alice's objects: a case with a folder, evidence and a share; an external case for her, which she imported. */
async function aliceObjects() {
  const theCase = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Burglary' } }, token: alice })).json()
  const folder = (await ta.call({ method: 'POST', url: `${API}/cases/${theCase.id}/folders`, payload: { name: 'Photos' }, token: alice })).json()
  const evidence = (await upload(theCase.id, alice)).json()
  const share = (
    await ta.call({ method: 'POST', url: `${API}/shares`, payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' }, token: alice })
  ).json()
  // A second share for the revision routes (the revoke route ends the first one).
  const revised = (
    await ta.call({ method: 'POST', url: `${API}/shares`, payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' }, token: alice })
  ).json()
  // Two link shares, the first built (the download route needs its package), the second for the revoke route.
  const linkShare = async (): Promise<string> => {
    const payload = { recipient: { kind: 'local-user', value: 'alice' }, scope: 'case', format: 'zip' }
    return (await ta.call({ method: 'POST', url: `${API}/cases/${theCase.id}/link-shares`, payload, token: alice })).json().id
  }
  const linkShareId = await linkShare()
  await linkPackageJobHandler(ta.ctx)(newJobRecord(JOB.linkPackage, linkShareId, {}, 0), new AbortController().signal)
  const revokedLinkShareId = await linkShare()
  // Evidence of a case no share names, which its owner may delete (CW-LOC-040).
  const quiet = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Unshared' } }, token: alice })).json()
  const deletable = (await upload(quiet.id, alice)).json()
  const { record } = await insertInbound(ta.ctx, { recipients: [{ kind: 'user', id: 'alice' }] })
  const imported = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: alice })
  if (imported.statusCode !== 201) throw new Error(imported.body)
  return {
    caseId: theCase.id as string,
    folderId: folder.id as string,
    evidenceId: evidence.id as string,
    shareId: share.id as string,
    revisedShareId: revised.id as string,
    linkShareId,
    revokedLinkShareId,
    externalId: record.id,
    itemId: 'e1',
    importedCaseId: imported.json().id as string,
    deletableEvidenceId: deletable.id as string,
  }
}

function upload(caseId: string, token: string): Promise<LightMyRequestResponse> {
  return ta.call({
    method: 'POST',
    url: `${API}/cases/${caseId}/evidence?name=photo.jpg&category=photo&mediaType=image/jpeg`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from('not really a jpeg'),
    token,
  })
}

type Ids = Awaited<ReturnType<typeof aliceObjects>>

interface Entry {
  /** How the caller who is entitled (the owner; an administrator on admin-only routes) fares. */
  allowed: number
  /** `hidden`: the stranger gets the 404 a random id gets; `admin-only`: 403 by role; `list`: the stranger's list leaves the ids out; `create`: no object to protect. */
  stranger: 'hidden' | 'admin-only' | 'list' | 'create'
  request(ids: Ids): InjectOptions
}

const octet = { 'content-type': 'application/octet-stream' }
/** A batch upload of one planted file (CW-LOC-056). */
const BATCH_BOUNDARY = 'caseway-access-test'
const batchBody = [
  `--${BATCH_BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"name":"x.jpg","category":"photo"}\r\n`,
  `--${BATCH_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\nplanted\r\n`,
  `--${BATCH_BOUNDARY}--\r\n`,
].join('')

/** Every case-scoped route, in fastify's syntax. HEAD routes go with their GET. */
const TABLE: Record<string, Entry> = {
  'POST /api/v1/cases': { allowed: 201, stranger: 'create', request: () => ({ method: 'POST', url: `${API}/cases`, payload: { fields: {} } }) },
  'GET /api/v1/cases': { allowed: 200, stranger: 'list', request: () => ({ method: 'GET', url: `${API}/cases` }) },
  'GET /api/v1/cases/:id': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}` }) },
  'PATCH /api/v1/cases/:id': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'PATCH', url: `${API}/cases/${ids.caseId}`, payload: { fields: { title: 'Mine now' } } }),
  },
  'POST /api/v1/cases/:id/folders': {
    allowed: 201,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/cases/${ids.caseId}/folders`, payload: { name: 'Loot' } }),
  },
  'GET /api/v1/cases/:id/team': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/team` }) },
  'PUT /api/v1/cases/:id/team': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'PUT', url: `${API}/cases/${ids.caseId}/team`, payload: { team: [{ kind: 'user', id: 'mallory' }] } }),
  },
  'GET /api/v1/cases/:id/access': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/access` }) },
  'GET /api/v1/cases/:id/import-details': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.importedCaseId}/import-details` }),
  },
  'POST /api/v1/cases/:id/evidence': {
    allowed: 201,
    stranger: 'hidden',
    request: (ids) => ({
      method: 'POST',
      url: `${API}/cases/${ids.caseId}/evidence?name=x.jpg&category=photo`,
      headers: octet,
      payload: Buffer.from('planted'),
    }),
  },
  'POST /api/v1/cases/:id/evidence/batch': {
    allowed: 201,
    stranger: 'hidden',
    request: (ids) => ({
      method: 'POST',
      url: `${API}/cases/${ids.caseId}/evidence/batch`,
      headers: { 'content-type': `multipart/form-data; boundary=${BATCH_BOUNDARY}` },
      payload: batchBody,
    }),
  },
  'GET /api/v1/cases/:id/evidence': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/evidence` }) },
  'GET /api/v1/evidence/:id/content': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'GET', url: `${API}/evidence/${ids.evidenceId}/content` }),
  },
  'DELETE /api/v1/evidence/:id': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'DELETE', url: `${API}/evidence/${ids.deletableEvidenceId}` }),
  },
  'POST /api/v1/shares': {
    allowed: 201,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/shares`, payload: { caseId: ids.caseId, partnerOrg: 'county-da', scope: 'case' } }),
  },
  'GET /api/v1/shares': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/shares?caseId=${ids.caseId}` }) },
  'GET /api/v1/shares/:id': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/shares/${ids.shareId}` }) },
  'POST /api/v1/shares/:id/revoke': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/shares/${ids.shareId}/revoke`, payload: { reason: 'test' } }),
  },
  // spec: CW-LOC-034
  'POST /api/v1/cases/:id/link-shares': {
    allowed: 202,
    stranger: 'hidden',
    request: (ids) => ({
      method: 'POST',
      url: `${API}/cases/${ids.caseId}/link-shares`,
      payload: { recipient: { kind: 'local-user', value: 'alice' }, scope: 'case', format: 'tar' },
    }),
  },
  'GET /api/v1/cases/:id/link-shares': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/link-shares` }),
  },
  'GET /api/v1/link-shares/:id': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/link-shares/${ids.linkShareId}` }) },
  'POST /api/v1/link-shares/:id/revoke': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/link-shares/${ids.revokedLinkShareId}/revoke` }),
  },
  'GET /api/v1/link-shares/:id/package': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'GET', url: `${API}/link-shares/${ids.linkShareId}/package` }),
  },
  'GET /api/v1/external-cases': { allowed: 200, stranger: 'list', request: () => ({ method: 'GET', url: `${API}/external-cases` }) },
  'GET /api/v1/external-cases/:id': { allowed: 200, stranger: 'hidden', request: (ids) => ({ method: 'GET', url: `${API}/external-cases/${ids.externalId}` }) },
  'GET /api/v1/external-cases/:id/evidence/:itemId/content': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'GET', url: `${API}/external-cases/${ids.externalId}/evidence/${ids.itemId}/content` }),
  },
  // Revisions and updates: the share's case team writes; the external case's recipients read and apply (none pending here: 409).
  'POST /api/v1/shares/:id/update': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/shares/${ids.revisedShareId}/update`, payload: {} }),
  },
  'POST /api/v1/shares/:id/recipients': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/shares/${ids.revisedShareId}/recipients`, payload: { recipients: [{ kind: 'user', id: 'dana' }] } }),
  },
  'GET /api/v1/external-cases/:id/updates': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'GET', url: `${API}/external-cases/${ids.externalId}/updates` }),
  },
  'POST /api/v1/external-cases/:id/updates/apply': {
    allowed: 409,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/external-cases/${ids.externalId}/updates/apply`, payload: { revision: 2 } }),
  },
  // Onward sharing: recipients only; here the external share's policy decides the status.
  'POST /api/v1/external-cases/:id/share-onward': {
    allowed: 403,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/external-cases/${ids.externalId}/share-onward`, payload: { partnerOrg: 'county-da' } }),
  },
  // Adding recipients on the receiving side: recipients (and admins) only; this share's policy withholds it (403, CW-POL-008).
  'POST /api/v1/external-cases/:id/recipients': {
    allowed: 403,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/external-cases/${ids.externalId}/recipients`, payload: { recipients: [{ kind: 'user', id: 'bob' }] } }),
  },
  'POST /api/v1/cases/:id/import-details/recipients': {
    allowed: 403,
    stranger: 'hidden',
    request: (ids) => ({
      method: 'POST',
      url: `${API}/cases/${ids.importedCaseId}/import-details/recipients`,
      payload: { recipients: [{ kind: 'user', id: 'bob' }] },
    }),
  },
  'POST /api/v1/external-cases/:id/import': {
    allowed: 200,
    stranger: 'hidden',
    request: (ids) => ({ method: 'POST', url: `${API}/external-cases/${ids.externalId}/import` }),
  },
  // The audit trail is for administrators only (another part's routes, checked here by role).
  'GET /api/v1/cases/:id/audit': { allowed: 200, stranger: 'admin-only', request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/audit` }) },
  'GET /api/v1/cases/:id/audit/export': {
    allowed: 200,
    stranger: 'admin-only',
    request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/audit/export` }),
  },
  'GET /api/v1/cases/:id/audit/verify': {
    allowed: 200,
    stranger: 'admin-only',
    request: (ids) => ({ method: 'GET', url: `${API}/cases/${ids.caseId}/audit/verify` }),
  },
  'GET /api/v1/external-cases/:id/audit': {
    allowed: 200,
    stranger: 'admin-only',
    request: (ids) => ({ method: 'GET', url: `${API}/external-cases/${ids.externalId}/audit` }),
  },
  'GET /api/v1/external-cases/:id/audit/export': {
    allowed: 200,
    stranger: 'admin-only',
    request: (ids) => ({ method: 'GET', url: `${API}/external-cases/${ids.externalId}/audit/export` }),
  },
  'GET /api/v1/external-cases/:id/audit/verify': {
    allowed: 200,
    stranger: 'admin-only',
    request: (ids) => ({ method: 'GET', url: `${API}/external-cases/${ids.externalId}/audit/verify` }),
  },
}

const CASE_SCOPED = /^\/api\/v1\/(?:cases|evidence|shares|link-shares|external-cases)(?:\/|$)/

/** The registered case-scoped routes, each with its table entry (HEAD uses its GET's). */
function caseScopedRoutes(): Array<{ route: string; method: string; entry: Entry | undefined }> {
  return ta.routes
    .map((route) => {
      const [method, url] = route.split(' ') as [string, string]
      return { route, method, url }
    })
    .filter(({ url }) => CASE_SCOPED.test(url))
    .map(({ route, method, url }) => ({ route, method, entry: TABLE[method === 'HEAD' ? `GET ${url}` : route] }))
}

/** The body with every real id replaced by the random one at the same place. */
function swapIds(body: string, real: Ids, random: Ids): string {
  let swapped = body
  for (const key of Object.keys(real) as Array<keyof Ids>) {
    if (real[key] !== random[key]) swapped = swapped.replaceAll(real[key], random[key])
  }
  return swapped
}

const ids = await aliceObjects()
const random: Ids = {
  caseId: randomUUID(),
  folderId: randomUUID(),
  evidenceId: randomUUID(),
  shareId: randomUUID(),
  revisedShareId: randomUUID(),
  linkShareId: randomUUID(),
  revokedLinkShareId: randomUUID(),
  externalId: randomUUID(),
  itemId: 'e1',
  importedCaseId: randomUUID(),
  deletableEvidenceId: randomUUID(),
}

// spec: CW-LOC-002
t.test('every case-scoped route is in the BOLA table', async (t) => {
  const routes = caseScopedRoutes()
  t.ok(routes.length >= 20, `${routes.length} case-scoped routes registered`)
  for (const { route, entry } of routes) {
    t.ok(entry, `${route} is in the table: add it, with who may call it, to node/test/local/routes/access.test.ts`)
  }
})

// spec: CW-LOC-002, CW-LOC-001
t.test("a member of this organization gets, for another user's objects, exactly what a random id gets", async (t) => {
  const events = ta.events.length
  for (const { route, method, entry } of caseScopedRoutes()) {
    if (entry === undefined) continue
    const real = { ...entry.request(ids), method } as InjectOptions
    const fake = { ...entry.request(random), method } as InjectOptions
    const attempt = await ta.call({ ...real, token: mallory })
    switch (entry.stranger) {
      case 'hidden': {
        const baseline = await ta.call({ ...fake, token: mallory })
        t.equal(attempt.statusCode, 404, `${route}: 404`)
        t.equal(baseline.statusCode, 404, `${route}: 404 for a random id`)
        if (method !== 'HEAD') {
          t.equal(attempt.json().code, 'CW_ERR_NOT_FOUND', `${route}: CW_ERR_NOT_FOUND`)
          t.equal(swapIds(attempt.body, ids, random), baseline.body, `${route}: the same body as for a random id`)
          t.same(attempt.headers['content-type'], baseline.headers['content-type'])
        }
        break
      }
      case 'admin-only':
        t.equal(attempt.statusCode, 403, `${route}: 403`)
        if (method !== 'HEAD') t.equal(attempt.json().code, 'CW_ERR_FORBIDDEN', `${route}: CW_ERR_FORBIDDEN`)
        break
      case 'list':
        t.equal(attempt.statusCode, 200, route)
        if (method !== 'HEAD') {
          // Only the UUIDs: a short id such as an item id may occur inside a random UUID of the body.
          for (const id of Object.values(ids).filter((value) => value.length === 36)) t.notMatch(attempt.body, id, `${route} does not list ${id}`)
        }
        break
      case 'create':
        t.equal(attempt.statusCode, entry.allowed, route)
        break
    }
  }
  // Nothing changed hands: mallory is on no team, alice's case keeps its title.
  t.same((await ta.ctx.store.cases.getAccess(ids.caseId))?.team, [])
  t.same((await ta.ctx.store.cases.get(ids.caseId))?.fields, { title: 'Burglary' })
  const refused = ta.events.slice(events).filter((event) => event.type === 'action.refused')
  t.ok(refused.length >= 10, 'the attempts are recorded as refused actions')
  t.ok(refused.every((event) => event.actor.kind === 'user' && event.actor.id === 'mallory' && event.code === 'CW_ERR_NOT_FOUND'))
})

// spec: CW-LOC-002
t.test('the same requests succeed for the rightful caller', async (t) => {
  for (const { route, method, entry } of caseScopedRoutes()) {
    if (entry === undefined) continue
    const token = entry.stranger === 'admin-only' ? ta.adminToken : alice
    const response = await ta.call({ ...entry.request(ids), method, token } as InjectOptions & { token: string })
    t.equal(response.statusCode, entry.allowed, `${route} (${response.body.slice(0, 120)})`)
  }
  // The owner's team request above made mallory a team member: now mallory gets in.
  t.equal((await ta.call({ method: 'GET', url: `${API}/cases/${ids.caseId}`, token: mallory })).statusCode, 200)
  await ta.call({ method: 'PUT', url: `${API}/cases/${ids.caseId}/team`, payload: { team: [] }, token: alice })
  t.equal((await ta.call({ method: 'GET', url: `${API}/cases/${ids.caseId}`, token: mallory })).statusCode, 404)
})

// spec: CW-LOC-002
t.test('the team reads and writes the case; only the owner or an administrator changes the team', async (t) => {
  const theCase = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Team case' } }, token: alice })).json()
  const set = await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'group', id: 'robbery' }] }, token: alice })
  t.equal(set.statusCode, 200)
  t.same(set.json(), { caseId: theCase.id, owner: { userId: 'alice', name: 'ALICE' }, team: [{ kind: 'group', id: 'robbery', name: 'Robbery unit' }] })
  // bob is in the group: he reads, writes, uploads, shares.
  t.equal((await ta.call({ method: 'GET', url: `${API}/cases/${theCase.id}`, token: bob })).statusCode, 200)
  t.equal((await ta.call({ method: 'PATCH', url: `${API}/cases/${theCase.id}`, payload: { fields: { tags: ['x'] } }, token: bob })).statusCode, 200)
  const uploaded = await upload(theCase.id, bob)
  t.equal(uploaded.statusCode, 201)
  t.equal((await ta.call({ method: 'GET', url: `${API}/evidence/${uploaded.json().id}/content`, token: bob })).statusCode, 200)
  t.ok((await ta.call({ method: 'GET', url: `${API}/cases`, token: bob })).json().cases.some((c: { id: string }) => c.id === theCase.id))
  // …but does not manage the team: 403, since he can see the case anyway.
  const manage = await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'user', id: 'mallory' }] }, token: bob })
  t.equal(manage.statusCode, 403)
  t.equal(manage.json().code, 'CW_ERR_FORBIDDEN')
  // An administrator administers every case.
  t.equal((await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'user', id: 'bob' }] } })).statusCode, 200)
  t.match(
    (await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'group', id: 'ghosts' }] }, token: alice })).json(),
    { code: 'CW_ERR_BAD_REQUEST', at: '/team/0/id' },
  )
  // Removed from the group, bob no longer sees cases shared with the group alone.
  await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'group', id: 'robbery' }] }, token: alice })
  await ta.call({ method: 'PUT', url: `${API}/groups/robbery/members`, payload: { members: [] } })
  t.equal((await ta.call({ method: 'GET', url: `${API}/cases/${theCase.id}`, token: bob })).statusCode, 404)
  await ta.call({ method: 'PUT', url: `${API}/groups/robbery/members`, payload: { members: ['bob'] } })
})

// spec: CW-LOC-002
t.test('who has access: owner, team and each share with its recipients and access level', async (t) => {
  const theCase = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Shared' } }, token: alice })).json()
  await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'user', id: 'bob' }] }, token: alice })
  const recipients: Recipient[] = [
    { kind: 'email', id: 'ada@county-da.example' },
    { kind: 'badge', id: 'DA-7' },
  ]
  const share = (
    await ta.call({ method: 'POST', url: `${API}/shares`, payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', recipients }, token: alice })
  ).json()
  const plain = (
    await ta.call({ method: 'POST', url: `${API}/shares`, payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' }, token: alice })
  ).json()
  const access = await ta.call({ method: 'GET', url: `${API}/cases/${theCase.id}/access`, token: bob })
  t.equal(access.statusCode, 200)
  t.same(access.json(), {
    caseId: theCase.id,
    owner: { userId: 'alice', name: 'ALICE' },
    team: [{ kind: 'user', id: 'bob', name: 'BOB' }],
    linkShares: [],
    shares: [
      {
        shareId: share.id,
        org: 'county-da',
        orgName: 'Org county-da',
        recipients,
        accessLevel: 'full',
        status: 'processing',
        sharedBy: 'alice',
        sharedOn: share.createdAt,
        expiresAt: share.expiresAt,
      },
      {
        shareId: plain.id,
        org: 'county-da',
        orgName: 'Org county-da',
        recipients: [{ kind: 'agency', id: 'county-da' }],
        accessLevel: 'full',
        status: 'processing',
        sharedBy: 'alice',
        sharedOn: plain.createdAt,
        expiresAt: plain.expiresAt,
      },
    ],
  })
  t.same(plain.recipients, [{ kind: 'agency', id: 'county-da' }], 'a share without recipients names the entire partner agency')
  const other = await ta.call({
    method: 'POST',
    url: `${API}/shares`,
    payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', recipients: [{ kind: 'agency', id: 'other-org' }] },
    token: alice,
  })
  t.match(other.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/recipients/0/id' })
})

// spec: CW-LOC-001
t.test('an external case is visible to its recipients only: user, group, e-mail, badge, entire agency', async (t) => {
  const cases: Array<{ recipients: Recipient[] | undefined; sees: string[] }> = [
    { recipients: [{ kind: 'user', id: 'alice' }], sees: ['alice'] },
    { recipients: [{ kind: 'group', id: 'robbery' }], sees: ['bob'] },
    { recipients: [{ kind: 'email', id: 'BOB@county-pd.example' }], sees: ['bob'] },
    { recipients: [{ kind: 'badge', id: 'B-100' }], sees: ['alice'] },
    { recipients: [{ kind: 'agency', id: ta.ctx.identity.org }], sees: ['alice', 'bob', 'mallory'] },
    { recipients: undefined, sees: ['alice', 'bob', 'mallory'] },
    {
      recipients: [
        { kind: 'agency', id: 'another-org' },
        { kind: 'user', id: 'nobody' },
      ],
      sees: [],
    },
  ]
  const tokens: Record<string, string> = { alice, bob, mallory }
  for (const { recipients, sees } of cases) {
    const { record } = await insertInbound(ta.ctx, recipients === undefined ? {} : { recipients })
    const label = JSON.stringify(recipients ?? 'none')
    const missing = randomUUID()
    for (const [user, token] of Object.entries(tokens)) {
      const listed = (await ta.call({ method: 'GET', url: `${API}/external-cases`, token }))
        .json()
        .externalCases.some((c: { id: string }) => c.id === record.id)
      const shown = await ta.call({ method: 'GET', url: `${API}/external-cases/${record.id}`, token })
      if (sees.includes(user)) {
        t.ok(listed, `${user} lists ${label}`)
        t.equal(shown.statusCode, 200, `${user} reads ${label}`)
        t.match(shown.json(), { access: 'recipient', case: { fields: { title: 'Robbery' } }, message: 'For review' })
      } else {
        t.notOk(listed, `${user} does not list ${label}`)
        const baseline = await ta.call({ method: 'GET', url: `${API}/external-cases/${missing}`, token })
        t.equal(shown.statusCode, 404, `${user} gets 404 for ${label}`)
        t.equal(shown.body.replaceAll(record.id, missing), baseline.body, `${user}: the same answer as for a random id`)
      }
    }
  }
})

// spec: CW-LOC-001
t.test('an administrator sees external cases for administration: metadata, never content', async (t) => {
  const { record } = await insertInbound(ta.ctx, { recipients: [{ kind: 'user', id: 'alice' }] })
  const listed = (await ta.call({ method: 'GET', url: `${API}/external-cases` })).json().externalCases.find((c: { id: string }) => c.id === record.id)
  t.match(listed, {
    access: 'administration',
    sender: { org: 'county-da', name: 'County District Attorney' },
    recipients: [{ kind: 'user', id: 'alice' }],
    status: 'complete',
    policy: { id: 'da-policy', version: 3 },
    receivedAt: record.receivedAt,
  })
  const shown = await ta.call({ method: 'GET', url: `${API}/external-cases/${record.id}` })
  t.equal(shown.statusCode, 200)
  const body = shown.json()
  t.match(body, { access: 'administration', recipients: [{ kind: 'user', id: 'alice' }], policy: { permissions: { download: true } } })
  t.notOk('case' in body || 'evidence' in body || 'message' in body, 'no fields, folders, evidence or message')
  t.notMatch(shown.body, 'Robbery')
  const download = await ta.call({ method: 'GET', url: `${API}/external-cases/${record.id}/evidence/e1/content` })
  t.equal(download.statusCode, 404)
  const imported = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import` })
  t.equal(imported.statusCode, 404)
  t.notOk(
    ta.events.some((event) => event.type === 'case.viewed' && event.caseId === record.id),
    'administration is not a view',
  )
  // A recipient's view and download are recorded.
  await ta.call({ method: 'GET', url: `${API}/external-cases/${record.id}`, token: alice })
  const bytes = await ta.call({ method: 'GET', url: `${API}/external-cases/${record.id}/evidence/e1/content`, token: alice })
  t.equal(bytes.statusCode, 200)
  t.ok(ta.events.some((event) => event.type === 'case.viewed' && event.caseId === record.id && event.actor.kind === 'user' && event.actor.id === 'alice'))
  t.ok(ta.events.some((event) => event.type === 'evidence.downloaded' && event.caseId === record.id && event.bytes === bytes.rawPayload.length))
})
