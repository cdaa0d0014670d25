/**
 * PKI tooling: organization CA, node TLS certificate, signing certificate, partner bundles.
 *
 * @module
 */
export * from './issue.ts'
