/**
 * Large received manifests, parsed once and shared. A manifest of 100,000 items is 55 MB of
 * JSON: parsed for every read, each listing of external cases, each detail and each step of the
 * fetch job took a second of the event loop and hundreds of MB of heap, while the fetch job held
 * the same value all along. Here the value a row's text was written from, or first parsed into,
 * is handed to every read of that same text.
 *
 * An entry is found by the manifest's digest, the SHA-256 of its text (the signed payload, stored
 * as it came). Given the text read, it is used only if it is the text the entry was made from (a
 * string comparison: milliseconds, where parsing takes a second), so a shared value is always
 * exactly what parsing the row would give; a store may also leave a shared manifest's text unread
 * ({@link isShared}, {@link sharedManifest}): reading 55 MB from SQLite cost every listing of
 * external cases 0.1–0.3 s. An entry is frozen (a reader that changed it would change it for
 * all), kept while it is read and for {@link KEEP_MS} after; at most {@link MAX_SHARED} at once,
 * the least recently read dropped first — once the code running now is done, so that an entry a
 * query found shared is still there while its rows are read. Small manifests are parsed each
 * time: that costs less than keeping them.
 *
 * @module
 */

/** Manifests of at least this many characters of JSON are shared (about 2,000 items). */
export const SHARED_FROM_CHARS = 1024 * 1024

/** How long a shared manifest is kept after it was last read. */
const KEEP_MS = 30_000

/** Large manifests kept at once: two external cases being received and listed side by side. */
const MAX_SHARED = 2

interface Shared {
  text: string
  value: unknown
  timer: NodeJS.Timeout
}

const shared = new Map<string, Shared>()

/** The manifest stored as `text` (JSON), whose digest is `digest`: parsed, or shared. */
export function parsedManifest<T>(digest: string, text: string): T {
  if (text.length < SHARED_FROM_CHARS) return JSON.parse(text) as T
  const found = shared.get(digest)
  if (found !== undefined && found.text === text) return keep(digest, text, found.value) as T
  return keep(digest, text, deepFreeze(JSON.parse(text))) as T
}

/** True when the manifest whose digest is `digest` is shared: its text need not be read. */
export function isShared(digest: string): boolean {
  return shared.has(digest)
}

/**
 * The shared manifest whose digest is `digest`, which {@link isShared} said is shared earlier in
 * the code running now (entries are dropped only after it).
 *
 * @throws {Error} when it is not shared: a caller that did not ask first.
 */
export function sharedManifest<T>(digest: string): T {
  const found = shared.get(digest)
  if (found === undefined) throw new Error(`manifest ${digest} is not shared`)
  return keep(digest, found.text, found.value) as T
}

/**
 * The JSON text to store for `manifest` (digest `digest`). A large one is shared with the reads
 * of that text to come, and frozen: nothing may change it after.
 */
export function manifestJson(digest: string, manifest: object): string {
  // A manifest read from its text (a verified offer) is stored as that text, not serialized again.
  const found = shared.get(digest)
  if (found !== undefined && found.value === manifest) {
    keep(digest, found.text, manifest)
    return found.text
  }
  const text = JSON.stringify(manifest)
  if (text.length >= SHARED_FROM_CHARS) keep(digest, text, deepFreeze(manifest))
  return text
}

function keep(digest: string, text: string, value: unknown): unknown {
  const previous = shared.get(digest)
  if (previous !== undefined) {
    clearTimeout(previous.timer)
    shared.delete(digest)
  }
  const timer = setTimeout(() => {
    if (shared.get(digest)?.timer === timer) shared.delete(digest)
  }, KEEP_MS).unref()
  // Map order is the order of last reads: the first entry is the least recently read.
  shared.set(digest, { text, value, timer })
  if (shared.size > MAX_SHARED) queueMicrotask(dropLeastRecent)
  return value
}

function dropLeastRecent(): void {
  for (const [oldest, entry] of shared) {
    if (shared.size <= MAX_SHARED) break
    clearTimeout(entry.timer)
    shared.delete(oldest)
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const child of Object.values(value)) deepFreeze(child)
  return Object.freeze(value)
}
