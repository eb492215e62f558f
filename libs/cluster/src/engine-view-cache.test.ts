import fc from 'fast-check';
import type { Container } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';
import { ClusterEngine } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import { Engine } from './engine';
import { BinaryWriter } from '@flotilla/proto';
import { engineStatusOf, engineView, engineViewBuilds, engineViewBytes, usable, writeEngineView } from './engine-view';
import { engineSnapshot, FakeAgents } from './testing';

type Message = NonNullable<WatchResponse['message']>;

const A = '10.0.0.1:4250';
const heartbeat: Message = { $case: 'heartbeat', value: { time: undefined, intervalMs: 1000 } };

function container(id: string, o: Partial<Container> = {}): Container {
  return { id, names: [`c-${id}`], image: 'busybox', imageId: 'sha256:busybox', command: [], state: 'running', status: 'Up', labels: {}, nanoCpus: '0', cpuShares: '0', memoryBytes: '0', portBindings: [], networkMode: 'default', exitCode: 0, restartPolicy: 'no', ...o };
}

const containerDelta = (c: Container, removed = false): Message => ({
  $case: 'container',
  value: { event: { type: 'container', action: removed ? 'destroy' : 'start', actorId: c.id, actorAttributes: {}, scope: 'local', timeNano: '1' }, container: removed ? undefined : c, removed },
});

function harness(options: Partial<ClusterOptions> = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, ...options });
  cluster.addEngine(A);
  agents.snapshot(A, engineSnapshot('E1', { name: 'node-1', containers: [container('c1'), container('c2', { state: 'exited' })] }));
  const engine = cluster.engines.get('E1')!;
  let counted = engineViewBuilds();
  /**
   * The engine's view, and how many views were built since the last call: by this call, or by the
   * change before it (the cluster's engine events carry the view too).
   */
  const view = () => {
    const v = cluster.view(engine);
    const built = engineViewBuilds() - counted;
    counted = engineViewBuilds();
    return { v, built };
  };
  return { clock, agents, cluster, engine, view };
}

/** What the view shows, as engineView showed it before views were cached: every field from the engine now. */
function fresh(cluster: Cluster, engine: Engine): ClusterEngine {
  const v = cluster.view(engine);
  const { running, paused, stopped } = engine.tally;
  const until = engine.flappingUntil();
  return {
    // From the view only what the cache does not hold: the memberships.
    ...v,
    address: engine.address,
    status: engineStatusOf(engine.status),
    usableNanoCpus: String(usable(engine.cpus * 1e9, cluster.overcommitRatio)),
    usableMemoryBytes: String(usable(engine.memoryBytes, cluster.overcommitRatio)),
    id: engine.id,
    name: engine.name,
    failureCount: engine.failureCount,
    lastError: engine.lastError,
    updatedAt: new Date(engine.updatedAt),
    health: engine.healthScore(),
    info: engine.info,
    containers: { running, paused, stopped, total: running + paused + stopped },
    reservedNanoCpus: String(engine.reservedNanoCpus),
    reservedMemoryBytes: String(engine.reservedMemoryBytes),
    images: engine.images.size,
    healthState: engine.healthState(),
    recentFailures: engine.recentFailures(),
    flappingUntil: until === undefined ? undefined : new Date(until),
  };
}

