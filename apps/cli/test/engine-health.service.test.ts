import { startManager, parseManagerConfig, type RunningManager } from '@flotilla/cluster-manager';
import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { makeTempDir, removeTempDir, StreamRecorder, testTls, tlsArgs, waitFor } from '@flotilla/testing';
import { runAsOperator } from './in-process';
import { eventLine } from '../src/commands/events';

// One word for an engine's placement health in every command, against a real manager and agent
// (over a hollow engine) in this process. With --flap-threshold 1 one failure makes the engine
// "flapping": info, engine ls, explain and the engine events must all say so, and explain must
// still place on it (it is the only engine).
let backend: HollowDockerBackend;
let agent: RunningAgent;
let manager: RunningManager;
let client: ClusterServiceClient;
let engine: string;
let home: string;

const flotilla = (...args: string[]) => runAsOperator(manager.port, home, args);

const engineState = async () => (await call(client, client.getEngine, { engine })).engine;

beforeAll(async () => {
  home = makeTempDir('flotilla-cli-health-');
  backend = new HollowDockerBackend({ name: 'hollow-health' });
  agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: { kind: 'mtls', tls: testTls('agent') } });
  engine = `127.0.0.1:${agent.port}`;
  manager = await startManager(parseManagerConfig(['--listen', '127.0.0.1:0', ...tlsArgs('manager'), '--engine', engine, '--flap-threshold', '1', '--flap-window', '10m'], {}), silentLogger);
  client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`, { tls: testTls('operator') });
  await waitFor(async () => (await engineState())?.status === EngineStatus.ENGINE_STATUS_HEALTHY, { what: 'the hollow engine to be healthy' });
});

afterAll(async () => {
  client?.close();
  await manager?.stop(1000);
  await agent?.stop(1000);
  removeTempDir(home);
});

it('a flapping engine is "flapping" in info, engine ls, explain and its events, and is still placed on', async () => {
  expect((await flotilla('engine', 'ls', '--format', '{{.Status}} {{.HealthText}}')).stdout).toBe('healthy 100\n');
  const events = await new StreamRecorder<WatchEventsResponse>(client.watchEvents({ types: ['engine'], engines: [], containers: [] })).live();
  try {
    // One failure: the Docker engine goes away and comes back.
    backend.setReachable(false);
    await waitFor(async () => (await engineState())?.status === EngineStatus.ENGINE_STATUS_UNHEALTHY, { what: 'the engine to be unhealthy' });
    backend.setReachable(true);
    await waitFor(async () => (await engineState())?.status === EngineStatus.ENGINE_STATUS_HEALTHY, { what: 'the engine to be healthy again', timeoutMs: 60_000 });
    expect(await engineState()).toMatchObject({ healthState: 'flapping', health: 1, recentFailures: 1 });

    const disconnect = await events.nextMatching((r) => r.event?.action === 'disconnect', 'the disconnect event');
    const reconnect = await events.nextMatching((r) => r.event?.action === 'reconnect', 'the reconnect event');
    expect(eventLine(disconnect.event!)).toMatch(/ engine disconnect 127\.0\.0\.1:\d+ \(name=hollow-health, id=\S+, health=unhealthy, error=/);
    expect(eventLine(reconnect.event!)).toMatch(/ engine reconnect 127\.0\.0\.1:\d+ \(name=hollow-health, id=\S+, health=flapping\)$/);

    const info = await flotilla('info');
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^Engines: +1 \(0 healthy, 1 flapping\)$/m);
    expect(info.stdout).toMatch(/^Event-loop lag: +p99 \d+ ms, max \d+ ms over the last minute/m);
    const row = info.stdout.split('\n').find((l) => l.includes(engine))!;
    expect(row).toMatch(/\bflapping\s+1 \(1 recent failure; steady in (9|10) minutes\)/);

    const ls = await flotilla('engine', 'ls');
    expect(ls.stdout.split('\n')[0]).toMatch(/^NAME\s+ADDRESS\s+ID\s+STATUS\s+HEALTH\s+CONTAINERS/);
    expect(ls.stdout.split('\n').find((l) => l.includes(engine))).toMatch(/\sflapping\s+1 \(1 recent failure; /);
    expect((await flotilla('engine', 'ls', '--filter', 'status=flapping', '-q')).stdout).toBe(`${engine}\n`);
    expect((await flotilla('engine', 'ls', '--filter', 'status=healthy', '-q')).stdout).toBe('');
    expect((await flotilla('engine', 'inspect', '--format', '{{.Status}} {{.Health}}', engine)).stdout).toBe('flapping 1\n');

    // Placeable: the only engine is chosen, and explain says why it weighs less.
    const explain = await flotilla('explain', 'busybox:local');
    expect(explain.code).toBe(0);
    expect(explain.stdout.split('\n')[0]).toMatch(/^Would run on hollow-health/);
    expect(explain.stdout).toMatch(/\s+score [-\d.]+; flapping: 1 failure in the last 10m; placed only when no steadier engine fits, until \d{4}-/);
  } finally {
    events.cancel();
  }
});
