/**
 * The refusal a partner's node answered, as the peer client reports it.
 */
import { PeerRefusal } from '../../src/peer/errors.ts'

/** Awaits `promise` and returns its `PeerRefusal`; fails when it settles any other way. */
export async function refusalOf(promise: Promise<unknown>): Promise<PeerRefusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof PeerRefusal)) throw new Error(`expected a PeerRefusal, got ${String(error)}`)
  return error
}
