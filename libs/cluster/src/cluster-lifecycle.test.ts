import { CancelledError, InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import type { Container } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';
import { EngineStatus, type ClusterEvent } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import type { Subscription } from './event-hub';
import { FakeAgents, engineSnapshot } from './testing';

type Message = NonNullable<WatchResponse['message']>;

const GiB = 1024 ** 3;
const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';
const C = '10.0.0.3:4250';

function container(id: string, o: Partial<Container> = {}): Container {
  return {
    id,
    names: [`c-${id}`],
    image: 'busybox',
    imageId: 'sha256:busybox',
    command: [],
    state: 'running',
    status: 'Up',
    labels: {},
    nanoCpus: '0',
    cpuShares: '0',
    memoryBytes: '0',
    portBindings: [],
    networkMode: 'default',
    exitCode: 0,
    restartPolicy: 'no',
    ...o,
  };
}

const heartbeat = (intervalMs = 1000): Message => ({ $case: 'heartbeat', value: { time: undefined, intervalMs } });
const unreachable = (error: string): Message => ({ $case: 'state', value: { reachable: false, error, since: undefined } });
const reachable = (): Message => ({ $case: 'state', value: { reachable: true, error: '', since: undefined } });

async function drain<E>(s: Subscription<E>): Promise<E[]> {
  const out: E[] = [];
  while (s.queued > 0) {
    const r = await s.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** A cluster on fake agents and fake time, with no jitter so back-off delays are exact. */
function harness(options: Partial<ClusterOptions> = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, ...options });
  const sub = cluster.subscribe({ types: [], engines: [], containers: [] });
  /** Events published since the last call. */
  const events = (): Promise<ClusterEvent[]> => drain(sub);
  /** "action@address" of the engine events published since the last call. */
  const engineEvents = async (): Promise<string[]> => (await events()).filter((e) => e.type === 'engine').map((e) => `${e.action}@${e.engine?.address}`);
  /** Adds an engine and validates it with a snapshot. */
  const healthy = (address: string, id: string, opts: Parameters<typeof engineSnapshot>[1] = {}) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(id, opts));
    const engine = cluster.engines.get(id);
    if (!engine || engine.status !== 'healthy') throw new Error(`${address} did not validate`);
    return engine;
  };
  return { clock, agents, cluster, sub, events, engineEvents, healthy };
}

describe('addEngine', () => {
  it('a new engine is pending, announced, and its agent is watched', async () => {
    const { cluster, agents, engineEvents, events } = harness();
    expect(cluster.addEngine(A)).toBe(true);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine).toBeDefined();
    expect(engine.status).toBe('pending');
    expect(engine.address).toBe(A);
    expect(cluster.engines.size).toBe(0);
    expect(agents.open(A)).toHaveLength(1);
    expect(agents.streams).toHaveLength(1);
    const [pending] = await events();
    expect(pending).toMatchObject({ type: 'engine', action: 'pending', engine: { id: '', name: '', address: A }, error: '' });
    expect(pending.engineState?.status).toBe(EngineStatus.ENGINE_STATUS_PENDING);
    expect(await engineEvents()).toEqual([]);
  });

  it('normalises the address, so spellings of one address are one engine', async () => {
    const { cluster, agents, engineEvents } = harness();
    expect(cluster.addEngine(' LocalHost:4250 ')).toBe(true);
    expect([...cluster.pendingEngines.keys()]).toEqual(['localhost:4250']);
    expect(await engineEvents()).toEqual(['pending@localhost:4250']);
    for (const again of ['localhost:4250', 'LOCALHOST:4250', '\tlocalhost:4250\n']) expect(cluster.addEngine(again)).toBe(false);
    expect(cluster.pendingEngines.size).toBe(1);
    expect(agents.streams).toHaveLength(1);
    expect(await engineEvents()).toEqual([]);
    // Another port is another engine.
    expect(cluster.addEngine('localhost:4251')).toBe(true);
    expect(cluster.pendingEngines.size).toBe(2);
  });

  it('takes IPv6 addresses in brackets', () => {
    const { cluster, agents } = harness();
    expect(cluster.addEngine('[::1]:4250')).toBe(true);
    expect(cluster.pendingEngines.has('[::1]:4250')).toBe(true);
    expect(agents.open('[::1]:4250')).toHaveLength(1);
    expect(cluster.addEngine(' [::1]:4250')).toBe(false);
    agents.snapshot('[::1]:4250', engineSnapshot('V6'));
    expect(cluster.engines.get('V6')?.address).toBe('[::1]:4250');
    expect(cluster.findEngine('[::1]:4250')?.id).toBe('V6');
  });

  it.each(['nope', '', '   ', 'host', 'host:0', 'host:99999', '::1:4250', 'http://a:1'])('rejects %j with INVALID_ARGUMENT naming the field and value, and changes nothing', async (bad) => {
    const { cluster, agents, events } = harness();
    expect(() => cluster.addEngine(bad)).toThrow(InvalidArgumentError);
    expect(() => cluster.addEngine(bad)).toThrow(`address ${JSON.stringify(bad)}: `);
    expect(cluster.pendingEngines.size + cluster.engines.size).toBe(0);
    expect(agents.streams).toHaveLength(0);
    expect(await events()).toEqual([]);
  });

  it('adding a known address changes nothing, whatever state the engine is in', async () => {
    const { cluster, agents, engineEvents, healthy, clock } = harness();
    const engine = healthy(A, 'E1');
    await engineEvents();
    expect(cluster.addEngine(A)).toBe(false);
    agents.end(A);
    await engineEvents();
    expect(engine.status).toBe('unhealthy');
    expect(cluster.addEngine(A)).toBe(false);
    const streams = agents.streams.length;
    const timers = clock.pending;
    expect(cluster.addEngine(A)).toBe(false);
    expect(agents.streams).toHaveLength(streams);
    expect(clock.pending).toBe(timers);
    expect(cluster.engines.get('E1')).toBe(engine);
    expect(cluster.pendingEngines.size).toBe(0);
    expect(await engineEvents()).toEqual([]);
  });
});

