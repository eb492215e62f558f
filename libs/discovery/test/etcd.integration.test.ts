import { createLogger } from '@flotilla/grpc';
import { cleanupAll, startEtcd, waitFor, type TestEtcd } from '@flotilla/testing';
import {
  createBackend,
  createRegistrar,
  Etcd3Store,
  parseDiscoveryUri,
  register,
  SourceState,
  type DiscoveryBackend,
  type Registrar,
  type RegistrationOutcome,
} from '../src';

// A real etcd (Debian's etcd-server, v3 API) started by this file, on its own ports and data dir.
let etcd: TestEtcd;
const closers: (() => Promise<void>)[] = [];
const quiet = createLogger({ level: 'error' });
let prefixCount = 0;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

afterAll(async () => {
  await cleanupAll();
});

/** A fresh prefix per test, so tests do not see each other's engines. */
function uri(): string {
  return `etcd://${etcd.endpoint}/flotilla/test-${++prefixCount}`;
}

function watchUri(text: string) {
  const backend: DiscoveryBackend = createBackend(parseDiscoveryUri(text), { logger: quiet, retry: { initialMs: 100, maxMs: 500 } });
  closers.push(() => backend.close());
  const state = new SourceState(backend.source);
  const seen: string[][] = [];
  backend.watch((update) => {
    state.apply(update);
    if (update.kind === 'entries') seen.push(update.entries.addresses);
  });
  const has = (expected: string[], what: string, timeoutMs = 15_000) =>
    waitFor(() => state.snapshot().generation > 0n && JSON.stringify([...state.snapshot().addresses].sort()) === JSON.stringify([...expected].sort()), { what, timeoutMs });
  return { backend, state, seen, has };
}

function registrarFor(text: string): Registrar {
  const registrar = createRegistrar(parseDiscoveryUri(text));
  closers.push(() => registrar.close());
  return registrar;
}

/** A registrar that counts what it did, around the real one. */
function counting(inner: Registrar) {
  const outcomes: RegistrationOutcome[] = [];
  const registrar: Registrar = {
    source: inner.source,
    register: async (address, ttlMs) => {
      const outcome = await inner.register(address, ttlMs);
      outcomes.push(outcome);
      return outcome;
    },
    deregister: (address) => inner.deregister(address),
    close: () => inner.close(),
  };
  return { registrar, outcomes };
}

function rawStore(): Etcd3Store {
  const store = new Etcd3Store({ hosts: [{ host: '127.0.0.1', port: Number(etcd.endpoint.split(':')[1]) }] });
  closers.push(async () => store.close());
  return store;
}

it('registers an engine under <prefix>/<host:port> with its address as the value, and the watch sees it', async () => {
  const u = uri();
  const { has } = watchUri(u);
  await has([], 'an empty prefix');
  const registrar = registrarFor(u);
  expect(await registrar.register('127.0.0.1:4250', 10_000)).toBe('registered');
  expect(await registrar.register('127.0.0.1:4250', 10_000)).toBe('renewed');
  await has(['127.0.0.1:4250'], 'the registered engine');
  const listed = await rawStore().list(`/flotilla/test-${prefixCount}/`);
  expect(listed.entries).toEqual([{ key: `/flotilla/test-${prefixCount}/127.0.0.1:4250`, value: '127.0.0.1:4250' }]);
  await registrar.deregister('127.0.0.1:4250');
  await has([], 'the engine deregistered');
});

