/**
 * The optional control endpoints of SPEC.md §21 (EP-6..EP-8): the harness asks the target
 * to share with it, to add evidence to that share, and to revoke it. Used by the sender-role
 * tests when the operator runs with `--control`.
 *
 * @module
 */
import {
  assertControlRevisionAnswer,
  assertControlShareAnswer,
  FEDERATION_PATHS,
  type ControlItem,
  type ControlRevisionAnswer,
  type ControlShareAnswer,
  type ControlShareRequest,
} from '#protocol'
import { expectShape, expectStatus, jsonOf } from './check.ts'
import type { TargetClient } from './client.ts'

const json = (body: unknown) => ({ method: 'POST' as const, body: JSON.stringify(body), contentType: 'application/json' })

/** EP-6: the target creates a case with `request.items` and shares it with the harness. */
export async function requestShare(
  client: TargetClient,
  request: ControlShareRequest,
  note = 'control: share a new case with the harness',
): Promise<ControlShareAnswer> {
  const answer = expectStatus(await client.send(FEDERATION_PATHS.controlShares, { ...json(request), note }), [201], '(control endpoint EP-6)')
  return expectShape(jsonOf(answer), assertControlShareAnswer, 'an EP-6 answer (control-share-answer schema)', answer.request)
}

/** EP-8: the target adds evidence to the case of a control share (a new revision follows). */
export async function addEvidence(client: TargetClient, shareId: string, items: ControlItem[]): Promise<ControlRevisionAnswer> {
  const answer = expectStatus(
    await client.send(FEDERATION_PATHS.controlEvidence(shareId), { ...json({ items }), note: 'control: add evidence to the shared case' }),
    [200],
    '(control endpoint EP-8)',
  )
  return expectShape(jsonOf(answer), assertControlRevisionAnswer, 'an EP-8 answer (control-revision-answer schema)', answer.request)
}

/** EP-7: the target revokes a control share (its revocation follows on our EP-5). */
export async function revokeShare(client: TargetClient, shareId: string): Promise<void> {
  expectStatus(await client.send(FEDERATION_PATHS.controlRevoke(shareId), { ...json({}), note: 'control: revoke the share' }), [200], '(control endpoint EP-7)')
}
