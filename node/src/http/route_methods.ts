/**
 * The methods each path of a listener answers, so that a known path asked with another method
 * is a `405` naming the methods it has (SPEC.md CW-LOC-029), not the `404` of a path that does
 * not exist. Filled by an `onRoute` hook, asked by the not-found handler.
 *
 * @module
 */
import type { RouteOptions } from 'fastify'

interface PathMethods {
  pattern: RegExp
  methods: Set<string>
}

/** `/api/v1/cases/:id` → a pattern matching one non-empty segment per parameter. */
function pathPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}

export class RouteMethods {
  readonly #paths = new Map<string, PathMethods>()

  /** `onRoute` hook: remembers the route's methods under its URL pattern. */
  readonly onRoute = (route: Pick<RouteOptions, 'method' | 'url'>): void => {
    let entry = this.#paths.get(route.url)
    if (entry === undefined) {
      entry = { pattern: pathPattern(route.url), methods: new Set() }
      this.#paths.set(route.url, entry)
    }
    for (const method of [route.method].flat()) entry.methods.add(method)
  }

  /** The methods some route answers on `path` (without query), sorted; empty for an unknown path. */
  allowed(path: string): string[] {
    const methods = new Set<string>()
    for (const { pattern, methods: those } of this.#paths.values()) {
      if (pattern.test(path)) for (const method of those) methods.add(method)
    }
    return [...methods].sort()
  }
}