describe('validation', () => {
  it('the first valid snapshot makes a pending engine healthy, keyed by its ID', async () => {
    const { cluster, agents, events, clock } = harness();
    cluster.addEngine(A);
    await events();
    agents.snapshot(A, engineSnapshot('E1', { name: 'node-1', containers: [container('c1')] }));
    expect(cluster.pendingEngines.size).toBe(0);
    const engine = cluster.engines.get('E1')!;
    expect(engine.status).toBe('healthy');
    expect(engine.name).toBe('node-1');
    expect(engine.failureCount).toBe(0);
    expect(engine.lastError).toBe('');
    expect(engine.updatedAt).toBe(clock.now());
    expect(engine.containers.size).toBe(1);
    const [connect, ...rest] = await events();
    expect(rest).toEqual([]);
    expect(connect).toMatchObject({ type: 'engine', action: 'connect', engine: { id: 'E1', name: 'node-1', address: A }, error: '' });
    expect(connect.engineState).toMatchObject({ status: EngineStatus.ENGINE_STATUS_HEALTHY, health: 100, id: 'E1' });
    expect(connect.time).toEqual(new Date(clock.now()));
    // The stream stays open and no timer waits.
    expect(agents.open(A)).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it.each([
    ['0 CPUs', engineSnapshot('E1', { cpus: 0 }), 'engine E1 reports 0 CPUs'],
    ['0 memory', engineSnapshot('E1', { memoryBytes: 0 }), 'engine E1 reports 0 bytes of memory'],
    ['no ID', engineSnapshot(''), 'the agent sent a snapshot without an engine ID'],
    ['no engine info', { ...engineSnapshot('E1'), engine: undefined }, 'the agent sent a snapshot without an engine ID'],
    ['negative CPUs', engineSnapshot('E1', { cpus: -2 }), 'engine E1 reports -2 CPUs'],
  ])('a snapshot with %s leaves the engine pending, says why, and retries with back-off', async (_what, snapshot, why) => {
    const { cluster, agents, events, clock } = harness();
    cluster.addEngine(A);
    await events();
    agents.snapshot(A, snapshot);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(cluster.engines.size).toBe(0);
    expect(engine.lastError).toBe(why);
    expect(engine.failureCount).toBe(1);
    expect(engine.updatedAt).toBe(clock.now());
    const [error, ...rest] = await events();
    expect(rest).toEqual([]);
    expect(error).toMatchObject({ type: 'engine', action: 'error', error: why, engine: { address: A } });
    expect(error.engineState).toMatchObject({ status: EngineStatus.ENGINE_STATUS_PENDING, lastError: why, failureCount: 1, health: 0 });
    // The stream is closed; one retry waits (1 s, doubling).
    expect(agents.open()).toHaveLength(0);
    expect(clock.pending).toBe(1);
    let failures = 1;
    for (const delay of [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]) {
      await clock.advance(delay - 1);
      expect(agents.open(A)).toHaveLength(0);
      await clock.advance(1);
      expect(agents.open(A)).toHaveLength(1);
      expect(clock.pending).toBe(0);
      agents.snapshot(A, snapshot);
      failures++;
      expect(engine.failureCount).toBe(failures);
      expect(engine.status).toBe('pending');
    }
    expect((await events()).map((e) => e.action)).toEqual(Array(7).fill('error'));
    // A good snapshot on the next attempt validates it and clears the failures.
    await clock.advance(30_000);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
    expect(engine.failureCount).toBe(0);
    expect(engine.lastError).toBe('');
    expect(cluster.engines.get('E1')).toBe(engine);
    expect(cluster.pendingEngines.size).toBe(0);
    expect((await events()).map((e) => e.action)).toEqual(['connect']);
  });

  it('retries a pending engine whose agent is unreachable, with back-off', async () => {
    const { cluster, agents, clock, engineEvents } = harness();
    cluster.addEngine(A);
    await engineEvents();
    agents.end(A, new Error('14 UNAVAILABLE: connect ECONNREFUSED 10.0.0.1:4250'));
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(engine.failureCount).toBe(1);
    expect(engine.lastError).toBe('14 UNAVAILABLE: connect ECONNREFUSED 10.0.0.1:4250');
    // No engine event: it was never connected.
    expect(await engineEvents()).toEqual([]);
    await clock.advance(999);
    expect(agents.open(A)).toHaveLength(0);
    await clock.advance(1);
    expect(agents.open(A)).toHaveLength(1);
    agents.end(A);
    expect(engine.failureCount).toBe(2);
    await clock.advance(1999);
    expect(agents.open(A)).toHaveLength(0);
    await clock.advance(1);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
    expect(await engineEvents()).toEqual([`connect@${A}`]);
  });

  it('honours configured pending back-off', async () => {
    const { cluster, agents, clock } = harness({ pendingRetry: { initialMs: 50, maxMs: 120, jitter: 0 } });
    cluster.addEngine(A);
    for (const delay of [50, 100, 120, 120]) {
      agents.snapshot(A, engineSnapshot('E1', { cpus: 0 }));
      await clock.advance(delay - 1);
      expect(agents.open(A)).toHaveLength(0);
      await clock.advance(1);
      expect(agents.open(A)).toHaveLength(1);
    }
  });

  it('deltas before the first snapshot are ignored', async () => {
    const { cluster, agents, events } = harness();
    cluster.addEngine(A);
    await events();
    const c = container('c1', { nanoCpus: '1000' });
    agents.send(A, { $case: 'container', value: { event: { type: 'container', action: 'create', actorId: 'c1', actorAttributes: {}, scope: 'local', timeNano: '0' }, container: c, removed: false } });
    agents.send(A, { $case: 'event', value: { type: 'daemon', action: 'reload', actorId: 'x', actorAttributes: {}, scope: 'local', timeNano: '0' } });
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.containers.size).toBe(0);
    expect(engine.reservedNanoCpus).toBe(0);
    expect(await events()).toEqual([]);
    // The stream is still in step; the snapshot validates.
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
    expect(engine.containers.size).toBe(0);
  });

  it('a healthy engine that sends an invalid snapshot goes back to pending and is retried', async () => {
    const { cluster, agents, clock, healthy, engineEvents } = harness();
    const engine = healthy(A, 'E1');
    await engineEvents();
    agents.snapshot(A, engineSnapshot('E1', { memoryBytes: 0 }));
    expect(engine.status).toBe('pending');
    expect(cluster.engines.size).toBe(0);
    expect(cluster.pendingEngines.get(A)).toBe(engine);
    expect(await engineEvents()).toEqual([`error@${A}`]);
    expect(agents.open()).toHaveLength(0);
    await clock.advance(1000);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(cluster.engines.get('E1')).toBe(engine);
    expect(await engineEvents()).toEqual([`connect@${A}`]);
  });

  it('re-keys an engine when another Docker engine answers at its address', async () => {
    const { cluster, agents, clock, healthy } = harness();
    const engine = healthy(A, 'OLD');
    agents.end(A);
    await clock.advance(200);
    agents.snapshot(A, engineSnapshot('NEW', { name: 'replacement' }));
    expect(engine.status).toBe('healthy');
    expect([...cluster.engines.keys()]).toEqual(['NEW']);
    expect(cluster.engines.get('NEW')).toBe(engine);
    expect(cluster.findEngine('OLD')).toBeUndefined();
    expect(cluster.findEngine('replacement')).toBe(engine);
  });
});

describe('health and reconnects', () => {
  it('a stream that ends makes a healthy engine unhealthy, then reconnects with exponential back-off', async () => {
    const { cluster, agents, clock, healthy, events } = harness();
    const engine = healthy(A, 'E1', { containers: [container('c1', { nanoCpus: '100' })] });
    await events();
    agents.end(A, new Error('14 UNAVAILABLE: Connection dropped'));
    expect(engine.status).toBe('unhealthy');
    expect(engine.lastError).toBe('14 UNAVAILABLE: Connection dropped');
    expect(engine.failureCount).toBe(1);
    const [disconnect, ...rest] = await events();
    expect(rest).toEqual([]);
    expect(disconnect).toMatchObject({ type: 'engine', action: 'disconnect', error: '14 UNAVAILABLE: Connection dropped', engine: { id: 'E1', address: A } });
    expect(disconnect.engineState).toMatchObject({ status: EngineStatus.ENGINE_STATUS_UNHEALTHY, health: 0 });
    // It stays in the cluster with what it had.
    expect(cluster.engines.get('E1')).toBe(engine);
    expect(cluster.listEngines()).toEqual([engine]);
    expect(engine.containers.size).toBe(1);
    expect(engine.reservedNanoCpus).toBe(100);
    expect(cluster.info().engineCounts).toEqual({ pending: 0, healthy: 0, unhealthy: 1, disconnected: 0 });
    expect(cluster.info().containers?.total).toBe(1);
    // 200 ms, 400, 800, ... up to 10 s.
    let failures = 1;
    for (const delay of [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]) {
      await clock.advance(delay - 1);
      expect(agents.open(A)).toHaveLength(0);
      await clock.advance(1);
      expect(agents.open(A)).toHaveLength(1);
      agents.end(A, new Error(`attempt ${failures}`));
      failures++;
      expect(engine.failureCount).toBe(failures);
      expect(engine.lastError).toBe(`attempt ${failures - 1}`);
      expect(engine.status).toBe('unhealthy');
    }
    // No more engine events while it stays down.
    expect(await events()).toEqual([]);
    await clock.advance(10_000);
    agents.snapshot(A, engineSnapshot('E1', { containers: [] }));
    expect(engine.status).toBe('healthy');
    expect(engine.failureCount).toBe(0);
    expect(engine.lastError).toBe('');
    expect(engine.containers.size).toBe(0);
    const [reconnect, ...more] = await events();
    expect(more).toEqual([]);
    expect(reconnect).toMatchObject({ type: 'engine', action: 'reconnect', engine: { id: 'E1', address: A } });
    // The back-off starts again from the beginning after a success.
    agents.end(A);
    await clock.advance(200);
    expect(agents.open(A)).toHaveLength(1);
  });

  it('a stream that ends without an error says the agent ended it', () => {
    const { agents, healthy } = harness();
    const engine = healthy(A, 'E1');
    const stream = agents.open(A)[0];
    stream.closed = true;
    stream.listener.end(undefined);
    expect(engine.status).toBe('unhealthy');
    expect(engine.lastError).toBe('the agent ended its Watch stream');
  });

  it('a state message saying Docker is unreachable makes the engine unhealthy; the next snapshot brings it back', async () => {
    const { cluster, agents, healthy, engineEvents, clock } = harness();
    const engine = healthy(A, 'E1');
    await engineEvents();
    agents.send(A, unreachable('Cannot connect to the Docker daemon at unix:///var/run/docker.sock'));
    expect(engine.status).toBe('unhealthy');
    expect(engine.lastError).toBe('Docker engine unreachable: Cannot connect to the Docker daemon at unix:///var/run/docker.sock');
    expect(await engineEvents()).toEqual([`disconnect@${A}`]);
    // The agent is still there: the stream stays open and nothing is retried.
    expect(agents.open(A)).toHaveLength(1);
    expect(clock.pending).toBe(0);
    expect(cluster.engines.get('E1')).toBe(engine);
    // Repeats change nothing more.
    agents.send(A, unreachable('still down'));
    expect(await engineEvents()).toEqual([]);
    expect(engine.lastError).toBe('Docker engine unreachable: still down');
    agents.send(A, reachable());
    expect(engine.status).toBe('unhealthy');
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
    expect(engine.lastError).toBe('');
    expect(await engineEvents()).toEqual([`reconnect@${A}`]);
  });

  it('a pending engine whose Docker is unreachable stays pending and says why', async () => {
    const { cluster, agents, engineEvents } = harness();
    cluster.addEngine(A);
    await engineEvents();
    agents.send(A, unreachable('no socket'));
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(engine.lastError).toBe('Docker engine unreachable: no socket');
    expect(await engineEvents()).toEqual([]);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
  });

  it('an engine silent for heartbeatTolerance intervals is unhealthy (once start() runs the sweep)', async () => {
    const { cluster, agents, clock, healthy, engineEvents } = harness();
    cluster.start();
    const engine = healthy(A, 'E1');
    await engineEvents();
    await clock.advance(3000);
    expect(engine.status).toBe('healthy');
    await clock.advance(250);
    expect(engine.status).toBe('unhealthy');
    expect(engine.lastError).toBe('no heartbeat from the agent for 3250 ms (3 intervals of 1000 ms)');
    expect(engine.failureCount).toBe(1);
    expect(await engineEvents()).toEqual([`disconnect@${A}`]);
    // The silent stream is closed and a reconnect is on its way.
    expect(agents.open(A)).toHaveLength(0);
    await clock.advance(200);
    expect(agents.open(A)).toHaveLength(1);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
    expect(await engineEvents()).toEqual([`reconnect@${A}`]);
  });

  it('without start() nobody watches for silence', async () => {
    const { clock, healthy } = harness();
    const engine = healthy(A, 'E1');
    await clock.advance(10 * 60_000);
    expect(engine.status).toBe('healthy');
    expect(clock.pending).toBe(0);
  });

  it('start() is idempotent: one sweep timer', () => {
    const { cluster, clock } = harness();
    cluster.start();
    cluster.start();
    expect(clock.pending).toBe(1);
    cluster.stop();
    expect(clock.pending).toBe(0);
  });

  it('regular heartbeats keep an engine healthy', async () => {
    const { cluster, agents, clock, healthy, engineEvents } = harness();
    cluster.start();
    const engine = healthy(A, 'E1');
    await engineEvents();
    for (let i = 0; i < 200; i++) {
      await clock.advance(1000);
      agents.send(A, heartbeat(1000));
    }
    // Even late ones, as long as fewer than three intervals pass.
    for (let i = 0; i < 20; i++) {
      await clock.advance(2900);
      agents.send(A, heartbeat(1000));
    }
    expect(engine.status).toBe('healthy');
    expect(await engineEvents()).toEqual([]);
    expect(agents.streams).toHaveLength(1);
  });

  it("honours the agent's own heartbeat interval and the configured tolerance", async () => {
    const { cluster, agents, clock, healthy } = harness({ heartbeatTolerance: 2 });
    cluster.start();
    const engine = healthy(A, 'E1');
    agents.send(A, heartbeat(5000));
    await clock.advance(10_000);
    expect(engine.status).toBe('healthy');
    await clock.advance(250);
    expect(engine.status).toBe('unhealthy');
    expect(engine.lastError).toBe('no heartbeat from the agent for 10250 ms (2 intervals of 5000 ms)');
  });

  it('a fast agent interval is held to its own pace', async () => {
    const { cluster, agents, clock, healthy } = harness();
    cluster.start();
    const engine = healthy(A, 'E1');
    agents.send(A, heartbeat(100));
    await clock.advance(250);
    expect(engine.status).toBe('healthy');
    await clock.advance(250);
    expect(engine.status).toBe('unhealthy');
  });

  it('an agent that accepts the stream but never speaks is retried as pending', async () => {
    const { cluster, agents, clock, engineEvents } = harness();
    cluster.start();
    cluster.addEngine(A);
    await engineEvents();
    await clock.advance(3250);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(engine.lastError).toMatch(/^no heartbeat from the agent for 3250 ms/);
    expect(agents.open(A)).toHaveLength(0);
    expect(await engineEvents()).toEqual([]);
    await clock.advance(1000);
    expect(agents.open(A)).toHaveLength(1);
  });

  it('health is 100 when stable, lower for each failure in the window, 1 while flapping, 0 unless healthy', async () => {
    const { cluster, agents, clock, healthy } = harness();
    const engine = healthy(A, 'E1');
    expect(cluster.health(engine)).toBe(100);
    const flap = async () => {
      agents.end(A);
      expect(cluster.health(engine)).toBe(0);
      expect(cluster.view(engine).health).toBe(0);
      await clock.advance(200);
      agents.snapshot(A, engineSnapshot('E1'));
    };
    await flap();
    expect(cluster.health(engine)).toBe(67);
    expect(cluster.view(engine).health).toBe(67);
    await clock.advance(60_000);
    await flap();
    expect(cluster.health(engine)).toBe(33);
    await clock.advance(60_000);
    await flap();
    // Flapping: still placeable, last in line.
    expect(cluster.health(engine)).toBe(1);
    expect(engine.status).toBe('healthy');
    expect(cluster.view(engine).healthState).toBe('flapping');
    // Failures age out of the 5-minute window one by one.
    await clock.advance(5 * 60_000 - 120_000);
    expect(cluster.health(engine)).toBe(33);
    await clock.advance(60_000);
    expect(cluster.health(engine)).toBe(67);
    await clock.advance(60_000);
    expect(cluster.health(engine)).toBe(100);
  });

  it('health follows the configured window and episodes-to-zero', async () => {
    const { cluster, agents, clock, healthy } = harness({ flapWindowMs: 10_000, flapThreshold: 4 });
    const engine = healthy(A, 'E1');
    agents.send(A, unreachable('x'));
    agents.snapshot(A, engineSnapshot('E1'));
    expect(cluster.health(engine)).toBe(75);
    await clock.advance(10_001);
    expect(cluster.health(engine)).toBe(100);
  });
});

describe('sequence gaps', () => {
  it('a skipped sequence number reopens the stream at once and resyncs from a fresh snapshot, without marking the engine unhealthy', async () => {
    const { cluster, agents, healthy, engineEvents } = harness();
    const engine = healthy(A, 'E1', { containers: [container('old', { nanoCpus: '5' })] });
    await engineEvents();
    const first = agents.open(A)[0];
    expect(cluster.activity.streamResyncs).toBe(0);
    // Message 2 is lost; 3 arrives.
    agents.send(A, heartbeat(), 3);
    expect(first.closed).toBe(true);
    expect(cluster.activity.streamResyncs).toBe(1);
    expect(agents.open(A)).toHaveLength(1);
    expect(agents.open(A)[0]).not.toBe(first);
    expect(engine.status).toBe('healthy');
    expect(cluster.engines.get('E1')).toBe(engine);
    agents.snapshot(A, engineSnapshot('E1', { containers: [container('new', { nanoCpus: '7' })] }));
    expect(engine.status).toBe('healthy');
    expect([...engine.containers.keys()]).toEqual(['new']);
    expect(engine.reservedNanoCpus).toBe(7);
    expect(await engineEvents()).toEqual([]);
    // The new stream counts from 1 again.
    agents.send(A, heartbeat());
    expect(agents.open(A)).toHaveLength(1);
  });

  it('a repeated or backward sequence number also resyncs; gaps that repeat back off', async () => {
    const { agents, clock, healthy } = harness();
    const engine = healthy(A, 'E1');
    agents.send(A, heartbeat());
    agents.send(A, heartbeat(), 2);
    expect(agents.open(A)).toHaveLength(1);
    // Another gap within a second: no new stream until the back-off passes.
    agents.send(A, heartbeat(), 7);
    expect(agents.open(A)).toHaveLength(0);
    await clock.advance(300);
    expect(agents.open(A)).toHaveLength(1);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
  });

  it('a gap before validation resyncs the pending engine', async () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    agents.send(A, { $case: 'snapshot', value: engineSnapshot('E1') }, 2);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(cluster.engines.size).toBe(0);
    expect(agents.open(A)).toHaveLength(1);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
  });

  it('messages after a gap on the old stream are ignored', async () => {
    const { agents, healthy } = harness();
    const engine = healthy(A, 'E1');
    const first = agents.open(A)[0];
    agents.send(A, heartbeat(), 5);
    // The fake lets a closed stream still call its listener: the cluster must not listen.
    first.listener.message({ sequence: '6', message: { $case: 'snapshot', value: engineSnapshot('E1', { containers: [container('ghost')] }) } });
    first.listener.end(new Error('late end'));
    expect(engine.containers.size).toBe(0);
    expect(engine.status).toBe('healthy');
    expect(agents.open(A)).toHaveLength(1);
  });
});

