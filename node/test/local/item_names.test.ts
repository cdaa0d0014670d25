/**
 * Item and folder names (SPEC.md CW-FMT-007): one path component, no control or bidirectional
 * characters — refused at upload like a partner's are at receipt — and a download's
 * Content-Disposition that offers only a safe last component, whatever is stored.
 */
import t from 'tap'
import { isItemName, safeFileName } from '#protocol'
import { contentDisposition } from '../../src/local/download.ts'
import { createTestApp } from '../support/local_app.ts'

const HOSTILE = {
  'path parts': '../../../../etc/cron.d/x',
  'a backslash path': '..\\..\\windows\\x.bat',
  'a right-to-left override': 'invoice\u202Efdp.exe',
  'a bidi isolate': 'a\u2066b.txt',
  'a left-to-right mark': 'a\u200Eb.txt',
  'a bell': 'ring\u0007.txt',
  'a line break': 'a\r\nContent-Type: text/html',
  'a C1 control': 'a\u0085b',
  'dot-dot': '..',
  dot: '.',
} as const

// spec: CW-FMT-007
t.test('the name rule refuses every hostile name and keeps ordinary ones', async (t) => {
  for (const [what, name] of Object.entries(HOSTILE)) t.notOk(isItemName(name), what)
  for (const name of ['Lobby camera (2).mp4', 'Zeugenaussage Müller.pdf', '報告.docx', '.hidden', 'a..b']) t.ok(isItemName(name), name)
  t.notOk(isItemName(''), 'empty')
  t.notOk(isItemName('x'.repeat(256)), 'too long')
  t.ok(isItemName('😀'.repeat(255)), '255 code points')
})

// spec: CW-FMT-007
t.test('Content-Disposition keeps only a safe last path component', async (t) => {
  t.equal(contentDisposition('../../../../etc/cron.d/x'), `attachment; filename="x"; filename*=UTF-8''x`)
  t.equal(contentDisposition('..\\..\\windows\\x.bat'), `attachment; filename="x.bat"; filename*=UTF-8''x.bat`)
  t.equal(contentDisposition('invoice\u202Efdp.exe'), `attachment; filename="invoicefdp.exe"; filename*=UTF-8''invoicefdp.exe`)
  t.equal(contentDisposition('a\r\nSet-Cookie: b.txt'), `attachment; filename="aSet-Cookie: b.txt"; filename*=UTF-8''aSet-Cookie%3A%20b.txt`)
  t.equal(contentDisposition('..'), `attachment; filename="download"; filename*=UTF-8''download`)
  t.equal(contentDisposition('dir/'), `attachment; filename="download"; filename*=UTF-8''download`)
  t.equal(
    contentDisposition('Zeugenaussage "Müller".pdf'),
    `attachment; filename="Zeugenaussage _M_ller_.pdf"; filename*=UTF-8''Zeugenaussage%20%22M%C3%BCller%22.pdf`,
  )
  for (const name of Object.values(HOSTILE)) {
    const header = contentDisposition(name)
    t.notMatch(header, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f]/u, `${JSON.stringify(name)}: no control or bidi character`)
    t.notMatch(header, /filename="[^"]*[/\\]/, `${JSON.stringify(name)}: no path separator in filename`)
    t.notMatch(safeFileName(name), /[/\\]/)
  }
})

// spec: CW-FMT-007
t.test('an upload or a folder with a hostile name is refused with 400 at /name', async (t) => {
  const ta = await createTestApp()
  t.teardown(() => ta.close())
  const theCase = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Names' } }, token: ta.memberToken })).json()
  for (const [what, name] of Object.entries(HOSTILE)) {
    const query = new URLSearchParams({ name, category: 'document' })
    const upload = await ta.call({
      method: 'POST',
      url: `/api/v1/cases/${theCase.id}/evidence?${query.toString()}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from('x'),
      token: ta.memberToken,
    })
    t.equal(upload.statusCode, 400, `upload: ${what}`)
    t.match(upload.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/name' })
    const folder = await ta.call({ method: 'POST', url: `/api/v1/cases/${theCase.id}/folders`, payload: { name }, token: ta.memberToken })
    t.equal(folder.statusCode, 400, `folder: ${what}`)
    t.match(folder.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/name' })
  }
  const listed = (await ta.call({ method: 'GET', url: `/api/v1/cases/${theCase.id}/evidence`, token: ta.memberToken })).json().evidence
  t.same(listed, [], 'nothing stored')
})
