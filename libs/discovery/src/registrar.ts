/** What one registration attempt did. */
export type RegistrationOutcome = 'registered' | 'renewed';

/**
 * A backend that engines can register themselves in, with a time to live (only key-value stores:
 * etcd). Registration is renewed by calling `register` again before the TTL runs out.
 */
export interface Registrar {
  readonly source: string;
  /** Registers the address, or renews its registration; the entry lapses `ttlMs` after the last call. */
  register(address: string, ttlMs: number): Promise<RegistrationOutcome>;
  /** Removes the address now rather than after its TTL. */
  deregister(address: string): Promise<void>;
  close(): Promise<void>;
}