describe('removeEngine', () => {
  it.each([
    ['address', A],
    ['address, spelt differently', ' 10.0.0.1:4250 '],
    ['ID', 'E1'],
    ['name', 'node-1'],
  ])('removes a healthy engine by %s: stream closed, connection released, announced', async (_by, ref) => {
    const { cluster, agents, clock, healthy, events } = harness();
    const engine = healthy(A, 'E1', { name: 'node-1' });
    healthy(B, 'E2');
    await events();
    const view = cluster.removeEngine(ref);
    expect(view).toMatchObject({ address: A, id: 'E1', name: 'node-1', status: EngineStatus.ENGINE_STATUS_DISCONNECTED, health: 0 });
    expect(engine.status).toBe('disconnected');
    expect(cluster.engines.has('E1')).toBe(false);
    expect(cluster.findEngine(A)).toBeUndefined();
    expect(cluster.listEngines().map((e) => e.id)).toEqual(['E2']);
    expect(agents.open(A)).toHaveLength(0);
    expect(agents.open(B)).toHaveLength(1);
    expect(agents.released).toEqual([A]);
    expect(clock.pending).toBe(0);
    const [removed, ...rest] = await events();
    expect(rest).toEqual([]);
    expect(removed).toMatchObject({ type: 'engine', action: 'removed', engine: { id: 'E1', name: 'node-1', address: A } });
    expect(removed.engineState?.status).toBe(EngineStatus.ENGINE_STATUS_DISCONNECTED);
  });

  it('removes a pending engine, with its stream open or its retry waiting', async () => {
    const { cluster, agents, clock, engineEvents } = harness();
    cluster.addEngine(A);
    cluster.addEngine(B);
    agents.snapshot(B, engineSnapshot('E2', { cpus: 0 }));
    expect(clock.pending).toBe(1);
    await engineEvents();
    expect(cluster.removeEngine(A).status).toBe(EngineStatus.ENGINE_STATUS_DISCONNECTED);
    expect(cluster.removeEngine(B).status).toBe(EngineStatus.ENGINE_STATUS_DISCONNECTED);
    expect(cluster.pendingEngines.size).toBe(0);
    expect(agents.open()).toHaveLength(0);
    expect(clock.pending).toBe(0);
    expect(agents.released).toEqual([A, B]);
    expect(await engineEvents()).toEqual([`removed@${A}`, `removed@${B}`]);
    await clock.advance(60_000);
    expect(agents.streams).toHaveLength(2);
  });

  it('removes an unhealthy engine waiting to reconnect, and its retry never fires', async () => {
    const { cluster, agents, clock, healthy } = harness();
    healthy(A, 'E1');
    agents.end(A);
    expect(clock.pending).toBe(1);
    cluster.removeEngine('E1');
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(agents.streams).toHaveLength(1);
    expect(cluster.engines.size).toBe(0);
  });

  it('an unknown engine is NOT_FOUND and an empty one INVALID_ARGUMENT; nothing changes', async () => {
    const { cluster, healthy, events, agents } = harness();
    healthy(A, 'E1');
    await events();
    expect(() => cluster.removeEngine('E9')).toThrow(NotFoundError);
    expect(() => cluster.removeEngine('10.0.0.9:4250')).toThrow(NotFoundError);
    expect(() => cluster.removeEngine('E9')).toThrow('no engine "E9" in the cluster');
    expect(() => cluster.removeEngine('')).toThrow(InvalidArgumentError);
    expect(() => cluster.removeEngine('  ')).toThrow('engine "  ": ');
    expect(cluster.engines.size).toBe(1);
    expect(agents.released).toEqual([]);
    expect(await events()).toEqual([]);
  });

  it('a name two engines share is ambiguous: INVALID_ARGUMENT naming both, and nothing is removed', () => {
    const { cluster, healthy, agents } = harness();
    healthy(A, 'E1', { name: 'twin' });
    healthy(B, 'E2', { name: 'twin' });
    expect(() => cluster.removeEngine('twin')).toThrow(InvalidArgumentError);
    expect(() => cluster.removeEngine('twin')).toThrow(new RegExp(`^engine "twin": .*${A.replace(/\./g, '\\.')}`));
    expect(cluster.engines.size).toBe(2);
    expect(agents.released).toEqual([]);
    // The address or ID still picks one.
    cluster.removeEngine('E1');
    expect(cluster.removeEngine('twin').id).toBe('E2');
  });

  it('removing twice: the second is NOT_FOUND', () => {
    const { cluster, healthy } = harness();
    healthy(A, 'E1');
    cluster.removeEngine(A);
    expect(() => cluster.removeEngine(A)).toThrow(NotFoundError);
  });
});

