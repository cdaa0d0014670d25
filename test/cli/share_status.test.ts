/**
 * `caseway share status` shows whatever the node says of a share's progress: properties it does
 * not know by name (a newer node's counters, next attempt, last error, a status it has not seen)
 * are printed as they come, times as ISO dates; `--json` passes them through untouched. A
 * stand-in local API answers, so the test needs no node of a newer version.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { caseway } from '../support/cli.ts'

const share = {
  id: 'share-1',
  caseId: 'case-1',
  partnerOrg: 'county-da',
  scope: 'evidence',
  folderIds: [],
  evidenceIds: ['ev-1', 'ev-2'],
  message: null,
  recipients: [{ kind: 'email', id: 'dana@county-da.example' }],
  policy: { id: 'review', version: 2 },
  status: 'retrying',
  statusCode: 'CW_ERR_UNAVAILABLE',
  statusDetail: 'connection refused',
  revision: 1,
  createdBy: 'admin',
  createdAt: 1_764_900_000,
  updatedAt: 1_764_900_100,
  expiresAt: 1_765_000_000,
  nextAttemptAt: 1_764_900_200,
  progress: { chunksSent: 3, chunksTotal: 10 },
  lastError: null,
}

const requests: string[] = []
const server = createServer((request, response) => {
  requests.push(`${request.method} ${request.url} ${request.headers.authorization}`)
  response.setHeader('content-type', 'application/json')
  response.end(JSON.stringify({ shares: [share] }))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

t.test('share status prints the properties it does not know, and --json all of them', async (t) => {
  const [human, json] = await Promise.all([
    caseway(['share', 'status', 'case-1', '--url', url, '--token', 'cw_test']),
    caseway(['share', 'status', 'case-1', '--url', url, '--token', 'cw_test', '--json']),
  ])
  t.equal(human.code, 0, human.stderr)
  t.equal(
    human.stdout,
    [
      'share share-1',
      '  partner        county-da',
      '  status         retrying',
      '  code           CW_ERR_UNAVAILABLE',
      '  detail         connection refused',
      '  nextAttemptAt  2025-12-05T02:03:20Z',
      '  progress       {"chunksSent":3,"chunksTotal":10}',
      '  scope          evidence ev-1, ev-2',
      '  recipients     email:dana@county-da.example',
      '  policy         review@2',
      '  revision       1',
      '  created        2025-12-05T02:00:00Z by admin',
      '  updated        2025-12-05T02:01:40Z',
      '  expires        2025-12-06T05:46:40Z',
      '',
    ].join('\n'),
    'a null lastError is left out',
  )
  t.equal(json.code, 0, json.stderr)
  t.same(JSON.parse(json.stdout), [share])
  t.same(requests, ['GET /api/v1/shares?caseId=case-1 Bearer cw_test', 'GET /api/v1/shares?caseId=case-1 Bearer cw_test'])
})

t.test('a node that is not running is said to be so, exit 1', async (t) => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const result = await caseway(['share', 'status', 'case-1', '--url', `http://127.0.0.1:${port}`, '--token', 'cw_test'])
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^caseway: cannot reach the node at http://127\\.0\\.0\\.1:${port}: is it running\\? \\(.*\\)\\n$`))
})
