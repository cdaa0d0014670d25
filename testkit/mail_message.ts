/**
 * Reading an e-mail as an SMTP receiver got it: headers (with RFC 2047 encoded words) and a
 * text body (quoted-printable or base64). Shared by the demo's receiver and the tests'.
 *
 * @module
 */

/** Splits a raw message into lower-cased headers (folded lines joined) and its body. */
export function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n')
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, ' ')
  const headers = new Map<string, string>()
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return { headers, body: end < 0 ? '' : raw.slice(end + 4) }
}

/** RFC 2047 encoded words (UTF-8, Q or B). */
export function decodeWords(value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_m, encoding: string, text: string) =>
    encoding.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_q, hex: string) => String.fromCharCode(parseInt(hex, 16))),
          'latin1',
        ).toString('utf8'),
  )
}

/** A body in its content-transfer-encoding, as text. */
export function decodeBody(body: string, encoding: string): string {
  const text = body.replace(/\r\n/g, '\n')
  switch (encoding.toLowerCase()) {
    case 'quoted-printable': {
      const bytes = text.replace(/=\n/g, '').replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
      return Buffer.from(bytes, 'latin1').toString('utf8')
    }
    case 'base64':
      return Buffer.from(text, 'base64').toString('utf8')
    default:
      return text
  }
}
