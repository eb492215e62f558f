/**
 * The few key-value operations the etcd backend and registrar need, so their logic can be tested
 * against an in-memory store and the etcd client stays at the edge (Etcd3Store).
 */
export interface KeyValue {
  key: string;
  value: string;
}

export type KeyChange = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

export interface StoreWatchHandlers {
  /** The changes of one revision or batch, in order. */
  changes(changes: KeyChange[]): void;
  /** The watch ended (connection lost, compacted, cancelled by the server); it will not resume. */
  broken(err: Error): void;
}

export interface StoreWatch {
  cancel(): void;
}

export interface KeyValueStore {
  /** Every key under the prefix, and the store revision they were read at. */
  list(prefix: string): Promise<{ revision: string; entries: KeyValue[] }>;
  /** Watches the prefix for changes after `revision`; resolves once the watch is in place. */
  watch(prefix: string, revision: string, handlers: StoreWatchHandlers): Promise<StoreWatch>;
  /** A new lease of `ttlSeconds`; its keys go when it is not renewed in time. */
  grantLease(ttlSeconds: number): Promise<string>;
  /** Renews a lease; false when it no longer exists (it expired or was revoked). */
  keepAlive(lease: string): Promise<boolean>;
  put(key: string, value: string, lease?: string): Promise<void>;
  delete(key: string): Promise<void>;
  revokeLease(lease: string): Promise<void>;
  close(): void;
}
