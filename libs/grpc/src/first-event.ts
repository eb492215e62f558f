/** What `firstEvent` needs of an emitter: a stream, a call. */
export interface EventSource {
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Resolves when `source` emits any of `events`, or `signal` aborts; every listener it added is
 * removed either way, so waiting again and again on a long-lived stream leaves nothing behind.
 */
export function firstEvent(source: EventSource, events: readonly string[], signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of events) source.off(event, done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    for (const event of events) source.once(event, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
