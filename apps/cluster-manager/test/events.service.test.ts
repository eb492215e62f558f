import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { StreamRecorder, waitFor } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { parseManagerConfig } from '../src/config';
import { startManager, type RunningManager } from '../src/manager';
import { allEngines } from './support';

// The real agent code over a hollow engine, and the real manager, in this process: fast enough to
// push thousands of events through WatchEvents.
let backend: HollowDockerBackend;
let agent: RunningAgent;
let manager: RunningManager;
let client: ClusterServiceClient;

beforeAll(async () => {
  backend = new HollowDockerBackend({ name: 'hollow-1' });
  agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: { kind: 'insecure' } });
  // A generous heartbeat tolerance: on a starved machine a missed heartbeat would reconnect the
  // engine, and the events of the gap are not replayed, which is not what this file tests.
  const args = ['--listen', '127.0.0.1:0', '--insecure', '--max-queued-events', '200', '--heartbeat-tolerance', '30', '--engine', `127.0.0.1:${agent.port}`];
  manager = await startManager(parseManagerConfig(args, {}), silentLogger);
  client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`);
  await waitFor(async () => (await allEngines(client, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === 1, { what: 'the hollow engine to be healthy' });
});

afterAll(async () => {
  client?.close();
  await manager?.stop(1000);
  await agent?.stop(1000);
});

it('ends a reader that falls behind with RESOURCE_EXHAUSTED, without slowing the cluster or other readers', async () => {
  const fast = new StreamRecorder<WatchEventsResponse>(client.watchEvents({ types: ['container'], engines: [], containers: [] }));
  const slowCall = client.watchEvents({ types: ['container'], engines: [], containers: [] });
  const slow = new StreamRecorder<WatchEventsResponse>(slowCall);
  try {
    slowCall.pause();
    await waitFor(() => manager.cluster.subscriberCount === 2, { what: 'both subscribers' });

    // Paced so the fast reader keeps up; the paused one cannot.
    const total = 3000;
    for (let made = 0; made < total; ) {
      for (let i = 0; i < 50; i++, made++) await backend.createContainer({ Image: 'busybox:local', HostConfig: {} });
      await waitFor(() => fast.items.length >= made || fast.error, { what: `the fast reader to see ${made} events` });
    }
    expect(fast.error).toBeUndefined();
    expect(fast.items).toHaveLength(total);
    expect(new Set(fast.items.map((r) => r.event?.docker?.actorId)).size).toBe(total);

    slowCall.resume();
    const error = (await slow.failure()) as Error & { code?: number };
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(slow.items.length).toBeLessThan(total);
    expect(manager.cluster.subscriberCount).toBe(1);
    // The cluster kept every container.
    const info = await call(client, client.getInfo, {});
    expect(info.containers?.total).toBe(total);
  } finally {
    // Even when it fails, the next test starts with no subscriber.
    fast.cancel();
    slow.cancel();
  }
});

it('filters by engine and container, and rejects an empty filter value naming it', async () => {
  const engine = (await allEngines(client))[0];
  const byName = new StreamRecorder<WatchEventsResponse>(client.watchEvents({ types: [], engines: [engine.address], containers: ['watched'] }));
  await waitFor(() => manager.cluster.subscriberCount === 1, { what: 'the subscriber' });
  await backend.createContainer({ name: 'ignored', Image: 'busybox:local', HostConfig: {} });
  const { id } = await backend.createContainer({ name: 'watched', Image: 'busybox:local', HostConfig: {} });
  await backend.startContainer(id);
  const start = await byName.nextMatching((r) => r.event?.action === 'start', 'the start of the watched container');
  expect(start.event?.engine).toMatchObject({ id: engine.id, address: engine.address });
  expect(byName.items.every((r) => r.event?.docker?.actorId === id)).toBe(true);
  byName.cancel();

  const bad = new StreamRecorder<WatchEventsResponse>(client.watchEvents({ types: [], engines: [' '], containers: [] }));
  const error = (await bad.failure()) as Error & { code?: number; details?: string };
  expect(error.code).toBe(status.INVALID_ARGUMENT);
  expect(error.details).toMatch(/^engines\[0\] " "/);
});
