import type { Readable } from 'node:stream';

/**
 * A Docker stream read one chunk at a time, so it is read only as fast as the loop over it goes:
 * while the loop waits for its gRPC client, the stream stays paused (Node stops reading the
 * socket once the stream's buffer is full). Ends quietly when the call's signal aborts; the
 * stream is destroyed whichever way the loop ends.
 */
export async function* chunksOf(source: Readable, signal: AbortSignal): AsyncGenerator<Buffer> {
  const stop = (): void => void source.destroy();
  signal.addEventListener('abort', stop, { once: true });
  // The call may have ended while Docker was answering: the listener above would never fire.
  if (signal.aborted) stop();
  try {
    // Docker answers bytes; a hollow engine may answer strings.
    for await (const chunk of source as AsyncIterable<Buffer | string>) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  } catch (err) {
    // Destroyed because the call ended: not a failure of the stream.
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', stop);
    source.destroy();
  }
}