describe('listEngines, findEngine and info', () => {
  function threeEngines() {
    const h = harness({ strategy: 'binpack', filters: ['health', 'constraint'], version: '1.2.3' });
    h.healthy(A, 'E1', { name: 'zeta', labels: { zone: 'a', disk: 'ssd' }, cpus: 4, memoryBytes: 8 * GiB, containers: [container('a1', { nanoCpus: '1000000000', memoryBytes: String(GiB) }), container('a2', { state: 'exited', memoryBytes: '5' })] });
    h.healthy(B, 'E2', { name: 'alpha', labels: { zone: 'b' }, cpus: 2, memoryBytes: 4 * GiB, containers: [container('b1', { state: 'paused', nanoCpus: '500000000' })] });
    h.cluster.addEngine(C);
    h.agents.end(B);
    return h;
  }

  it('lists every engine sorted by name, then address, and filters by status', () => {
    const { cluster } = threeEngines();
    expect(cluster.listEngines().map((e) => e.address)).toEqual([C, B, A]);
    expect(cluster.listEngines({ statuses: ['healthy'] }).map((e) => e.id)).toEqual(['E1']);
    expect(cluster.listEngines({ statuses: ['unhealthy', 'pending'] }).map((e) => e.address)).toEqual([C, B]);
    expect(cluster.listEngines({ statuses: ['disconnected'] })).toEqual([]);
    expect(cluster.listEngines({ statuses: [] })).toHaveLength(3);
  });

  it('filters by labels, every one must match, "*" matches any value', () => {
    const { cluster } = threeEngines();
    expect(cluster.listEngines({ labels: { zone: 'a' } }).map((e) => e.id)).toEqual(['E1']);
    expect(cluster.listEngines({ labels: { zone: '*' } }).map((e) => e.id)).toEqual(['E2', 'E1']);
    expect(cluster.listEngines({ labels: { zone: '*', disk: 'ssd' } }).map((e) => e.id)).toEqual(['E1']);
    expect(cluster.listEngines({ labels: { zone: 'b', disk: '*' } })).toEqual([]);
    expect(cluster.listEngines({ labels: { ostype: 'linux' } })).toHaveLength(2);
    expect(cluster.listEngines({ labels: { zone: 'c' } })).toEqual([]);
    expect(cluster.listEngines({ labels: {} })).toHaveLength(3);
    expect(cluster.listEngines({ statuses: ['healthy'], labels: { zone: '*' } }).map((e) => e.id)).toEqual(['E1']);
  });

  it('a "*" label filter matches only labels the engine has, not names every object has', () => {
    const { cluster } = threeEngines();
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect([key, cluster.listEngines({ labels: { [key]: '*' } }).map((e) => e.address)]).toEqual([key, []]);
    }
  });

  it('finds an engine by address (any spelling), ID or name', () => {
    const { cluster } = threeEngines();
    const e1 = cluster.engines.get('E1')!;
    expect(cluster.findEngine(A)).toBe(e1);
    expect(cluster.findEngine(' 10.0.0.1:4250 ')).toBe(e1);
    expect(cluster.findEngine('E1')).toBe(e1);
    expect(cluster.findEngine('zeta')).toBe(e1);
    expect(cluster.findEngine(' zeta ')).toBe(e1);
    expect(cluster.findEngine('E2')?.status).toBe('unhealthy');
    expect(cluster.findEngine('alpha')?.id).toBe('E2');
    expect(cluster.findEngine(C)?.status).toBe('pending');
    expect(cluster.findEngine('E3')).toBeUndefined();
    expect(cluster.findEngine('')).toBeUndefined();
    expect(cluster.findEngine('   ')).toBeUndefined();
    expect(cluster.getEngine('zeta')).toBe(e1);
    expect(() => cluster.getEngine('nobody')).toThrow(NotFoundError);
    expect(() => cluster.getEngine('', 'engine_ref')).toThrow('engine_ref "": ');
  });

  it('info counts engines by status and totals what every engine that is not pending has', () => {
    const { cluster } = threeEngines();
    const info = cluster.info();
    expect(info.strategy).toBe('binpack');
    expect(info.filters).toEqual(['health', 'constraint']);
    expect(info.managerVersion).toBe('1.2.3');
    expect(info.overcommitRatio).toBe(0.05);
    expect(info.engineCounts).toEqual({ pending: 1, healthy: 1, unhealthy: 1, disconnected: 0 });
    expect(info.engines).toEqual([]);
    expect(info.containers).toEqual({ running: 1, paused: 1, stopped: 1, total: 3 });
    expect(info.totalNanoCpus).toBe('6000000000');
    expect(info.totalMemoryBytes).toBe(String(12 * GiB));
    expect(info.reservedNanoCpus).toBe('1500000000');
    expect(info.reservedMemoryBytes).toBe(String(GiB + 5));
    expect(info.images).toBe(0);
  });

  it('info leaves out what an engine that fell back to pending last reported', () => {
    const { cluster, agents, healthy } = harness();
    healthy(A, 'E1', { cpus: 4, containers: [container('a1', { nanoCpus: '1000' })] });
    healthy(B, 'E2', { cpus: 2, containers: [container('b1', { nanoCpus: '7' })] });
    agents.snapshot(A, engineSnapshot('E1', { cpus: 0 }));
    expect(cluster.pendingEngines.get(A)?.containers.size).toBe(1);
    const info = cluster.info();
    expect(info.engineCounts).toEqual({ pending: 1, healthy: 1, unhealthy: 0, disconnected: 0 });
    expect(info.totalNanoCpus).toBe('2000000000');
    expect(info.reservedNanoCpus).toBe('7');
    expect(info.containers?.total).toBe(1);
  });

  it('info on an empty cluster, with the defaults', () => {
    const { cluster } = harness();
    expect(cluster.info()).toEqual({
      strategy: 'spread',
      filters: [],
      overcommitRatio: 0.05,
      engineCounts: { pending: 0, healthy: 0, unhealthy: 0, disconnected: 0 },
      engines: [],
      containers: { running: 0, paused: 0, stopped: 0, total: 0 },
      images: 0,
      totalNanoCpus: '0',
      totalMemoryBytes: '0',
      reservedNanoCpus: '0',
      reservedMemoryBytes: '0',
      managerVersion: '',
      eventLoopLagP99Ms: 0,
      eventLoopLagMaxMs: 0,
      lateHeartbeatSweeps: 0,
      flappingEngines: 0,
    });
  });
});

