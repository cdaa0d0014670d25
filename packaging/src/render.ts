/**
 * The readable files of a package: VERIFY.txt, the table of contents (CSV, HTML) and the
 * audit trail rendering. Internal.
 *
 * @module
 */
import type { PackageEvidence } from './contents.ts'

export interface TocRow {
  path: string
  role: 'evidence' | 'transcript'
  item: PackageEvidence
  originalName: string
}

function iso(seconds: number | undefined): string {
  return seconds === undefined ? '' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

/** Printable form of a hostile original name: control and bidi characters shown as `\u{…}`. */
export function visible(text: string): string {
  return text
    .toWellFormed()
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)
}

/** A CSV cell (RFC 4180), with formula-leading text neutralized for spreadsheet programs. */
function cell(text: string): string {
  const value = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

const CSV_HEADER = ['package path', 'original name', 'original folder', 'kind', 'size', 'sha256', 'category', 'created', 'uploaded', 'uploader', 'evidence id']

export function renderTocCsv(rows: readonly TocRow[]): string {
  const lines = [CSV_HEADER.join(',')]
  for (const { path, role, item, originalName } of rows) {
    lines.push(
      [
        path,
        visible(originalName),
        item.folders.map(visible).join(' / '),
        role,
        String(item.size),
        item.sha256.slice(7),
        item.category ?? '',
        iso(item.createdAt),
        iso(item.uploadedAt),
        item.uploadedBy ?? '',
        item.id,
      ]
        .map(cell)
        .join(','),
    )
  }
  return lines.join('\r\n') + '\r\n'
}

function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function renderTocHtml(
  rows: readonly TocRow[],
  input: { packageId: string; createdAt: number; sender: { name: string; org: string; user?: string }; case: { id: string; fields: Record<string, string> } },
): string {
  const fields = Object.entries(input.case.fields)
    .map(([k, v]) => `<tr><th>${html(k)}</th><td>${html(visible(v))}</td></tr>`)
    .join('\n')
  const body = rows
    .map(
      ({ path, role, item, originalName }) =>
        `<tr><td><a href="${html(path.split('/').map(encodeURIComponent).join('/'))}">${html(path)}</a></td><td dir="ltr">${html(visible(originalName))}</td><td>${html(item.folders.map(visible).join(' / '))}</td><td>${role}</td><td>${item.size}</td><td><code>${item.sha256.slice(7)}</code></td><td>${html(item.category ?? '')}</td><td>${iso(item.createdAt)}</td><td>${iso(item.uploadedAt)}</td><td>${html(item.uploadedBy ?? '')}</td></tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Case package ${html(input.packageId)}</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}code{font-size:80%}</style></head>
<body>
<h1>Case package ${html(input.packageId)}</h1>
<p>Sent by ${html(input.sender.name)} (${html(input.sender.org)})${input.sender.user === undefined ? '' : `, ${html(input.sender.user)}`}, on ${iso(input.createdAt)}. See VERIFY.txt to check that nothing changed.</p>
<table>
${fields}
</table>
<h2>Contents</h2>
<table>
<tr><th>Package path</th><th>Original name</th><th>Original folder</th><th>Kind</th><th>Size (bytes)</th><th>SHA-256</th><th>Category</th><th>Created</th><th>Uploaded</th><th>Uploader</th></tr>
${body}
</table>
</body></html>
`
}

export function renderAuditText(entries: readonly Record<string, unknown>[]): string {
  const lines = ['Audit trail (hash chain; the entries are in audit-trail.jsonl, one per line)', '']
  for (const entry of entries) {
    const at = typeof entry['at'] === 'number' ? iso(entry['at']) : String(entry['at'])
    const actor = JSON.stringify(entry['actor'])
    lines.push(
      `${String(entry['seq']).padStart(6)}  ${at}  ${visible(String(entry['type'])).padEnd(24)}  ${visible(actor)}  ${visible(JSON.stringify(entry['data'] ?? {}))}`,
    )
  }
  return lines.join('\n') + '\n'
}

/**
 * VERIFY.txt. Lines that start with `    $ ` are commands; a test runs them, in order, in an
 * extracted package, so they stay correct.
 */
export function renderVerifyText(input: { sender: string; org: string }): string {
  return `HOW TO CHECK THIS CASE PACKAGE
==============================

This package was sent by ${input.sender} (organization id ${input.org}) through Caseway.
It proves by itself who sent it and that no file changed since it was sent.

You need the sender's CA fingerprint, which you received separately (in the e-mail
with the download link, or by telephone). It looks like sha256:4f1c...e9.
Never take the fingerprint from this package itself.

1. With Caseway (one command; works on the .zip, .tar or .iso file or on this folder)

    caseway package verify case.zip --ca-fingerprint sha256:<the fingerprint you received>

   "verified" and exit status 0 mean the signature, every file and the audit trail are
   intact. Otherwise it names the first file that is wrong.

2. Without Caseway: OpenSSL and sha256sum, in this folder (after extracting the package)

   a. The sender's CA: compare this fingerprint with the one you received (ignore the
      colons and upper/lower case).

    $ openssl x509 -in ca.crt -noout -fingerprint -sha256

   b. The signing certificate was issued by that CA (expect "signing.crt: OK"):

    $ openssl verify -CAfile ca.crt signing.crt

   c. The signature over package-manifest.json is the sender's (expect "Verified OK").
      The signed text is the JWS header (the part of package-manifest.jws before the first
      dot), a dot, and package-manifest.json in base64url:

    $ cut -d. -f1 package-manifest.jws | tr -d '\\n' > signed-text
    $ printf . >> signed-text
    $ openssl base64 -A -in package-manifest.json | tr '+/' '-_' | tr -d '=\\n' >> signed-text
    $ openssl x509 -in signing.crt -pubkey -noout > signing-key.pem
    $ openssl dgst -sha256 -verify signing-key.pem -signature package-manifest.sig signed-text

   d. SHA256SUMS is the one the signed manifest names: the two digests must be equal.

    $ grep -o '"sha256sums":"sha256:[0-9a-f]*"' package-manifest.json
    $ sha256sum SHA256SUMS

   e. Every file is intact (expect "OK" on every line and no "FAILED"):

    $ sha256sum -c SHA256SUMS

   f. Nothing was added: every file in this folder other than package-manifest.jws,
      package-manifest.json, package-manifest.sig and SHA256SUMS must be listed in
      SHA256SUMS (the files made by step c, signed-text and signing-key.pem, are yours).

The table of contents (table-of-contents.html, .csv) maps each file to its original name.
`
}