describe('the cached engine view', () => {
  it('is reused across heartbeats, which move only updatedAt', () => {
    const { agents, clock, view } = harness();
    const first = view();
    const second = view();
    expect(second.built).toBe(0);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      agents.send(A, heartbeat);
      const { v, built } = view();
      expect(built).toBe(0);
      expect(v.updatedAt).toEqual(new Date(clock.now()));
      expect({ ...v, updatedAt: undefined }).toEqual({ ...first.v, updatedAt: undefined });
    }
    // Each call has its own copy: changing one changes no other.
    const a = view().v;
    a.containers!.running = 99;
    a.discoverySources.push('x');
    expect(view().v.containers!.running).toBe(1);
    expect(view().v.discoverySources).toEqual([]);
  });

  it('is rebuilt when a container comes, changes state or goes, and shows it', () => {
    const { agents, cluster, engine, view } = harness();
    expect(view().v.containers).toEqual({ running: 1, paused: 0, stopped: 1, total: 2 });
    agents.send(A, containerDelta(container('c3', { nanoCpus: '500000000', memoryBytes: '1000' })));
    let next = view();
    expect(next.built).toBe(1);
    expect(next.v).toMatchObject({ containers: { running: 2, paused: 0, stopped: 1, total: 3 }, reservedNanoCpus: '500000000', reservedMemoryBytes: '1000' });
    agents.send(A, containerDelta(container('c3', { state: 'paused', nanoCpus: '500000000', memoryBytes: '1000' })));
    expect(view().v.containers).toEqual({ running: 1, paused: 1, stopped: 1, total: 3 });
    agents.send(A, containerDelta(container('c3'), true));
    next = view();
    expect(next.built).toBe(1);
    expect(next.v).toMatchObject({ containers: { running: 1, paused: 0, stopped: 1, total: 2 }, reservedNanoCpus: '0', reservedMemoryBytes: '0' });
    expect(next.v).toEqual(fresh(cluster, engine));
  });

  it('is rebuilt for images, reservations, a new snapshot (even of the same info object) and overcommit', () => {
    const { agents, cluster, engine, view } = harness();
    view();
    agents.send(A, { $case: 'image', value: { event: { type: 'image', action: 'pull', actorId: 'sha256:x', actorAttributes: {}, scope: 'local', timeNano: '1' }, image: { id: 'sha256:x', repoTags: ['x:latest'], repoDigests: [], sizeBytes: '1', created: undefined, labels: {} }, removed: false } } as Message);
    expect(view()).toMatchObject({ built: 1, v: { images: 1 } });
    const reservation = engine.reserve({ name: 'r', nanoCpus: 250_000_000, memoryBytes: 64, ports: [] });
    expect(view()).toMatchObject({ built: 1, v: { reservedNanoCpus: '250000000', reservedMemoryBytes: '64' } });
    engine.release(reservation);
    expect(view()).toMatchObject({ built: 1, v: { reservedNanoCpus: '0', reservedMemoryBytes: '0' } });
    // A snapshot that reuses the info object, changed in place: still shown afresh.
    const snapshot = engineSnapshot('E1', { name: 'node-1', cpus: 2 });
    agents.snapshot(A, snapshot);
    expect(view()).toMatchObject({ built: 1, v: { usableNanoCpus: '2100000000', containers: { total: 0 } } });
    snapshot.engine!.cpus = '8';
    snapshot.engine!.labels = { zone: 'z' };
    agents.snapshot(A, snapshot);
    expect(view()).toMatchObject({ built: 1, v: { usableNanoCpus: '8400000000', info: { labels: { zone: 'z' } } } });
    expect(engineView(engine, 100, 0.5)).toMatchObject({ usableNanoCpus: '12000000000' });
    expect(engineView(engine, 100, 0).usableNanoCpus).toBe('8000000000');
    expect(view().v).toEqual(fresh(cluster, engine));
  });

  it('is rebuilt when the engine fails, reconnects, flaps and its failures age out of the window', async () => {
    const { agents, clock, cluster, engine, view } = harness({ flapWindowMs: 10_000, flapThreshold: 2 });
    const unreachable: Message = { $case: 'state', value: { reachable: false, error: 'docker down', since: undefined } };
    view();
    const firstFailure = clock.now();
    agents.send(A, unreachable);
    expect(view()).toMatchObject({ built: 1, v: { healthState: 'unhealthy', health: 0, lastError: 'Docker engine unreachable: docker down' } });
    await clock.advance(1000);
    agents.snapshot(A, engineSnapshot('E1', { name: 'node-1' }));
    expect(view()).toMatchObject({ built: 1, v: { healthState: 'healthy', health: 50, recentFailures: 1, lastError: '' } });
    await clock.advance(1000);
    agents.send(A, unreachable);
    agents.snapshot(A, engineSnapshot('E1', { name: 'node-1' }));
    const flapping = view();
    expect(flapping.v).toMatchObject({ healthState: 'flapping', health: 1, recentFailures: 2 });
    expect(flapping.v.flappingUntil).toEqual(new Date(firstFailure + 10_000));
    expect(flapping.v).toEqual(fresh(cluster, engine));
    // Nothing happens to the engine, but time passes: a failure leaves the window.
    await clock.advance(9_001);
    expect(view()).toMatchObject({ built: 1, v: { healthState: 'healthy', recentFailures: 1, health: 50, flappingUntil: undefined } });
    await clock.advance(1_000);
    expect(view()).toMatchObject({ built: 1, v: { healthState: 'healthy', recentFailures: 0, health: 100 } });
    expect(view().built).toBe(0);
    // A broken stream: unhealthy, with the failure counted.
    agents.end(A);
    expect(view()).toMatchObject({ built: 1, v: { healthState: 'unhealthy', failureCount: 1 } });
    expect(view().v).toEqual(fresh(cluster, engine));
  });

  it('shows memberships as they are now, without a rebuild', () => {
    const { cluster, engine, view } = harness();
    expect(view().v).toMatchObject({ addedByHand: true, discoverySources: [] });
    cluster.syncEngines('file:///x', 1n, [A], 'discovery-1');
    const v = view();
    expect(v).toMatchObject({ built: 0, v: { addedByHand: true, discoverySources: ['discovery-1 file:///x'] } });
    expect(engineViewBytes(v.v)).toBe(ClusterEngine.encode(v.v).finish().length);
    expect(engineView(engine, 100, 0)).toMatchObject({ addedByHand: false, discoverySources: [] });
  });
});