describe('overcommit', () => {
  it('defaults to 0.05 and shows usable capacity as total · (1 + ratio)', () => {
    const { cluster, healthy } = harness();
    expect(cluster.overcommitRatio).toBe(0.05);
    expect(cluster.createRetry).toBe(0);
    const v = cluster.view(healthy(A, 'E1', { cpus: 4, memoryBytes: 8 * GiB }));
    expect(v.usableNanoCpus).toBe('4200000000');
    expect(v.usableMemoryBytes).toBe(String(Math.floor(8 * GiB * 1.05)));
  });

  it.each([
    [0, '4000000000', String(8 * GiB)],
    [0.5, '6000000000', String(12 * GiB)],
    [-0.25, '3000000000', String(6 * GiB)],
    [-1, '0', '0'],
    [0.15, '4600000000', String(Math.floor((8 * GiB * 115) / 100))],
  ])('takes ratio %p', (ratio, cpus, memory) => {
    const { cluster, healthy } = harness({ overcommitRatio: ratio, createRetry: 2 });
    expect(cluster.overcommitRatio).toBe(ratio);
    expect(cluster.createRetry).toBe(2);
    const v = cluster.view(healthy(A, 'E1', { cpus: 4, memoryBytes: 8 * GiB }));
    expect([v.usableNanoCpus, v.usableMemoryBytes]).toEqual([cpus, memory]);
    expect(cluster.info().overcommitRatio).toBe(ratio);
  });

  it.each([-1.01, -2, Number.NaN])('rejects ratio %p', (ratio) => {
    expect(() => new Cluster({ connector: new FakeAgents(), clock: new FakeClock(), overcommitRatio: ratio })).toThrow(InvalidArgumentError);
    expect(() => new Cluster({ connector: new FakeAgents(), clock: new FakeClock(), overcommitRatio: ratio })).toThrow(/^overcommit .*: must be at least -1$/);
  });

  it('reserved CPUs and memory follow container deltas, stopped containers included', () => {
    const { cluster, agents, healthy } = harness();
    const engine = healthy(A, 'E1', { containers: [container('a', { nanoCpus: '1000', memoryBytes: '10' })] });
    const ev = (action: string, id: string) => ({ type: 'container', action, actorId: id, actorAttributes: {}, scope: 'local', timeNano: '0' });
    const send = (action: string, c: Container, removed = false) => agents.send(A, { $case: 'container', value: { event: ev(action, c.id), container: removed ? undefined : c, removed } });
    const reserved = () => [cluster.view(engine).reservedNanoCpus, cluster.view(engine).reservedMemoryBytes, cluster.info().reservedNanoCpus, cluster.info().reservedMemoryBytes];
    expect(reserved()).toEqual(['1000', '10', '1000', '10']);
    send('create', container('b', { state: 'created', nanoCpus: '500', memoryBytes: '5' }));
    expect(reserved()).toEqual(['1500', '15', '1500', '15']);
    send('update', container('a', { nanoCpus: '2000', memoryBytes: '20' }));
    expect(reserved()).toEqual(['2500', '25', '2500', '25']);
    send('die', container('a', { state: 'exited', nanoCpus: '2000', memoryBytes: '20' }));
    expect(reserved()).toEqual(['2500', '25', '2500', '25']);
    expect(cluster.view(engine).containers).toEqual({ running: 0, paused: 0, stopped: 2, total: 2 });
    send('destroy', container('a'), true);
    expect(reserved()).toEqual(['500', '5', '500', '5']);
    send('destroy', container('b'), true);
    expect(reserved()).toEqual(['0', '0', '0', '0']);
    expect(cluster.info().containers?.total).toBe(0);
  });
});

