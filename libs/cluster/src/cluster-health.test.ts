import type { WatchResponse } from '@flotilla/proto/agent';
import { ContainerSpec, type ClusterEvent } from '@flotilla/proto/cluster';
import { allFilters, placementRequestFrom, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import { flappingHealth } from './engine';
import type { Subscription } from './event-hub';
import { engineSnapshot, FakeAgents, recordingLogger } from './testing';

// What the scheduler goes by, and what the manager's own stalls and pushes must not do to it:
// a late heartbeat sweep blames no engine, a big discovery push dials in batches, and an
// engine's health is one word everywhere.

type Message = NonNullable<WatchResponse['message']>;

const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';
const interval = 1000;
const heartbeat: Message = { $case: 'heartbeat', value: { time: undefined, intervalMs: interval } };

async function drain<E>(s: Subscription<E>): Promise<E[]> {
  const out: E[] = [];
  while (s.queued > 0) {
    const r = await s.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

function harness(options: Partial<ClusterOptions> = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const logger = recordingLogger();
  const cluster = new Cluster({ connector: agents, clock, logger, random: () => 0.5, ...options });
  const sub = cluster.subscribe({ types: ['engine'], engines: [], containers: [] });
  const events = (): Promise<ClusterEvent[]> => drain(sub);
  const engineEvents = async (): Promise<string[]> => (await events()).map((e) => `${e.action}@${e.engine?.address}`);
  const healthy = (address: string, id: string) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(id, { name: `node-${id}` }));
    agents.send(address, heartbeat);
    const engine = cluster.engines.get(id);
    if (engine?.status !== 'healthy') throw new Error(`${address} did not validate`);
    return engine;
  };
  /** Moves fake time on in sweep-sized steps, the listed agents sending a heartbeat every interval. */
  const run = async (ms: number, speaking: string[]) => {
    for (let t = 250; t <= ms; t += 250) {
      await clock.advance(250);
      if (t % interval === 0) for (const address of speaking) agents.send(address, heartbeat);
    }
  };
  return { clock, agents, cluster, logger, events, engineEvents, healthy, run };
}

describe('a late heartbeat sweep: the manager stalled, not the agents', () => {
  it('marks no engine unhealthy after a stall of 10 heartbeat intervals; an agent that is really silent afterwards is, after the normal tolerance', async () => {
    const { cluster, clock, agents, logger, engineEvents, healthy, run } = harness();
    cluster.start();
    const a = healthy(A, 'E1');
    const b = healthy(B, 'E2');
    await run(2000, [A, B]);
    await engineEvents();
    // The event loop is blocked for 10 intervals: the agents' heartbeats sit unread in the
    // sockets, and the overdue sweep runs before they are read.
    clock.stall(10 * interval);
    await clock.advance(0);
    expect([a.status, b.status]).toEqual(['healthy', 'healthy']);
    expect(await engineEvents()).toEqual([]);
    expect(cluster.info()).toMatchObject({ lateHeartbeatSweeps: 1, eventLoopLagMaxMs: 10 * interval - 250 });
    expect(logger.lines.filter((l) => l.message.startsWith('heartbeat sweep ran late'))).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ lateByMs: 10 * interval - 250, engines: 2, lateSweeps: 1 }) }),
    ]);
    // A's heartbeat is read now; B's agent died during the stall and says nothing more.
    agents.send(A, heartbeat);
    await run(3000, [A]);
    expect([a.status, b.status]).toEqual(['healthy', 'healthy']);
    await run(250, [A]);
    expect([a.status, b.status]).toEqual(['healthy', 'unhealthy']);
    expect(b.lastError).toBe(`no heartbeat from the agent for 3250 ms (3 intervals of ${interval} ms)`);
    expect(await engineEvents()).toEqual([`disconnect@${B}`]);
    expect(cluster.info().lateHeartbeatSweeps).toBe(1);
  });

  it('without the late-sweep rule the same stall fails every engine (what the rule prevents)', async () => {
    const { cluster, clock, engineEvents, healthy, run } = harness({ lateSweepMs: Number.POSITIVE_INFINITY });
    cluster.start();
    const engines = [healthy(A, 'E1'), healthy(B, 'E2')];
    await run(2000, [A, B]);
    await engineEvents();
    clock.stall(10 * interval);
    await clock.advance(0);
    expect(engines.map((e) => e.status)).toEqual(['unhealthy', 'unhealthy']);
    expect((await engineEvents()).sort()).toEqual([`disconnect@${A}`, `disconnect@${B}`]);
  });

  it('a sweep that is only a little late still judges: silence past the tolerance is the agent\'s', async () => {
    const { cluster, clock, healthy, run } = harness();
    cluster.start();
    const a = healthy(A, 'E1');
    const b = healthy(B, 'E2');
    await run(2500, [A]);
    // 900 ms of stall is less than lateSweepMs (1 s): B, silent for 3.4 s, is failed.
    clock.stall(900);
    await clock.advance(0);
    expect([a.status, b.status]).toEqual(['healthy', 'unhealthy']);
    expect(cluster.info()).toMatchObject({ lateHeartbeatSweeps: 0, eventLoopLagMaxMs: 650 });
  });

  it('reports the event-loop lag over the last minute as p99 and max', async () => {
    const { cluster, clock } = harness();
    cluster.start();
    await clock.advance(30_000);
    expect(cluster.info()).toMatchObject({ eventLoopLagP99Ms: 0, eventLoopLagMaxMs: 0 });
    clock.stall(2000);
    await clock.advance(0);
    clock.stall(400);
    await clock.advance(0);
    // 122 samples in the minute (one per sweep): the p99 by nearest rank (the 121st) is the second largest.
    expect(cluster.info()).toMatchObject({ eventLoopLagP99Ms: 150, eventLoopLagMaxMs: 1750, lateHeartbeatSweeps: 1 });
    await clock.advance(60_000);
    expect(cluster.info()).toMatchObject({ eventLoopLagP99Ms: 0, eventLoopLagMaxMs: 0, lateHeartbeatSweeps: 1 });
  });
});

