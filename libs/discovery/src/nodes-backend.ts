import type { DiscoveryBackend, DiscoveryListener } from './backend';
import { entriesUpdate } from './entries-update';
import { listEntries } from './entries';

/** A fixed list (`nodes://h1:2375,h2:2375` or the bare list): read once, never changes. */
export class NodesBackend implements DiscoveryBackend {
  private closed = false;

  constructor(
    readonly source: string,
    private readonly list: string,
  ) {}

  watch(listener: DiscoveryListener): void {
    const update = entriesUpdate('the list', listEntries(this.list));
    // Asynchronously, as every other backend, so callers can finish wiring up first.
    queueMicrotask(() => {
      if (!this.closed) listener(update);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