describe('stop', () => {
  it('closes every stream and timer and ends every subscription', async () => {
    const { cluster, agents, clock, healthy, sub } = harness();
    cluster.start();
    healthy(A, 'E1');
    healthy(B, 'E2');
    agents.end(B);
    cluster.addEngine(C);
    const other = cluster.subscribe({ types: ['container'], engines: [], containers: [] });
    expect(cluster.subscriberCount).toBe(2);
    expect(agents.open().length).toBe(2);
    expect(clock.pending).toBe(2);
    cluster.stop();
    expect(agents.open()).toHaveLength(0);
    expect(clock.pending).toBe(0);
    expect(cluster.subscriberCount).toBe(0);
    await expect(other.next()).rejects.toBeInstanceOf(CancelledError);
    await expect(sub.failed).resolves.toBeInstanceOf(CancelledError);
    await clock.advance(10 * 60_000);
    expect(agents.open()).toHaveLength(0);
    expect(clock.pending).toBe(0);
  });
});

describe('discovery pushes and engines added by hand', () => {
  it('never removes an engine added by hand when a source drops it', async () => {
    const { cluster } = harness();
    cluster.addEngine(A);
    cluster.syncEngines('file:///x', 1n, [A, B]);
    expect(cluster.findEngine(B)).toBeDefined();
    const result = cluster.syncEngines('file:///x', 2n, []);
    expect(result.removed).toEqual([B]);
    expect(cluster.findEngine(A)).toBeDefined();
    // Removed by hand, it is no longer protected.
    cluster.removeEngine(A);
    cluster.syncEngines('file:///x', 3n, [A]);
    expect(cluster.syncEngines('file:///x', 4n, []).removed).toEqual([A]);
  });
});
