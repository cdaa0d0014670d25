/**
 * Every conformance test, by suite group.
 *
 * @module
 */
export { TRANSPORT_TESTS } from './transport.ts'
export { RECEIVER_TESTS } from './receiver.ts'
export { REFUSAL_TESTS } from './refusals.ts'
export { REVISION_TESTS } from './revisions.ts'
export { CHAIN_TESTS } from './chains.ts'
export { REVOCATION_TESTS } from './revocation.ts'
export { SENDER_TESTS } from './sender.ts'
export { ROBUSTNESS_TESTS } from './robustness.ts'
export { POSSESSION_TESTS } from './possession.ts'
export { SPECTEXT_TESTS } from './spectext.ts'
export { RECIPIENT_TESTS } from './recipients.ts'
export { VERSION_TESTS } from './versions.ts'
export { EDGES_TESTS } from './edges.ts'
export { PACKAGE_TESTS } from './packages.ts'
export { BATCH_TESTS } from './batches.ts'
