/**
 * What a fault is: one rule of SPEC.md broken in our node by a source mutation.
 *
 * @module
 */
import { ALL_TESTS } from '../../../conformance/src/all_tests.ts'
import type { ConformanceTest } from '../../../conformance/src/suite.ts'
import type { Edit, Mutation } from './mutation.ts'

export interface Fault {
  /** Stable id, kebab-case. */
  id: string
  /** The rule the mutation breaks, as a reader of the report needs it. */
  description: string
  /** Requirement IDs whose rule the mutation breaks. */
  spec: readonly string[]
  /** Source file relative to the repository root (node/src or protocol/src). */
  file: string
  /** Text that occurs exactly once in `file`. */
  find: string
  replace: string
  /**
   * Further edits, where our node enforces the same rule at a second place (defence in depth):
   * the fault removes the rule, not one of its guards.
   */
  also?: readonly Edit[]
  /** Conformance test ids expected to catch it; default every test citing one of `spec`. */
  tests?: readonly string[]
}

/** Every edit of a fault, the main one first. */
export function editsOf(fault: Fault): Edit[] {
  return [{ file: fault.file, find: fault.find, replace: fault.replace }, ...(fault.also ?? [])]
}

/** The mutation that injects `fault`. */
export function mutationOf(fault: Fault, marker?: string): Mutation {
  return { edits: editsOf(fault), ...(marker === undefined ? {} : { marker }) }
}

/** The conformance tests a fault is checked with; throws on a test id that does not exist. */
export function testsForFault(fault: Fault, all: readonly ConformanceTest[] = ALL_TESTS): ConformanceTest[] {
  if (fault.tests === undefined) return all.filter((test) => test.spec.some((id) => fault.spec.includes(id)))
  const unknown = fault.tests.filter((id) => !all.some((test) => test.id === id))
  if (unknown.length > 0) throw new Error(`names no such test: ${unknown.join(', ')}`)
  return all.filter((test) => fault.tests!.includes(test.id))
}
