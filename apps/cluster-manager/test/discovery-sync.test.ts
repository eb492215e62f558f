import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { cleanupAll, freePort, StreamRecorder, testTls, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { parseManagerConfig } from '../src/config';
import { allEngines, startManagerProcess, type ManagerProcess } from './support';

// The manager side of discovery's push, over gRPC against the built manager. The addresses lead
// nowhere (free ports nobody listens on), so the engines stay pending: only membership matters.
let manager: ManagerProcess;
/** Only discovery may push: this client holds a discovery certificate. */
let discovery: ClusterServiceClient;
const a: string[] = [];

async function startManager(): Promise<void> {
  manager = await startManagerProcess();
  discovery?.close();
  discovery = dial(ClusterServiceClient, manager.address, { tls: testTls('discovery'), defaultDeadlineMs: 30_000 });
}

beforeAll(async () => {
  await startManager();
  for (let i = 0; i < 4; i++) a.push(`127.0.0.1:${await freePort()}`);
});

afterAll(async () => {
  discovery?.close();
  await manager?.close();
  await cleanupAll();
});

const m = () => manager.client;
const sync = (source: string, generation: number, addresses: string[]) => call(discovery, discovery.syncEngines, { source, generation: String(generation), addresses });
const members = async () => (await allEngines(m())).map((e) => e.address).sort();

it('applies a push, and changes nothing for a generation at or below the one it holds', async () => {
  expect(await sync('file:///s1', 10, [a[0], a[1]])).toEqual({ added: [a[0], a[1]], removed: [], generation: '10', unchanged: false });
  expect(await members()).toEqual([a[0], a[1]].sort());
  expect(await sync('file:///s1', 10, [a[0]])).toEqual({ added: [], removed: [], generation: '10', unchanged: true });
  expect(await sync('file:///s1', 9, [])).toEqual({ added: [], removed: [], generation: '10', unchanged: true });
  expect(await members()).toEqual([a[0], a[1]].sort());
  const engine = (await call(m(), m().getEngine, { engine: a[0] })).engine;
  expect(engine?.status).toBe(EngineStatus.ENGINE_STATUS_PENDING);
});

it('applies only the difference, removals before additions', async () => {
  const events = new StreamRecorder<WatchEventsResponse>(m().watchEvents({ types: ['engine'], engines: [], containers: [] }));
  await manager.process.waitForLine(/event subscriber connected/);
  expect(await sync('file:///s1', 11, [a[1], a[2]])).toEqual({ added: [a[2]], removed: [a[0]], generation: '11', unchanged: false });
  const removed = await events.nextMatching((r) => r.event?.action === 'removed' && r.event.engine?.address === a[0], 'the removal');
  const added = await events.nextMatching((r) => r.event?.action === 'pending' && r.event.engine?.address === a[2], 'the addition');
  expect(events.items.indexOf(removed)).toBeLessThan(events.items.indexOf(added));
  events.cancel();
  expect(await members()).toEqual([a[1], a[2]].sort());
});

it('leaves the engines of other sources alone, and keeps an address two sources list until both drop it', async () => {
  expect((await sync('etcd://127.0.0.1:2379/f', 1, [a[2], a[3]])).added).toEqual([a[3]]);
  expect(await sync('file:///s1', 12, [])).toEqual({ added: [], removed: [a[1]], generation: '12', unchanged: false });
  expect(await members()).toEqual([a[2], a[3]].sort());
  expect((await sync('etcd://127.0.0.1:2379/f', 2, [])).removed.sort()).toEqual([a[2], a[3]].sort());
  expect(await members()).toEqual([]);
});

it('accepts every push again after a restart of the manager (it holds no generation then)', async () => {
  await sync('file:///s2', 5, [a[0]]);
  await manager.close();
  await startManager();
  expect(await sync('file:///s2', 5, [a[0]])).toEqual({ added: [a[0]], removed: [], generation: '5', unchanged: false });
  await sync('file:///s2', 6, []);
});

it('refuses a bad push with INVALID_ARGUMENT naming the field, and applies nothing of it', async () => {
  const noSource = await failureOf(sync('  ', 1, [a[0]]));
  expect(noSource.code).toBe(status.INVALID_ARGUMENT);
  expect(noSource.message).toMatch(/^source/);
  const badAddress = await failureOf(sync('file:///s3', 1, [a[0], 'nope']));
  expect(badAddress.code).toBe(status.INVALID_ARGUMENT);
  expect(badAddress.message).toMatch(/^addresses\[1\] "nope"/);
  expect(await members()).toEqual([]);
});

it('keeps hand and discovery memberships apart, and shows them in ClusterEngine', async () => {
  await sync('file:///m1', 1, [a[0], a[1]]);
  const shown = async (address: string) => {
    const engine = (await call(m(), m().getEngine, { engine: address })).engine!;
    return { addedByHand: engine.addedByHand, discoverySources: engine.discoverySources };
  };
  expect((await shown(a[0])).addedByHand).toBe(false);
  expect((await shown(a[0])).discoverySources).toEqual([expect.stringMatching(/ file:\/\/\/m1$/)]);
  expect((await call(m(), m().addEngine, { address: a[0] })).added).toBe(false);
  expect((await shown(a[0])).addedByHand).toBe(true);
  expect(await sync('file:///m1', 2, [])).toEqual({ added: [], removed: [a[1]], generation: '2', unchanged: false });
  expect(await shown(a[0])).toEqual({ addedByHand: true, discoverySources: [] });
  await call(m(), m().removeEngine, { engine: a[0] });
  expect(await members()).toEqual([]);
});

it('--discovery-grace: 5 minutes unless set', () => {
  expect(parseManagerConfig(['--insecure'], {}).discoveryGraceMs).toBe(5 * 60_000);
  expect(parseManagerConfig(['--insecure', '--discovery-grace', '2m'], {}).discoveryGraceMs).toBe(2 * 60_000);
  expect(parseManagerConfig(['--insecure'], { FLOTILLA_DISCOVERY_GRACE: '90s' }).discoveryGraceMs).toBe(90_000);
});
