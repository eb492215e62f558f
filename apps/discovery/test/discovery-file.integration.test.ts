import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { call } from '@flotilla/grpc';
import { EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import type { DiscoveryState, WatchEntriesResponse } from '@flotilla/proto/discovery';
import { bufCurlArgs, cleanupAll, freePort, makeTempDir, removeTempDir, repoRoot, startEngines, StreamRecorder, waitFor, type RunningService, type TestEngines } from '@flotilla/testing';
import { clusterIs, listEntries, startAgentOn, startDiscoveryProcess, startManagerOn } from './support';

// End to end, each part its own process: three real engines with an agent each, a cluster-manager
// started without any engine, and discovery on a file that lists the agents.
let engineSet: TestEngines;
let dir: string;
let file: string;
let managerPort: number;
let manager: Awaited<ReturnType<typeof startManagerOn>>;
let discovery: Awaited<ReturnType<typeof startDiscoveryProcess>>;
const agents: RunningService[] = [];
const addresses: string[] = [];
const ids: string[] = [];

/** Rewrites the file the way config tools do: a temporary file renamed over it. */
function writeEngines(lines: string[]): void {
  const tmp = path.join(dir, '.engines.tmp');
  fs.writeFileSync(tmp, `# written by the test\n${lines.join('\n')}\n`);
  fs.renameSync(tmp, file);
}

beforeAll(async () => {
  dir = makeTempDir('flotilla-discovery-file-');
  file = path.join(dir, 'engines.txt');
  engineSet = await startEngines({ count: 3 });
  for (const [i, engine] of engineSet.engines.entries()) {
    const port = await freePort();
    agents[i] = await startAgentOn(engine, port);
    addresses[i] = `127.0.0.1:${port}`;
    ids[i] = await engineSet.docker(engine.name, ['info', '--format', '{{.ID}}']);
  }
  managerPort = await freePort();
  manager = await startManagerOn(managerPort);
  writeEngines([...addresses, 'engine-x:99999']);
  // A push interval far beyond the test: every push seen here comes from a change or a reconnect.
  discovery = await startDiscoveryProcess(['--discovery', `file://${file}`, '--manager', manager.address, '--push-interval', '10m']);
});

afterAll(async () => {
  await discovery?.close();
  await manager?.close();
  await cleanupAll();
  removeTempDir(dir);
});

const m = () => manager.client;
const d = () => discovery.client;

it('brings the engines listed in the file into the cluster, healthy, and reports the bad line', async () => {
  const joined = await clusterIs(m, addresses, 'the engines in the file', EngineStatus.ENGINE_STATUS_HEALTHY);
  expect(joined.map((e) => e.id).sort()).toEqual([...ids].sort());
  const state = await listEntries(d());
  expect(state.source).toBe(`file://${file}`);
  expect(state.addresses.sort()).toEqual([...addresses].sort());
  expect(state.problems).toEqual([{ position: 'line 5', entry: 'engine-x:99999', error: expect.stringMatching(/port must be 1 to 65535/) }]);
  expect(state.sourceError).toBe('');
  expect(state.managers).toEqual([{ address: manager.address, generation: state.generation, pushedAt: expect.any(Date), lastError: '' }]);
  expect(BigInt(state.generation)).toBeGreaterThan(0n);
});

it('removes the engine whose line is removed, and adds it back when the line returns', async () => {
  const events = await new StreamRecorder<WatchEventsResponse>(m().watchEvents({ types: ['engine'], engines: [], containers: [] })).live();
  const watch = new StreamRecorder<WatchEntriesResponse>(d().watchEntries({}));
  await watch.nextMatching((r) => (r.state?.addresses.length ?? 0) === 3, 'the first WatchEntries state');
  const before = (await listEntries(d())).generation;

  writeEngines([addresses[0], addresses[2]]);
  await clusterIs(m, [addresses[0], addresses[2]], 'after removing a line');
  await events.nextMatching((r) => r.event?.action === 'removed' && r.event.engine?.address === addresses[1], 'the removed event');
  const changed = await watch.nextMatching((r) => r.state?.addresses.length === 2, 'WatchEntries to show two engines');
  expect(BigInt(changed.state?.generation ?? 0)).toBe(BigInt(before) + 1n);
  expect(changed.state?.problems).toEqual([]);

  writeEngines(addresses);
  await clusterIs(m, addresses, 'after the line is back', EngineStatus.ENGINE_STATUS_HEALTHY);
  events.cancel();
  watch.cancel();
});

it('keeps the engines when the file disappears or is garbage, and says why', async () => {
  fs.unlinkSync(file);
  const missing = await waitFor(async () => {
    const s = await listEntries(d());
    return /the file is missing/.test(s.sourceError) ? s : undefined;
  }, { what: 'the missing file in ListEntries' });
  expect(missing.addresses.sort()).toEqual([...addresses].sort());
  await discovery.process.waitForLine(/cannot read the discovery source; keeping the last good set/);

  fs.writeFileSync(file, '\u0000\u0001garbage\n%%%\n');
  await waitFor(async () => /not one usable address/.test((await listEntries(d())).sourceError), { what: 'the garbage file in ListEntries' });
  // The cluster never lost an engine.
  await clusterIs(m, addresses, 'with the last good set kept', EngineStatus.ENGINE_STATUS_HEALTHY);

  writeEngines(addresses);
  await waitFor(async () => (await listEntries(d())).sourceError === '', { what: 'the error to clear' });
});

it('brings every engine back, healthy, after the manager restarts, without touching discovery', async () => {
  const seen = discovery.process.totalLines;
  manager.process.signal('SIGKILL');
  await manager.process.exited;
  await discovery.process.waitForLine(/connection to the manager lost/, 30_000, seen);
  const lost = await listEntries(d());
  expect(lost.addresses.sort()).toEqual([...addresses].sort());

  manager.client.close();
  manager = await startManagerOn(managerPort);
  const back = await clusterIs(m, addresses, 'after the manager restart', EngineStatus.ENGINE_STATUS_HEALTHY);
  expect(back.map((e) => e.id).sort()).toEqual([...ids].sort());
  await discovery.process.waitForLine(/manager reachable again; pushing the set/, 30_000, seen);
  const state = await waitFor(async () => {
    const s = await listEntries(d());
    return s.managers[0]?.lastError === '' && s.managers[0].generation === s.generation ? s : undefined;
  }, { what: 'the push status to be clean' });
  expect(state.managers[0].address).toBe(manager.address);
});

it('pushes with back-off while the manager is away and the set changes meanwhile', async () => {
  const seen = discovery.process.totalLines;
  await manager.close();
  writeEngines([addresses[2]]);
  await discovery.process.waitForLine(/push to the manager failed; retrying/, 30_000, seen);
  const away = await waitFor(async () => {
    const s = await listEntries(d());
    return s.managers[0]?.lastError ? s : undefined;
  }, { what: 'the failed push in ListEntries' });
  expect(away.addresses).toEqual([addresses[2]]);
  manager = await startManagerOn(managerPort);
  await clusterIs(m, [addresses[2]], 'the changed set after the manager is back', EngineStatus.ENGINE_STATUS_HEALTHY);
  writeEngines(addresses);
  await clusterIs(m, addresses, 'all engines again', EngineStatus.ENGINE_STATUS_HEALTHY);
});

it('answers an independent client (buf curl, through reflection) with what it sees', async () => {
  const buf = path.join(repoRoot(), 'node_modules', '.bin', 'buf');
  const { stdout } = await promisify(execFile)(buf, bufCurlArgs('reader', discovery.address, 'flotilla.discovery.v1.DiscoveryService/ListEntries'), { timeout: 30_000 });
  const state = (JSON.parse(stdout) as { state: DiscoveryState }).state;
  expect(state.addresses.sort()).toEqual([...addresses].sort());
  const health = await promisify(execFile)(buf, bufCurlArgs('reader', discovery.address, 'grpc.health.v1.Health/Check', ['-d', '{"service":"flotilla.discovery.v1.DiscoveryService"}']), { timeout: 30_000 });
  expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
});
