/**
 * The validity window of a leaf certificate: from a minute ago for `days`, but never past
 * its CA's own expiry (a leaf outliving its issuer would fail path validation anyway).
 *
 * @module
 */
import type { x509 } from '#protocol/x509'

const DAY_MS = 86_400_000

export function leafValidity(ca: x509.X509Certificate, now: Date, days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - 60_000)
  const wanted = now.getTime() + days * DAY_MS
  return { notBefore, notAfter: new Date(Math.min(wanted, ca.notAfter.getTime())) }
}