describe('SyncEngines dials in batches', () => {
  const addresses = (n: number) => Array.from({ length: n }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:4250`);

  it('answers a push of 5,000 at once, every engine pending, and dials at most dialsPerTick each tick', async () => {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    const cluster = new Cluster({ connector: agents, clock, random: () => 0.5 });
    const pushed = addresses(5000);
    const result = cluster.syncEngines('etcd://e:2379/flotilla', 1n, pushed);
    // Membership is recorded and answered before any dial.
    expect(result.added).toHaveLength(5000);
    expect(cluster.pendingEngines.size).toBe(5000);
    expect(cluster.listEngines()).toHaveLength(5000);
    expect(agents.streams).toHaveLength(0);
    expect(cluster.queuedDials).toBe(5000);
    let ticks = 0;
    while (cluster.queuedDials > 0) {
      const before = agents.streams.length;
      await clock.advance(1);
      expect(agents.streams.length - before).toBeLessThanOrEqual(64);
      expect(agents.streams.length).toBe(before + Math.min(64, pushed.length - before));
      if (++ticks > 200) throw new Error('the dial queue never drained');
    }
    expect(ticks).toBe(Math.ceil(5000 / 64));
    // In push order, one stream per engine.
    expect(agents.streams.map((s) => s.address)).toEqual(pushed);
    // The dial queue holds no timer now; the one left is the source's --discovery-grace timer.
    expect(clock.pending).toBe(1);
  });

  it('honours dialsPerTick, and an engine a validated snapshot reaches is healthy as before', async () => {
    const { cluster, agents, clock, engineEvents } = harness({ dialsPerTick: 2 });
    const pushed = addresses(5);
    cluster.syncEngines('s', 1n, pushed);
    expect(await engineEvents()).toEqual(pushed.map((a) => `pending@${a}`));
    expect(agents.streams).toHaveLength(0);
    await clock.advance(1);
    expect(agents.streams.map((s) => s.address)).toEqual(pushed.slice(0, 2));
    agents.snapshot(pushed[0], engineSnapshot('E0'));
    expect(cluster.engines.get('E0')?.status).toBe('healthy');
    await clock.advance(1);
    await clock.advance(1);
    expect(agents.streams).toHaveLength(5);
    expect(cluster.queuedDials).toBe(0);
  });

  it('never dials an engine removed while it waited, and stop() drops the queue', async () => {
    const { cluster, agents, clock } = harness({ dialsPerTick: 4 });
    const pushed = addresses(20);
    cluster.syncEngines('s', 1n, pushed);
    expect(cluster.syncEngines('s', 2n, pushed.slice(0, 3)).removed).toHaveLength(17);
    expect(cluster.queuedDials).toBe(3);
    await clock.advance(10);
    expect(agents.streams.map((s) => s.address)).toEqual(pushed.slice(0, 3));
    cluster.syncEngines('other', 1n, addresses(40).slice(20));
    expect(cluster.queuedDials).toBe(20);
    cluster.stop();
    expect(cluster.queuedDials).toBe(0);
    await clock.advance(100);
    expect(agents.streams).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });

  it('an engine added by hand is dialled at once, even while a push is being dialled', () => {
    const { cluster, agents } = harness();
    cluster.syncEngines('s', 1n, addresses(100));
    cluster.addEngine(A);
    expect(agents.open(A)).toHaveLength(1);
    // Adding a queued address by hand changes nothing: it is dialled from the queue.
    expect(cluster.addEngine(addresses(1)[0])).toBe(false);
    expect(agents.streams).toHaveLength(1);
  });
});

describe('one word for placement health', () => {
  const explain = (cluster: Cluster, constraints: string[] = []) => {
    const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
    const { request } = placementRequestFrom(ContainerSpec.fromPartial({ image: 'busybox', constraints }));
    return scheduler.explain(request, cluster);
  };

  it('an engine that failed flapThreshold times in the window is "flapping" in its view, the info, its events and explain; it is placed last, not refused', async () => {
    const { cluster, agents, clock, events, healthy } = harness({ flapThreshold: 3, flapWindowMs: 5 * 60_000 });
    const a = healthy(A, 'E1');
    healthy(B, 'E2');
    const firstFailure = clock.now();
    for (let i = 0; i < 3; i++) {
      agents.end(A);
      await clock.advance(200);
      agents.snapshot(A, engineSnapshot('E1', { name: 'node-E1' }));
      await clock.advance(10_000);
    }
    const until = new Date(firstFailure + 5 * 60_000);
    // The engine view (GetEngine, ListEngines, info's and engine ls's rows).
    expect(cluster.view(a)).toMatchObject({ healthState: 'flapping', health: flappingHealth, recentFailures: 3, flappingUntil: until });
    expect(cluster.listEngines({ statuses: ['healthy'] }).map((e) => cluster.view(e).healthState)).toEqual(['flapping', 'healthy']);
    // The summary.
    expect(cluster.info()).toMatchObject({ flappingEngines: 1, engineCounts: { pending: 0, healthy: 2, unhealthy: 0, disconnected: 0 } });
    // The events: the last reconnect says so.
    const last = (await events()).filter((e) => e.engine?.address === A).pop();
    expect(last).toMatchObject({ action: 'reconnect', engineState: { healthState: 'flapping', recentFailures: 3, flappingUntil: until } });
    // explain: it fits, weighs last, and says why in the same word.
    const placement = explain(cluster);
    expect(placement.engine?.address).toBe(B);
    const verdict = placement.verdicts!.find((v) => v.engine.address === A)!;
    expect(verdict.filter).toBeUndefined();
    expect(verdict.reason).toBe(`flapping: 3 failures in the last 5m; placed only when no steadier engine fits, until ${until.toISOString()}`);
    expect(placement.verdicts!.find((v) => v.engine.address === B)!.reason).toBeUndefined();
    // Where nothing steadier fits, it is placed on.
    expect(explain(cluster, ['node==node-E1']).engine?.address).toBe(A);
    // When the first failure leaves the window it is healthy again, everywhere.
    await clock.advance(until.getTime() - clock.now() + 1);
    expect(cluster.view(a)).toMatchObject({ healthState: 'healthy', recentFailures: 2, flappingUntil: undefined, health: 33 });
    expect(cluster.info().flappingEngines).toBe(0);
    expect(explain(cluster).verdicts!.find((v) => v.engine.address === A)!.reason).toBe('healthy, 2 failures in the last 5m (health 33)');
  });

  it('an unhealthy engine is "unhealthy" in its view, its disconnect event and explain, which refuses it', async () => {
    const { cluster, agents, events, healthy } = harness();
    const a = healthy(A, 'E1');
    await events();
    agents.end(A, new Error('14 UNAVAILABLE: Connection dropped'));
    expect(cluster.view(a).healthState).toBe('unhealthy');
    expect((await events()).map((e) => [e.action, e.engineState?.healthState])).toEqual([['disconnect', 'unhealthy']]);
    const verdict = explain(cluster).verdicts!.find((v) => v.engine.address === A)!;
    expect(verdict).toMatchObject({ filter: 'health', reason: 'engine is unhealthy: 14 UNAVAILABLE: Connection dropped' });
  });

  it('one failure with flapThreshold 1 is flapping: the threshold and window are the options', async () => {
    const { cluster, agents, clock, healthy } = harness({ flapThreshold: 1, flapWindowMs: 60_000 });
    const a = healthy(A, 'E1');
    agents.end(A);
    await clock.advance(200);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(cluster.view(a)).toMatchObject({ healthState: 'flapping', health: flappingHealth });
    await clock.advance(60_000);
    expect(cluster.view(a)).toMatchObject({ healthState: 'healthy', health: 100 });
  });
});
