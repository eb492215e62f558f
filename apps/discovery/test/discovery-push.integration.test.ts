import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient } from '@flotilla/proto/cluster';
import { cleanupAll, freePort, testTls, waitFor } from '@flotilla/testing';
import { clusterIs, listEntries, startDiscoveryProcess, startManagerOn } from './support';

// Pushes against the built manager; the addresses lead nowhere, so engines stay pending and only
// membership matters.
let manager: Awaited<ReturnType<typeof startManagerOn>>;
const ports: number[] = [];

beforeAll(async () => {
  manager = await startManagerOn(await freePort());
  for (let i = 0; i < 3; i++) ports.push(await freePort());
});

afterAll(async () => {
  await manager?.close();
  await cleanupAll();
});

const m = () => manager.client;

it('moves past a newer generation an earlier run left in the manager, instead of being ignored', async () => {
  const source = `nodes://127.0.0.1:${ports[0]}`;
  // An earlier discovery run whose clock was ahead (by an hour; managers refuse more than 24 h)
  // left a newer generation and another set.
  const held = BigInt(Date.now() + 3_600_000);
  // Pushed with the same discovery identity the discovery process holds (sources belong to it).
  const earlier = dial(ClusterServiceClient, manager.address, { tls: testTls('discovery') });
  await call(earlier, earlier.syncEngines, { source, generation: String(held), addresses: [`127.0.0.1:${ports[1]}`] });
  earlier.close();
  const discovery = await startDiscoveryProcess(['--discovery', `127.0.0.1:${ports[0]}`, '--manager', manager.address]);
  await clusterIs(m, [`127.0.0.1:${ports[0]}`], 'the current set, despite the old generation');
  await discovery.process.waitForLine(/the manager holds a newer generation for this source/);
  const state = await waitFor(async () => {
    const s = await listEntries(discovery.client);
    return s.managers[0]?.generation === s.generation ? s : undefined;
  }, { what: 'the manager to hold our generation' });
  expect(state.generation).toBe(String(held + 1n));
  await discovery.close();
});

it('pushes to every manager it is given, and serves a state naming each', async () => {
  const second = await startManagerOn(await freePort());
  const list = `127.0.0.1:[${ports[1]}:${ports[1]}],127.0.0.1:${ports[2]}`;
  const discovery = await startDiscoveryProcess(['--discovery', `nodes://${list}`, '--manager', `${manager.address},${second.address}`]);
  const want = [`127.0.0.1:${ports[1]}`, `127.0.0.1:${ports[2]}`];
  await clusterIs(() => second.client, want, 'the second manager');
  await clusterIs(m, [`127.0.0.1:${ports[0]}`, ...want], 'the first manager (with the other source kept)');
  const state = await listEntries(discovery.client);
  expect(state.managers.map((x) => x.address)).toEqual([manager.address, second.address]);
  await discovery.close();
  await second.close();
});
