import type { EntryProblem } from './entries';

/** One good read of the source: the addresses, and the entries that could not be used. */
export interface DiscoveryEntries {
  addresses: string[];
  problems: EntryProblem[];
}

/**
 * What a backend reports. `entries` is a whole, good read; `error` means the source could not be
 * read (missing file, unparseable file, etcd unreachable): whoever listens keeps the last good set
 * and the backend keeps trying.
 */
export type DiscoveryUpdate = { kind: 'entries'; entries: DiscoveryEntries } | { kind: 'error'; error: Error };

export type DiscoveryListener = (update: DiscoveryUpdate) => void;

/** Watches one discovery source. */
export interface DiscoveryBackend {
  /** The discovery URI, without credentials. */
  readonly source: string;
  /**
   * Starts watching: the listener hears the first read as soon as it is done, then every read
   * after a change (and periodic re-reads, which may repeat an unchanged set). One watch per
   * backend.
   */
  watch(listener: DiscoveryListener): void;
  /** Stops watching and releases connections and timers. */
  close(): Promise<void>;
}
