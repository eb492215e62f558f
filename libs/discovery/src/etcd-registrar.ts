import { normaliseAddress } from './entries';
import { etcdKeyPrefix } from './etcd-backend';
import type { KeyValueStore } from './key-value-store';
import type { Registrar, RegistrationOutcome } from './registrar';

export interface EtcdRegistrarOptions {
  source: string;
  prefix: string;
  store: KeyValueStore;
}

/**
 * Registers engines in etcd as `swarm join --advertise` did: the key `<prefix>/<HOST:PORT>` (the
 * address as its value) is attached to a lease of the TTL; each `register` renews the lease, and
 * a lease that lapsed (the engine was not renewed in time, or etcd lost it) is replaced by a new
 * one and the key written again.
 */
export class EtcdRegistrar implements Registrar {
  readonly source: string;
  private readonly keyPrefix: string;
  private readonly store: KeyValueStore;
  private readonly leases = new Map<string, string>();

  constructor(options: EtcdRegistrarOptions) {
    this.source = options.source;
    this.keyPrefix = etcdKeyPrefix(options.prefix);
    this.store = options.store;
  }

  keyFor(address: string): string {
    return this.keyPrefix + normaliseAddress(address);
  }

  async register(address: string, ttlMs: number): Promise<RegistrationOutcome> {
    const key = this.keyFor(address);
    const lease = this.leases.get(key);
    if (lease !== undefined && (await this.store.keepAlive(lease))) return 'renewed';
    this.leases.delete(key);
    // etcd counts leases in whole seconds.
    const fresh = await this.store.grantLease(Math.max(1, Math.ceil(ttlMs / 1000)));
    try {
      await this.store.put(key, key.slice(this.keyPrefix.length), fresh);
    } catch (err) {
      await this.store.revokeLease(fresh).catch(() => undefined);
      throw err;
    }
    this.leases.set(key, fresh);
    return 'registered';
  }

  async deregister(address: string): Promise<void> {
    const key = this.keyFor(address);
    const lease = this.leases.get(key);
    this.leases.delete(key);
    await this.store.delete(key);
    if (lease !== undefined) await this.store.revokeLease(lease).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
