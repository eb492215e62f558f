/**
 * A version number that grows with every change of what discovery shows, and a way to wait for
 * the next change. WatchEntries readers send the whole state each time, so one that falls behind
 * simply skips to the latest state instead of queueing every intermediate one.
 */
export class StateFeed {
  private current = 0;
  private waiters = new Set<() => void>();

  get version(): number {
    return this.current;
  }

  bump(): void {
    this.current++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next change, or when `signal` aborts. */
  next(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Readers waiting for the next change. */
  get waiting(): number {
    return this.waiters.size;
  }
}
