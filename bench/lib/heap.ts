/**
 * A node's memory as its own `/metrics` reports it (prom-client's default process metrics),
 * polled while a phase runs. Peak RSS alone cannot tell live objects from garbage V8 has not
 * collected yet or from native memory (issue 13: most of the manifest peak was neither live
 * objects nor Buffers); the heap figures at the RSS peak can.
 *
 * @module
 */
import { sleep } from './proc.ts'

/** MiB at the sample with the highest RSS, and the most heap used in any sample. */
export interface HeapPeak {
  rss_mb: number
  heap_total_mb: number
  heap_used_mb: number
  external_mb: number
  /** The most heap used in any sample (may be another sample than the RSS peak). */
  max_heap_used_mb: number
  samples: number
}

const METRICS = {
  rss: 'caseway_process_resident_memory_bytes',
  heapTotal: 'caseway_nodejs_heap_size_total_bytes',
  heapUsed: 'caseway_nodejs_heap_size_used_bytes',
  external: 'caseway_nodejs_external_memory_bytes',
} as const

/** Often enough to catch a peak that lasts a second, rarely enough not to cost the node. */
const POLL_MS = 250

function mib(bytes: number): number {
  return Math.round((bytes / 1024 ** 2) * 10) / 10
}

/** The unlabelled value of `name` in a Prometheus text exposition, if present. */
function gauge(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)`, 'm').exec(text)
  return match === null ? undefined : Number(match[1])
}

/** Polls `${baseUrl}/metrics` until the returned function is called; resolves with the peak (undefined if no sample had the figures). */
export function watchHeap(baseUrl: string): () => Promise<HeapPeak | undefined> {
  let stopped = false
  let peak: HeapPeak | undefined
  const poll = async (): Promise<void> => {
    while (!stopped) {
      try {
        const text = await (await fetch(`${baseUrl}/metrics`)).text()
        const [rss, heapTotal, heapUsed, external] = [METRICS.rss, METRICS.heapTotal, METRICS.heapUsed, METRICS.external].map((name) => gauge(text, name))
        if (rss !== undefined && heapTotal !== undefined && heapUsed !== undefined && external !== undefined) {
          const maxUsed = Math.max(peak?.max_heap_used_mb ?? 0, mib(heapUsed))
          const samples = (peak?.samples ?? 0) + 1
          peak =
            peak === undefined || mib(rss) > peak.rss_mb
              ? { rss_mb: mib(rss), heap_total_mb: mib(heapTotal), heap_used_mb: mib(heapUsed), external_mb: mib(external), max_heap_used_mb: maxUsed, samples }
              : { ...peak, max_heap_used_mb: maxUsed, samples }
        }
      } catch {
        // A sample missed (the node busy or stopping): the next one counts.
      }
      await sleep(POLL_MS)
    }
  }
  const polling = poll()
  return async () => {
    stopped = true
    await polling
    return peak
  }
}
