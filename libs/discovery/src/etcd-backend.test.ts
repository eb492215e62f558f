import { UnavailableError } from '@flotilla/errors';
import { FakeClock } from '@flotilla/time';
import type { DiscoveryUpdate } from './backend';
import { EtcdBackend } from './etcd-backend';
import { EtcdRegistrar } from './etcd-registrar';
import type { KeyValueStore, StoreWatch, StoreWatchHandlers } from './key-value-store';

/** An in-memory key-value store that can be made unreachable; pure logic, so a fake fits. */
class MemoryStore implements KeyValueStore {
  data = new Map<string, { value: string; lease?: string }>();
  leases = new Set<string>();
  down = false;
  lists = 0;
  watchers = new Set<StoreWatchHandlers>();
  private revision = 1;
  private nextLease = 1;

  private check(): void {
    if (this.down) throw new UnavailableError('connection refused');
  }
  async list(prefix: string) {
    this.lists++;
    this.check();
    const entries = [...this.data].filter(([k]) => k.startsWith(prefix)).map(([key, { value }]) => ({ key, value }));
    return { revision: String(this.revision), entries };
  }
  async watch(_prefix: string, _revision: string, handlers: StoreWatchHandlers): Promise<StoreWatch> {
    this.check();
    this.watchers.add(handlers);
    return { cancel: () => this.watchers.delete(handlers) };
  }
  async grantLease(): Promise<string> {
    this.check();
    const id = String(this.nextLease++);
    this.leases.add(id);
    return id;
  }
  async keepAlive(lease: string): Promise<boolean> {
    this.check();
    return this.leases.has(lease);
  }
  async put(key: string, value: string, lease?: string): Promise<void> {
    this.check();
    this.revision++;
    this.data.set(key, { value, lease });
    for (const w of this.watchers) w.changes([{ type: 'put', key, value }]);
  }
  async delete(key: string): Promise<void> {
    this.check();
    this.revision++;
    this.data.delete(key);
    for (const w of this.watchers) w.changes([{ type: 'delete', key }]);
  }
  async revokeLease(lease: string): Promise<void> {
    this.leases.delete(lease);
    for (const [key, v] of [...this.data]) if (v.lease === lease) await this.delete(key);
  }
  /** The lease lapses: etcd deletes its keys. */
  async expire(lease: string): Promise<void> {
    await this.revokeLease(lease);
  }
  breakWatches(): void {
    this.down = true;
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.broken(new UnavailableError('the etcd watch failed: connection reset'));
    }
  }
  close(): void {}
}

function setup() {
  const clock = new FakeClock(0);
  const store = new MemoryStore();
  const backend = new EtcdBackend({ source: 'etcd://x:2379/f', prefix: '/f', store, clock, retry: { initialMs: 100, maxMs: 1000 }, resyncIntervalMs: 60_000, random: () => 0.5 });
  const updates: DiscoveryUpdate[] = [];
  const last = () => updates.at(-1);
  const addresses = () => {
    const u = [...updates].reverse().find((x) => x.kind === 'entries');
    return u?.kind === 'entries' ? u.entries.addresses : undefined;
  };
  return { clock, store, backend, updates, last, addresses };
}

describe('EtcdBackend', () => {
  it('lists, then follows changes; an expired lease removes its engine', async () => {
    const { clock, store, backend, updates, addresses } = setup();
    await store.put('/f/a:1', 'a:1');
    backend.watch((u) => updates.push(u));
    await clock.advance(0);
    expect(addresses()).toEqual(['a:1']);
    const registrar = new EtcdRegistrar({ source: 'etcd://x:2379/f', prefix: '/f', store });
    await registrar.register('b:1', 5000);
    expect(addresses()).toEqual(['a:1', 'b:1']);
    await store.expire([...store.leases][0]);
    expect(addresses()).toEqual(['a:1']);
    expect(await registrar.register('b:1', 5000)).toBe('registered');
    expect(addresses()).toEqual(['a:1', 'b:1']);
    await backend.close();
  });

  it('reports an unreachable etcd as an error and retries with back-off, then lists afresh', async () => {
    const { clock, store, backend, updates, last, addresses } = setup();
    await store.put('/f/a:1', 'a:1');
    backend.watch((u) => updates.push(u));
    await clock.advance(0);
    expect(addresses()).toEqual(['a:1']);
    store.breakWatches();
    await clock.advance(0);
    expect(last()).toMatchObject({ kind: 'error' });
    const failure = last();
    expect(failure?.kind === 'error' && failure.error.message).toMatch(/^etcd: the etcd watch failed/);
    const listsWhileDown = store.lists;
    await clock.advance(100);
    await clock.advance(200);
    await clock.advance(400);
    expect(store.lists).toBe(listsWhileDown + 3);
    // While down, someone else changed the set; the fresh list after the outage sees it.
    store.down = false;
    await store.put('/f/b:1', 'b:1');
    await clock.advance(800);
    expect(addresses()).toEqual(['a:1', 'b:1']);
    expect(last()).toMatchObject({ kind: 'entries' });
    await backend.close();
  });

  it('lists afresh on the resync interval', async () => {
    const { clock, store, backend, updates } = setup();
    backend.watch((u) => updates.push(u));
    await clock.advance(0);
    expect(store.lists).toBe(1);
    await clock.advance(60_000);
    expect(store.lists).toBe(2);
    await backend.close();
    await clock.advance(120_000);
    expect(store.lists).toBe(2);
  });
});

describe('EtcdRegistrar', () => {
  it('renews a live lease, replaces a lapsed one, and deregisters', async () => {
    const store = new MemoryStore();
    const registrar = new EtcdRegistrar({ source: 's', prefix: '/f/', store });
    expect(await registrar.register('A.example:1', 2500)).toBe('registered');
    expect(store.data.get('/f/a.example:1')).toEqual({ value: 'a.example:1', lease: '1' });
    expect(await registrar.register('a.example:1', 2500)).toBe('renewed');
    await store.expire('1');
    expect(store.data.size).toBe(0);
    expect(await registrar.register('a.example:1', 2500)).toBe('registered');
    expect(store.data.get('/f/a.example:1')?.lease).toBe('2');
    await registrar.deregister('a.example:1');
    expect(store.data.size).toBe(0);
    expect(store.leases.size).toBe(0);
  });
});