describe('engineViewBytes', () => {
  it('is the encoded size of the view, whatever its time, memberships and flapping', () => {
    const { cluster, engine } = harness({ flapWindowMs: 10_000, flapThreshold: 1 });
    const time = fc.oneof(fc.constant(0), fc.integer({ min: -1e13, max: 1e13 }), fc.integer({ min: -1000, max: 1000 }), fc.constant(253402300799999));
    const text = fc.string({ unit: fc.constantFrom('a', 'é', '\u{1F600}', ' ', '\ud800'), maxLength: 200 });
    fc.assert(
      fc.property(time, fc.boolean(), fc.array(text, { maxLength: 4 }), fc.option(time), (updatedAt, addedByHand, sources, until) => {
        engine.updatedAt = updatedAt;
        const v = engineView(engine, cluster.health(engine), 0.1, { addedByHand, discoverySources: sources });
        if (until !== null) v.flappingUntil = new Date(until);
        expect(engineViewBytes(v)).toBe(ClusterEngine.encode(v).finish().length);
        // Asked again (the cached parts reused), and for the next view of the engine.
        expect(engineViewBytes(v)).toBe(ClusterEngine.encode(v).finish().length);
      }),
    );
    // A view it did not hand out (or an empty one) is simply encoded.
    const other = ClusterEngine.fromPartial({ address: A, name: 'x' });
    expect(engineViewBytes(other)).toBe(ClusterEngine.encode(other).finish().length);
    const pending = engineView(new Engine('b:1', 0), 0, 0);
    expect(engineViewBytes(pending)).toBe(ClusterEngine.encode(pending).finish().length);
  });
});

describe('writeEngineView', () => {
  const written = (v: ClusterEngine) => writeEngineView(v, new BinaryWriter()).finish();
  const encoded = (v: ClusterEngine) => ClusterEngine.encode(v).finish();

  it('writes the bytes ClusterEngine.encode writes, whatever the time, memberships and flapping', () => {
    const { cluster, engine } = harness({ flapWindowMs: 10_000, flapThreshold: 1 });
    const time = fc.oneof(fc.constant(0), fc.integer({ min: -1e13, max: 1e13 }), fc.constant(253402300799999));
    const text = fc.string({ unit: fc.constantFrom('a', 'é', '\u{1F600}', ' '), maxLength: 50 });
    fc.assert(
      fc.property(time, fc.boolean(), fc.array(text, { maxLength: 3 }), fc.option(time), (updatedAt, addedByHand, sources, until) => {
        engine.updatedAt = updatedAt;
        const v = engineView(engine, cluster.health(engine), 0.1, { addedByHand, discoverySources: sources });
        if (until !== null) v.flappingUntil = new Date(until);
        expect(written(v)).toEqual(encoded(v));
        // Again, from the parts the first write kept.
        expect(written(v)).toEqual(encoded(v));
      }),
    );
  });

  it('follows every change of the engine, and leaves what the writer held before it', () => {
    const { agents, cluster, engine, view } = harness();
    const page = () => {
      const views = [view().v, cluster.view(engine)];
      const writer = new BinaryWriter().uint32(18).string('before');
      for (const v of views) writeEngineView(v, writer.uint32(10).fork()).join();
      const expected = new BinaryWriter().uint32(18).string('before');
      for (const v of views) ClusterEngine.encode(v, expected.uint32(10).fork()).join();
      expect(writer.finish()).toEqual(expected.finish());
    };
    page();
    agents.send(A, containerDelta(container('c3')));
    page();
    agents.send(A, containerDelta(container('c1'), true));
    page();
    agents.end(A);
    expect(cluster.view(engine).status).not.toBe(engineStatusOf('healthy'));
    page();
  });

  it('keeps its link to the cache out of sight: a view has only ClusterEngine keys, and a changed copy is written as it now is', () => {
    const { cluster, engine } = harness();
    const v = cluster.view(engine);
    expect(Object.keys(v).sort()).toEqual(Object.keys(ClusterEngine.fromPartial({})).sort());
    expect(Object.getOwnPropertySymbols({ ...v })).toEqual([]);
    expect(JSON.parse(JSON.stringify(v))).toEqual(JSON.parse(JSON.stringify(ClusterEngine.fromPartial(v))));
    const renamed = { ...v, name: 'renamed', containers: { ...v.containers!, running: 99 } };
    expect(written(renamed)).toEqual(encoded(renamed));
    expect(engineViewBytes(renamed)).toBe(encoded(renamed).length);
  });

  it('encodes a view it did not hand out', () => {
    const other = ClusterEngine.fromPartial({ address: A, name: 'x', updatedAt: new Date(5) });
    expect(written(other)).toEqual(encoded(other));
    const pending = engineView(new Engine('b:1', 0), 0, 0);
    expect(written(pending)).toEqual(encoded(pending));
  });
});
