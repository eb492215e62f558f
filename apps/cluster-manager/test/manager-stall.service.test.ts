import { call } from '@flotilla/grpc';
import { EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { StreamRecorder, waitFor } from '@flotilla/testing';
import { parseManagerConfig } from '../src/config';
import { startInProcessCluster, type InProcessCluster } from './in-process';

// The manager's own stall, for real: the manager and a hollow engine's agent share this process,
// and the test blocks its event loop for longer than the heartbeat tolerance (3 × 1 s). The
// overdue heartbeat sweep runs before the agent's heartbeat is read from the socket; it must
// blame no engine, and GetInfo must say the manager stalled.
let c: InProcessCluster;

beforeAll(async () => {
  c = await startInProcessCluster();
});

afterAll(async () => {
  await c?.stop();
});

/** Keeps the event loop busy, as a long synchronous task in the manager would. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

it('a stall longer than the heartbeat tolerance marks no engine unhealthy; GetInfo reports the lag and the late sweep', async () => {
  // Counted as a difference: a loaded machine may stall the test process on its own before this.
  const before = await call(c.client, c.client.getInfo, {});
  expect(typeof before.eventLoopLagP99Ms).toBe('number');
  const events = new StreamRecorder<WatchEventsResponse>(c.client.watchEvents({ types: ['engine'], engines: [], containers: [] }));
  await waitFor(() => c.manager.cluster.subscriberCount === 1, { what: 'the event subscription' });
  const engine = c.manager.cluster.getEngine(c.engineAddress);
  blockEventLoop(4500);
  const resumed = Date.now();
  // The agent's heartbeats are read again: the engine was never blamed.
  await waitFor(() => engine.lastMessageAt > resumed, { what: 'a heartbeat read after the stall' });
  const info = await call(c.client, c.client.getInfo, {});
  expect(info.lateHeartbeatSweeps - before.lateHeartbeatSweeps).toBeGreaterThanOrEqual(1);
  expect(info.eventLoopLagMaxMs).toBeGreaterThanOrEqual(4500 - 250);
  expect(info.engineCounts).toMatchObject({ healthy: 1, unhealthy: 0 });
  expect((await call(c.client, c.client.getEngine, { engine: c.engineAddress })).engine).toMatchObject({ status: EngineStatus.ENGINE_STATUS_HEALTHY, healthState: 'healthy', recentFailures: 0 });
  expect(events.items.filter((r) => r.event?.action === 'disconnect')).toEqual([]);
  events.cancel();
});

it('takes --flap-window and --flap-threshold, 5m and 3 by default', () => {
  expect(parseManagerConfig(['--insecure'], {})).toMatchObject({ flapWindowMs: 5 * 60_000, flapThreshold: 3 });
  expect(parseManagerConfig(['--insecure', '--flap-window', '10m', '--flap-threshold', '5'], {})).toMatchObject({ flapWindowMs: 10 * 60_000, flapThreshold: 5 });
  expect(parseManagerConfig(['--insecure'], { FLOTILLA_FLAP_WINDOW: '30s', FLOTILLA_FLAP_THRESHOLD: '1' })).toMatchObject({ flapWindowMs: 30_000, flapThreshold: 1 });
  expect(() => parseManagerConfig(['--insecure', '--flap-threshold', '0'], {})).toThrow(/--flap-threshold/);
});
