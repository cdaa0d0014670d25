/**
 * The {@link ContentSummary} of a stream, without keeping its chunks.
 *
 * @module
 */
import { chunkStream, type ContentSummary } from './chunk_stream.ts'

/** Size, whole-file digest and chunk digests of `source` (SPEC.md CW-FMT-003), in one pass. */
export async function summarizeStream(source: AsyncIterable<Uint8Array>, chunkSize?: number): Promise<ContentSummary> {
  const chunks = chunkStream(source, chunkSize)
  for (;;) {
    const step = await chunks.next()
    if (step.done === true) return step.value
  }
}
