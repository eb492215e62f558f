import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { call } from '@flotilla/grpc';
import { EngineStatus, ListEnginesRequest } from '@flotilla/proto/cluster';
import { bufCurlArgs, cleanupAll, freePort, repoRoot, spawnService, startEngines, waitFor, type RunningService, type TestEngines, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { allContainers, allEngines, engineIn, EventRecorder, startAgentProcess, startManagerProcess, type ManagerProcess } from './support';

// Three real engines, three agents and a manager, each a separate process.
let engines: TestEngines;
let manager: ManagerProcess;
const agents: RunningService[] = [];
const ports: number[] = [];
const address = (i: number) => `127.0.0.1:${ports[i]}`;
const ids: string[] = [];

beforeAll(async () => {
  engines = await startEngines({ count: 3, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' }, 3: { zone: 'c' } } });
  for (const [i, engine] of engines.engines.entries()) {
    ports[i] = await freePort();
    agents[i] = await startAgentProcess(engine, ports[i]);
    ids[i] = await engines.docker(engine.name, ['info', '--format', '{{.ID}}']);
  }
  manager = await startManagerProcess(['--engine', ports.map((p) => `127.0.0.1:${p}`).join(','), '--heartbeat-tolerance', '3']);
});

afterAll(async () => {
  await manager?.close();
  await cleanupAll();
});

const m = () => manager.client;

it('validates all three engines, with their real IDs and labels', async () => {
  for (let i = 0; i < 3; i++) {
    const engine = await engineIn(m(), address(i), EngineStatus.ENGINE_STATUS_HEALTHY);
    expect(engine.id).toBe(ids[i]);
    expect(engine.info?.labels.zone).toBe(['a', 'b', 'c'][i]);
    expect(engine.health).toBe(100);
  }
  const info = await call(m(), m().getInfo, {});
  expect(info.engineCounts).toMatchObject({ healthy: 3 });
  expect(info.strategy).toBe('spread');
  expect(Number(info.totalNanoCpus)).toBeGreaterThan(0);
  const byLabel = await allEngines(m(), { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY], labels: { zone: 'b' } });
  expect(byLabel.map((e) => e.id)).toEqual([ids[1]]);
  // By address, one engine per page when asked.
  expect((await allEngines(m(), { pageSize: 1 })).map((e) => e.address)).toEqual([0, 1, 2].map(address).sort());
});

it('shows a container started straight on an engine in ListEngines and as an annotated event', async () => {
  const events = await new EventRecorder(m().watchEvents({ types: ['container'], engines: [ids[2]], containers: [] })).live();
  const id = await engines.docker('engine-3', ['run', '-d', '--network', 'none', '--name', 'direct-web', '-m', '64m', 'busybox:local', 'sleep', '300']);
  const started = await events.nextMatching((r) => r.event?.action === 'start' && r.event.docker?.actorId === id, 'the container start event');
  expect(started.event?.engine).toEqual({ id: ids[2], name: expect.any(String), address: address(2), ip: '127.0.0.1' });
  expect(started.event?.container).toMatchObject({ id, state: 'running', names: ['direct-web'] });
  events.cancel();
  const engine = await waitFor(async () => {
    const e = (await allEngines(m())).find((x) => x.id === ids[2]);
    return e && e.containers?.running === 1 ? e : undefined;
  }, { what: 'the container in ListEngines' });
  expect(engine.reservedMemoryBytes).toBe(String(64 * 1024 * 1024));
});

it('marks an engine whose agent is killed unhealthy, and a restarted agent heals it', async () => {
  await engines.docker('engine-1', ['run', '-d', '--network', 'none', '--name', 'on-engine-1', 'busybox:local', 'sleep', '300']);
  await waitFor(async () => (await allContainers(m(), { all: true, engines: [ids[0]] })).some((c) => c.container?.names.includes('on-engine-1')), { what: 'the container in the cluster' });
  const events = await new EventRecorder(m().watchEvents({ types: ['engine'], engines: [], containers: [] })).live();
  const killed = agents[0];
  killed.process.signal('SIGKILL');
  try {
    const down = await engineIn(m(), address(0), EngineStatus.ENGINE_STATUS_UNHEALTHY, 'after kill -9 of its agent');
    expect(down.lastError).not.toBe('');
    const disconnect = await events.nextMatching((r) => r.event?.action === 'disconnect' && r.event.engine?.address === address(0), 'a disconnect event');
    // Classic Swarm's name and the engine's IP, for scripts written against classic's events.
    expect(disconnect.event).toMatchObject({ classicAction: 'engine_disconnect', engine: { ip: '127.0.0.1' } });
    // Its containers show as classic showed them.
    const onDown = (await allContainers(m(), { all: true, engines: [ids[0]] })).find((c) => c.container?.names.includes('on-engine-1'));
    expect(onDown?.container?.status).toBe('Host Down');
  } finally {
    // The next tests need three healthy engines, even when this one fails.
    agents[0] = await startAgentProcess(engines.engines[0], ports[0]);
  }
  const back = await engineIn(m(), address(0), EngineStatus.ENGINE_STATUS_HEALTHY, 'after the agent is back');
  expect(back.id).toBe(ids[0]);
  const reconnect = await events.nextMatching((r) => r.event?.action === 'reconnect' && r.event.engine?.address === address(0), 'a reconnect event');
  expect(reconnect.event?.classicAction).toBe('engine_reconnect');
  events.cancel();
  const shown = (await allContainers(m(), { all: true, engines: [ids[0]] })).find((c) => c.container?.names.includes('on-engine-1'));
  expect(shown?.container?.status).toMatch(/^Up /);
  await engines.docker('engine-1', ['rm', '-f', 'on-engine-1']);
});

it('marks an engine whose Docker engine stops unhealthy, and healthy when it is back', async () => {
  await engines.stopOne('engine-2');
  try {
    const down = await engineIn(m(), address(1), EngineStatus.ENGINE_STATUS_UNHEALTHY, 'with its Docker engine stopped');
    expect(down.lastError).toMatch(/Docker engine unreachable/);
    // Unhealthy engines stay in the cluster.
    expect((await call(m(), m().getInfo, {})).engineCounts?.unhealthy).toBe(1);
  } finally {
    await engines.startOne('engine-2');
  }
  await engineIn(m(), address(1), EngineStatus.ENGINE_STATUS_HEALTHY, 'with its Docker engine back');
});

it('marks an engine whose agent is frozen (SIGSTOP) unhealthy within the heartbeat tolerance', async () => {
  agents[2].process.signal('SIGSTOP');
  try {
    const down = await engineIn(m(), address(2), EngineStatus.ENGINE_STATUS_UNHEALTHY, 'with its agent frozen');
    expect(down.lastError).toMatch(/no heartbeat/);
  } finally {
    agents[2].process.signal('SIGCONT');
  }
  await engineIn(m(), address(2), EngineStatus.ENGINE_STATUS_HEALTHY, 'with its agent thawed');
});

it('keeps a second engine with the same engine ID pending with the duplicated-ID error', async () => {
  const twins = await startEngines({ count: 2, sharedKey: true });
  const twinPorts = [await freePort(), await freePort()];
  await startAgentProcess(twins.engines[0], twinPorts[0]);
  await startAgentProcess(twins.engines[1], twinPorts[1]);
  const [first, second] = twinPorts.map((p) => `127.0.0.1:${p}`);
  await call(m(), m().addEngine, { address: first });
  const healthy = await engineIn(m(), first, EngineStatus.ENGINE_STATUS_HEALTHY);
  await call(m(), m().addEngine, { address: second });
  const pending = await waitFor(async () => {
    const { engine } = await call(m(), m().getEngine, { engine: second });
    return engine?.lastError.startsWith('ID duplicated') ? engine : undefined;
  }, { what: 'the duplicated-ID error' });
  expect(pending.status).toBe(EngineStatus.ENGINE_STATUS_PENDING);
  expect(pending.lastError).toBe(`ID duplicated: ${healthy.id} shared by ${first} and ${second}`);
  // Retried while it waits; once the first leaves, the second is validated.
  await call(m(), m().removeEngine, { engine: first });
  const validated = await engineIn(m(), second, EngineStatus.ENGINE_STATUS_HEALTHY, 'after the first twin left');
  expect(validated.id).toBe(healthy.id);
  await call(m(), m().removeEngine, { engine: second });
});

it('answers bad input with INVALID_ARGUMENT naming the field, and unknown engines with NOT_FOUND', async () => {
  const bad = await failureOf(call(m(), m().addEngine, { address: 'no-port-here' }));
  expect(bad.code).toBe(status.INVALID_ARGUMENT);
  expect(bad.message).toMatch(/^address "no-port-here"/);
  expect((await failureOf(call(m(), m().getEngine, { engine: '10.9.9.9:1' }))).code).toBe(status.NOT_FOUND);
  expect((await failureOf(call(m(), m().listEngines, ListEnginesRequest.fromPartial({ statuses: [42 as EngineStatus] })))).message).toMatch(/^statuses\[0\] 42/);
  expect((await failureOf(call(m(), m().listEngines, ListEnginesRequest.fromPartial({ pageSize: 1001 })))).message).toMatch(/^page_size 1001/);
  expect((await failureOf(call(m(), m().listEngines, ListEnginesRequest.fromPartial({ pageToken: 'not-ours' })))).message).toMatch(/^page_token "not-ours"/);
  expect((await call(m(), m().addEngine, { address: address(0) })).added).toBe(false);
  expect((await call(m(), m().getInfo, {})).engineCounts?.healthy).toBe(3);
});

describe('an independent client (buf curl, through reflection)', () => {
  const buf = path.join(repoRoot(), 'node_modules', '.bin', 'buf');
  const curl = (method: string, body: string, timeout = 60_000) =>
    promisify(execFile)(buf, bufCurlArgs('operator', manager.address, `flotilla.cluster.v1.ClusterService/${method}`, ['-d', body]), { timeout, killSignal: 'SIGINT' }).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    );

  it('lists through reflection only the services the manager serves', async () => {
    const { stdout } = await promisify(execFile)(buf, bufCurlArgs('operator', manager.address, '', ['--list-services']), { timeout: 30_000 });
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['flotilla.cluster.v1.ClusterService', 'flotilla.version.v1.VersionService', 'grpc.health.v1.Health']);
  });

  it('answers any role of the cluster, a reader too, with its program and version', async () => {
    const { stdout } = await promisify(execFile)(buf, bufCurlArgs('reader', manager.address, 'flotilla.version.v1.VersionService/GetVersion', ['-d', '{}']), { timeout: 60_000 });
    const info = await call(m(), m().getInfo, {});
    expect(JSON.parse(stdout)).toMatchObject({ program: 'flotilla-cluster-manager', version: info.managerVersion, runtime: process.version });
  });

  it('calls AddEngine, GetInfo, ListEngines and WatchEvents and sees the real IDs and states', async () => {
    const added = JSON.parse(await curl('AddEngine', JSON.stringify({ address: address(1) }))) as { added?: boolean; engine: { id: string; status: string } };
    expect(added.added ?? false).toBe(false);
    expect(added.engine).toMatchObject({ id: ids[1], status: 'ENGINE_STATUS_HEALTHY' });
    const info = JSON.parse(await curl('GetInfo', '{}')) as { engineCounts: { healthy: number }; engines?: unknown[] };
    expect(info.engineCounts.healthy).toBe(3);
    expect(info.engines).toBeUndefined();
    const listed = JSON.parse(await curl('ListEngines', '{}')) as { engines: Array<{ id: string; status: string }>; nextPageToken?: string };
    for (const id of ids) expect(listed.engines).toContainEqual(expect.objectContaining({ id, status: 'ENGINE_STATUS_HEALTHY' }));
    expect(listed.nextPageToken).toBeUndefined();
    // The stream stays open: buf curl runs until its output shows the event, then is stopped.
    const seen = manager.process.totalLines;
    const watching = spawnService({ name: 'buf-curl-watch', command: buf, args: bufCurlArgs('operator', manager.address, 'flotilla.cluster.v1.ClusterService/WatchEvents', ['-d', JSON.stringify({ types: ['container'] })]) });
    try {
      await manager.process.waitForLine(/event subscriber connected/, 60_000, seen);
      const id = await engines.docker('engine-1', ['create', '--network', 'none', '--name', 'curl-seen', 'busybox:local', 'true']);
      await watching.waitForLine(new RegExp(id), 60_000);
      await watching.waitForLine(new RegExp(ids[0]!), 60_000);
    } finally {
      await watching.stop();
    }
  });
});
