import { silentLogger, type Logger } from '@flotilla/grpc';
import { FailedPreconditionError } from '@flotilla/errors';
import { backoffDelay, systemClock, type BackoffOptions, type Clock, type Timer } from '@flotilla/time';
import type { DiscoveryBackend, DiscoveryListener } from './backend';
import type { RawEntry } from './entries';
import { entriesUpdate } from './entries-update';
import type { KeyChange, KeyValueStore, StoreWatch } from './key-value-store';

export interface EtcdBackendOptions {
  /** The discovery URI without credentials. */
  source: string;
  /** The key prefix from the URI, e.g. `/flotilla`; engines are the keys `/flotilla/HOST:PORT`. */
  prefix: string;
  store: KeyValueStore;
  clock?: Clock;
  logger?: Logger;
  /** Back-off between attempts while etcd is unreachable. Default 200 ms to 5 s. */
  retry?: BackoffOptions;
  /** The safety net: the prefix is listed afresh this often even when the watch is quiet. Default 60 s. */
  resyncIntervalMs?: number;
  random?: () => number;
}

/** Keys are `<prefix>/<HOST:PORT>`; the key, not the value, names the engine. */
export function etcdKeyPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/`;
}

/**
 * Engines registered in etcd under a prefix, each key with a lease (see EtcdRegistrar). The
 * backend lists the prefix, then watches it from the listed revision; an entry whose lease lapses
 * is deleted by etcd and disappears from the set. When etcd is unreachable (or the watch breaks)
 * it reports an error, so the last good set stands, and starts over with back-off: list, watch.
 */
export class EtcdBackend implements DiscoveryBackend {
  readonly source: string;
  private readonly keyPrefix: string;
  private readonly store: KeyValueStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retry: BackoffOptions;
  private readonly resyncIntervalMs: number;
  private readonly random: () => number;
  private listener: DiscoveryListener | undefined;
  private readonly entries = new Map<string, string>();
  private current: StoreWatch | undefined;
  /** Counts cycles, so a late callback of an abandoned cycle changes nothing. */
  private cycleId = 0;
  private failures = 0;
  private timer: Timer | undefined;
  private closed = false;

  constructor(options: EtcdBackendOptions) {
    this.source = options.source;
    this.keyPrefix = etcdKeyPrefix(options.prefix);
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.retry = options.retry ?? { initialMs: 200, maxMs: 5000 };
    this.resyncIntervalMs = options.resyncIntervalMs ?? 60_000;
    this.random = options.random ?? Math.random;
  }

  watch(listener: DiscoveryListener): void {
    if (this.listener) throw new FailedPreconditionError('the etcd backend is already being watched');
    this.listener = listener;
    void this.cycle();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cycleId++;
    this.timer?.cancel();
    this.current?.cancel();
    this.current = undefined;
    this.store.close();
  }

  /** One cycle: list the prefix, then watch it; it lasts until the watch breaks or the resync is due. */
  private async cycle(): Promise<void> {
    if (this.closed) return;
    const id = ++this.cycleId;
    this.timer?.cancel();
    this.current?.cancel();
    this.current = undefined;
    try {
      const { revision, entries } = await this.store.list(this.keyPrefix);
      if (id !== this.cycleId) return;
      this.entries.clear();
      for (const { key, value } of entries) this.entries.set(key, value);
      this.emit();
      const watch = await this.store.watch(this.keyPrefix, revision, {
        changes: (changes) => {
          if (id === this.cycleId) this.apply(changes);
        },
        broken: (err) => {
          if (id === this.cycleId) this.fail(err);
        },
      });
      if (id !== this.cycleId) {
        watch.cancel();
        return;
      }
      this.current = watch;
      if (this.failures > 0) this.logger.info('etcd reachable again', { source: this.source });
      this.failures = 0;
      this.timer = this.clock.setTimeout(() => void this.cycle(), this.resyncIntervalMs);
    } catch (err) {
      if (id === this.cycleId) this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.cycleId++;
    this.current?.cancel();
    this.current = undefined;
    this.timer?.cancel();
    const delay = backoffDelay(this.failures++, this.retry, this.random);
    this.logger.debug('etcd read failed; retrying', { source: this.source, error: err.message, retryInMs: delay });
    this.listener?.({ kind: 'error', error: new FailedPreconditionError(`etcd: ${err.message}`) });
    this.timer = this.clock.setTimeout(() => void this.cycle(), delay);
  }

  private apply(changes: KeyChange[]): void {
    for (const change of changes) {
      if (change.type === 'put') this.entries.set(change.key, change.value);
      else this.entries.delete(change.key);
    }
    this.emit();
  }

  private emit(): void {
    if (this.closed) return;
    const raw: RawEntry[] = [];
    for (const key of [...this.entries.keys()].sort()) raw.push({ position: key, text: key.slice(this.keyPrefix.length), single: true });
    this.listener?.(entriesUpdate(`etcd prefix ${this.keyPrefix}`, raw));
  }
}
