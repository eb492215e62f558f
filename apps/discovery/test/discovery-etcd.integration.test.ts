import { EngineStatus } from '@flotilla/proto/cluster';
import { cleanupAll, freePort, startEngines, startEtcd, waitFor, type RunningService, type TestEngines, type TestEtcd } from '@flotilla/testing';
import { clusterIs, engines as listEngines, listEntries, startAgentOn, startDiscoveryProcess, startManagerOn } from './support';

// End to end over a real etcd: agents register themselves (heartbeat and TTL), discovery watches
// the prefix and pushes to the manager. Each part is its own process.
const heartbeat = '300ms';
const ttlMs = 3000;
let etcd: TestEtcd;
let engineSet: TestEngines;
let manager: Awaited<ReturnType<typeof startManagerOn>>;
let discovery: Awaited<ReturnType<typeof startDiscoveryProcess>>;
const agents: RunningService[] = [];
const ports: number[] = [];
const addresses: string[] = [];
let uri: string;

const registering = () => ['--discovery', uri, '--discovery-heartbeat', heartbeat, '--discovery-ttl', `${ttlMs}ms`];

beforeAll(async () => {
  etcd = await startEtcd();
  uri = `etcd://${etcd.endpoint}/flotilla/engines`;
  engineSet = await startEngines({ count: 2 });
  manager = await startManagerOn(await freePort());
  discovery = await startDiscoveryProcess(['--discovery', uri, '--manager', manager.address, '--push-interval', '10m']);
  for (const [i, engine] of engineSet.engines.entries()) {
    ports[i] = await freePort();
    addresses[i] = `127.0.0.1:${ports[i]}`;
    agents[i] = await startAgentOn(engine, ports[i], registering());
  }
});

afterAll(async () => {
  await discovery?.close();
  await manager?.close();
  await cleanupAll();
});

const m = () => manager.client;
const d = () => discovery.client;

it('brings agents that registered in etcd into the cluster, healthy', async () => {
  await clusterIs(m, addresses, 'the registered engines', EngineStatus.ENGINE_STATUS_HEALTHY);
  const state = await listEntries(d());
  expect(state.source).toBe(uri);
  expect(state.addresses.sort()).toEqual([...addresses].sort());
  await agents[0].process.waitForLine(/"msg":"registered in discovery"/);
});

it('removes an engine whose agent is killed once its TTL has run out, and brings it back when the agent returns', async () => {
  agents[0].process.signal('SIGKILL');
  const killedAt = Date.now();
  await agents[0].process.exited;
  // The manager sees the broken stream at once; the engine stays (unhealthy) until the TTL lapses.
  await waitFor(async () => (await listEngines(m())).find((e) => e.address === addresses[0])?.status === EngineStatus.ENGINE_STATUS_UNHEALTHY, { what: 'the engine to be unhealthy' });
  await clusterIs(m, [addresses[1]], 'after the killed agent’s TTL', undefined, 30_000);
  // etcd drops the entry no earlier than the TTL after the agent's last renewal.
  expect(Date.now() - killedAt).toBeGreaterThanOrEqual(ttlMs - 300 - 100);

  agents[0] = await startAgentOn(engineSet.engines[0], ports[0], registering());
  await clusterIs(m, addresses, 'after the agent is back', EngineStatus.ENGINE_STATUS_HEALTHY);
});

it('removes an engine whose Docker engine is down after the TTL (its agent stops renewing), and re-adds it once up', async () => {
  const seen = agents[1].process.totalLines;
  await engineSet.stopOne('engine-2');
  await agents[1].process.waitForLine(/not renewing the discovery registration while the Docker engine is unreachable/, 30_000, seen);
  await clusterIs(m, [addresses[0]], 'with engine-2 down past its TTL', undefined, 30_000);
  await engineSet.startOne('engine-2');
  await clusterIs(m, addresses, 'with engine-2 back', EngineStatus.ENGINE_STATUS_HEALTHY);
});

it('keeps the set while etcd restarts, and follows registrations afterwards', async () => {
  const seen = discovery.process.totalLines;
  await etcd.halt();
  await discovery.process.waitForLine(/cannot read the discovery source; keeping the last good set/, 30_000, seen);
  const during = await listEntries(d());
  expect(during.sourceError).toMatch(/^etcd: /);
  expect(during.addresses.sort()).toEqual([...addresses].sort());
  await etcd.restart();
  await waitFor(async () => (await listEntries(d())).sourceError === '', { what: 'discovery to read etcd again', timeoutMs: 30_000 });
  // Leases survive an etcd restart; the agents keep renewing them and nothing left the cluster.
  await clusterIs(m, addresses, 'after the etcd restart', EngineStatus.ENGINE_STATUS_HEALTHY);
  agents[1].process.signal('SIGKILL');
  await clusterIs(m, [addresses[0]], 'a kill after the etcd restart still leads to removal', undefined, 30_000);
});