it('keeps a renewed engine past its TTL, and drops it after the TTL once renewals stop', async () => {
  const u = uri();
  const { has, seen } = watchUri(u);
  const { registrar, outcomes } = counting(registrarFor(u));
  let healthy = true;
  const ttlMs = 2000;
  const registration = register(registrar, '127.0.0.1:4251', 400, ttlMs, () => healthy, { logger: quiet });
  closers.push(() => registration.stop());
  await has(['127.0.0.1:4251'], 'the registered engine');
  const registeredAt = Date.now();
  // Renewals span well past the TTL...
  await waitFor(() => outcomes.length >= 10 && Date.now() - registeredAt > 2 * ttlMs, { what: 'renewals past twice the TTL' });
  expect(outcomes[0]).toBe('registered');
  expect(outcomes.slice(1).every((o) => o === 'renewed')).toBe(true);
  // ...and the engine never left the set meanwhile.
  const sinceFirst = seen.slice(seen.findIndex((s) => s.includes('127.0.0.1:4251')));
  expect(sinceFirst.every((s) => s.includes('127.0.0.1:4251'))).toBe(true);

  healthy = false;
  const stoppedAt = Date.now();
  await has([], 'the engine to lapse after its TTL', 15_000);
  // etcd expires a lease no earlier than its TTL after the last renewal (one heartbeat before).
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(ttlMs - 400 - 100);

  const beforeBack = outcomes.length;
  healthy = true;
  await has(['127.0.0.1:4251'], 'the engine registered again once healthy');
  // The lapsed lease is replaced, not renewed (later renewals may follow before this looks).
  expect(outcomes[beforeBack]).toBe('registered');
});

it('watches keys written by others, and reports bad keys by key without dropping the rest', async () => {
  const u = uri();
  const prefix = `/flotilla/test-${prefixCount}/`;
  const { has, state } = watchUri(u);
  const store = rawStore();
  await store.put(`${prefix}10.0.0.1:2375`, '10.0.0.1:2375');
  await store.put(`${prefix}10.0.0.2:2375`, '10.0.0.2:2375');
  await has(['10.0.0.1:2375', '10.0.0.2:2375'], 'two engines');
  await store.put(`${prefix}not-an-address`, 'x');
  await store.put(`${prefix}10.0.0.[3:5]:2375`, 'x');
  await store.delete(`${prefix}10.0.0.1:2375`);
  await has(['10.0.0.2:2375'], 'one engine left');
  await waitFor(() => state.snapshot().problems.length === 2, { what: 'two problems' });
  expect(state.snapshot().problems).toEqual([
    { position: `${prefix}10.0.0.[3:5]:2375`, entry: '10.0.0.[3:5]:2375', error: expect.stringMatching(/a range is not allowed here/) },
    { position: `${prefix}not-an-address`, entry: 'not-an-address', error: expect.stringMatching(/expected host:port/) },
  ]);
});

it('keeps the last good set while etcd is down, retries, and follows changes once it is back', async () => {
  const u = uri();
  const { has, state } = watchUri(u);
  const registrar = registrarFor(u);
  await registrar.register('127.0.0.1:4252', 30_000);
  await has(['127.0.0.1:4252'], 'the registered engine');
  const generation = state.snapshot().generation;

  await etcd.halt();
  await waitFor(() => /^etcd: /.test(state.snapshot().sourceError), { what: 'etcd being unreachable to be reported', timeoutMs: 20_000 });
  expect(state.snapshot()).toMatchObject({ addresses: ['127.0.0.1:4252'], generation });
  await expect(registrar.register('127.0.0.1:4253', 30_000)).rejects.toThrow();

  await etcd.restart();
  await waitFor(() => state.snapshot().sourceError === '', { what: 'the error to clear once etcd is back', timeoutMs: 30_000 });
  // The lease outlived the restart: renewing it works, and the watch is in place again.
  expect(await registrar.register('127.0.0.1:4252', 30_000)).toBe('renewed');
  await registrar.register('127.0.0.1:4253', 30_000);
  await has(['127.0.0.1:4252', '127.0.0.1:4253'], 'an engine registered after the restart');
});

it('refuses registration for sources that cannot take it', () => {
  expect(() => createRegistrar(parseDiscoveryUri('file:///tmp/engines'))).toThrow(/file:\/\/ discovery cannot take registrations/);
  expect(() => createRegistrar(parseDiscoveryUri('a:1,b:2'))).toThrow(/nodes:\/\/ discovery cannot take registrations/);
});
