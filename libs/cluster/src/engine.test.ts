import { InvalidArgumentError } from '@flotilla/errors';
import type { Container, DockerEvent } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';
import { EngineStatus } from '@flotilla/proto/cluster';
import { Engine, flappingHealth, type EngineDockerEvent, type EngineEventHandler } from './engine';
import { normaliseEngineAddress } from './engine-address';
import { engineStatusName, engineStatusOf, engineView, usable } from './engine-view';
import { engineSnapshot } from './testing';

const GiB = 1024 ** 3;

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

function dockerEvent(type: string, action: string, actorId: string): DockerEvent {
  return { type, action, actorId, actorAttributes: {}, scope: 'local', timeNano: '1700000000000000000' };
}

type Delta = Exclude<NonNullable<WatchResponse['message']>, { $case: 'snapshot' | 'heartbeat' | 'state' }>;

function containerDelta(action: string, c: Container, removed = false): Delta {
  return { $case: 'container', value: { event: dockerEvent('container', action, c.id), container: removed ? undefined : c, removed } };
}

class Recorder implements EngineEventHandler {
  readonly seen: { engine: Engine; event: EngineDockerEvent }[] = [];
  handleEngineEvent(engine: Engine, event: EngineDockerEvent): void {
    this.seen.push({ engine, event });
  }
}

describe('Engine: event handler', () => {
  it('starts pending with no identity, at the time it was made', () => {
    const e = new Engine('10.0.0.1:4250', 0);
    expect(e.status).toBe('pending');
    expect(e.id).toBe('');
    expect(e.name).toBe('');
    expect(e.updatedAt).toBe(0);
    expect(e.cpus).toBe(0);
    expect(e.memoryBytes).toBe(0);
    expect(e.labels).toEqual({});
  });

  it('accepts exactly one event handler; a second registration throws and the first stays', () => {
    const e = new Engine('10.0.0.1:4250', 0);
    const first = new Recorder();
    const second = new Recorder();
    e.registerEventHandler(first);
    expect(() => e.registerEventHandler(second)).toThrow('event handler already set');
    expect(() => e.registerEventHandler(first)).toThrow('event handler already set');
    e.applyDelta({ $case: 'event', value: dockerEvent('daemon', 'reload', 'd') });
    expect(first.seen).toHaveLength(1);
    expect(second.seen).toHaveLength(0);
  });

  it('applies deltas without a handler and tells nobody', () => {
    const e = new Engine('10.0.0.1:4250', 0);
    e.applyDelta(containerDelta('create', container('a', { nanoCpus: '5' })));
    expect(e.containers.has('a')).toBe(true);
    expect(e.reservedNanoCpus).toBe(5);
  });
});

describe('Engine: snapshot and deltas', () => {
  function engineWith(containers: Container[]): { engine: Engine; handler: Recorder } {
    const engine = new Engine('10.0.0.1:4250', 0);
    const handler = new Recorder();
    engine.registerEventHandler(handler);
    engine.applySnapshot({
      ...engineSnapshot('E1', { name: 'one', cpus: 8, memoryBytes: 16 * GiB, labels: { zone: 'a' }, containers }),
      images: [{ id: 'sha256:i1', repoTags: ['busybox:latest'], repoDigests: [], sizeBytes: '1', labels: {}, created: undefined }],
      networks: [{ id: 'n1', name: 'bridge', driver: 'bridge', scope: 'local', labels: {} }],
      volumes: [{ name: 'v1', driver: 'local', mountpoint: '/v1', labels: {} }],
    });
    return { engine, handler };
  }

  it('takes identity, capacity, labels and every object from a snapshot', () => {
    const { engine, handler } = engineWith([container('a')]);
    expect(engine.id).toBe('E1');
    expect(engine.name).toBe('one');
    expect(engine.cpus).toBe(8);
    expect(engine.memoryBytes).toBe(16 * GiB);
    expect(engine.labels).toEqual({ ostype: 'linux', zone: 'a' });
    expect([...engine.containers.keys()]).toEqual(['a']);
    expect([...engine.images.keys()]).toEqual(['sha256:i1']);
    expect([...engine.networks.keys()]).toEqual(['n1']);
    expect([...engine.volumes.keys()]).toEqual(['v1']);
    expect(handler.seen).toHaveLength(0);
  });

  it('reserves the CPUs and memory of every container, stopped ones included, and tallies states', () => {
    const { engine } = engineWith([
      container('run', { state: 'running', nanoCpus: '1000000000', memoryBytes: '100' }),
      container('rst', { state: 'restarting', nanoCpus: '500000000', memoryBytes: '10' }),
      container('pau', { state: 'paused', nanoCpus: '250000000', memoryBytes: '1' }),
      container('cre', { state: 'created', nanoCpus: '2', memoryBytes: '1000' }),
      container('exi', { state: 'exited', nanoCpus: '3', memoryBytes: '10000' }),
      container('dea', { state: 'dead', nanoCpus: '4', memoryBytes: '100000' }),
      container('nol', { state: 'exited' }),
    ]);
    expect(engine.reservedNanoCpus).toBe(1_750_000_009);
    expect(engine.reservedMemoryBytes).toBe(111_111);
    expect(engine.tally).toEqual({ running: 2, paused: 1, stopped: 4 });
  });

  it('replaces everything with a later snapshot, leaving nothing of the first behind', () => {
    const { engine } = engineWith([container('a', { nanoCpus: '7', memoryBytes: '7' }), container('b', { state: 'exited' })]);
    engine.applySnapshot(engineSnapshot('E1', { containers: [container('c', { nanoCpus: '1', memoryBytes: '2', state: 'paused' })] }));
    expect([...engine.containers.keys()]).toEqual(['c']);
    expect(engine.reservedNanoCpus).toBe(1);
    expect(engine.reservedMemoryBytes).toBe(2);
    expect(engine.tally).toEqual({ running: 0, paused: 1, stopped: 0 });
    expect(engine.images.size).toBe(0);
    expect(engine.networks.size).toBe(0);
    expect(engine.volumes.size).toBe(0);
  });

  it('counts a container listed twice in a snapshot once', () => {
    const { engine } = engineWith([container('a', { nanoCpus: '5' }), container('a', { nanoCpus: '6', state: 'exited' })]);
    expect(engine.containers.size).toBe(1);
    expect(engine.reservedNanoCpus).toBe(6);
    expect(engine.tally).toEqual({ running: 0, paused: 0, stopped: 1 });
  });

  it('follows a container through create, start, update, pause, die and destroy', () => {
    const { engine, handler } = engineWith([]);
    const steps: [Delta, { cpu: number; mem: number; running: number; paused: number; stopped: number; size: number }][] = [
      [containerDelta('create', container('x', { state: 'created', nanoCpus: '1000', memoryBytes: '64' })), { cpu: 1000, mem: 64, running: 0, paused: 0, stopped: 1, size: 1 }],
      [containerDelta('start', container('x', { state: 'running', nanoCpus: '1000', memoryBytes: '64' })), { cpu: 1000, mem: 64, running: 1, paused: 0, stopped: 0, size: 1 }],
      [containerDelta('update', container('x', { state: 'running', nanoCpus: '3000', memoryBytes: '32' })), { cpu: 3000, mem: 32, running: 1, paused: 0, stopped: 0, size: 1 }],
      [containerDelta('create', container('y', { state: 'created', nanoCpus: '1', memoryBytes: '1' })), { cpu: 3001, mem: 33, running: 1, paused: 0, stopped: 1, size: 2 }],
      [containerDelta('pause', container('x', { state: 'paused', nanoCpus: '3000', memoryBytes: '32' })), { cpu: 3001, mem: 33, running: 0, paused: 1, stopped: 1, size: 2 }],
      [containerDelta('die', container('x', { state: 'exited', nanoCpus: '3000', memoryBytes: '32' })), { cpu: 3001, mem: 33, running: 0, paused: 0, stopped: 2, size: 2 }],
      [containerDelta('destroy', container('x'), true), { cpu: 1, mem: 1, running: 0, paused: 0, stopped: 1, size: 1 }],
      [containerDelta('destroy', container('gone'), true), { cpu: 1, mem: 1, running: 0, paused: 0, stopped: 1, size: 1 }],
      [containerDelta('destroy', container('y'), true), { cpu: 0, mem: 0, running: 0, paused: 0, stopped: 0, size: 0 }],
    ];
    for (const [delta, want] of steps) {
      engine.applyDelta(delta);
      expect({ cpu: engine.reservedNanoCpus, mem: engine.reservedMemoryBytes, ...engine.tally, size: engine.containers.size }).toEqual(want);
    }
    expect(handler.seen.map((s) => s.event.docker.action)).toEqual(['create', 'start', 'update', 'create', 'pause', 'die', 'destroy', 'destroy', 'destroy']);
    expect(handler.seen.every((s) => s.engine === engine)).toBe(true);
    // The handler gets the container as it is after the event, and none for a removal.
    expect(handler.seen[2].event.container?.nanoCpus).toBe('3000');
    expect(handler.seen[6].event.container).toBeUndefined();
  });

  it('adds and removes images, networks and volumes, and forwards other Docker events', () => {
    const { engine, handler } = engineWith([]);
    engine.applyDelta({ $case: 'image', value: { event: dockerEvent('image', 'pull', 'sha256:i2'), image: { id: 'sha256:i2', repoTags: [], repoDigests: [], sizeBytes: '1', labels: {}, created: undefined }, removed: false } });
    engine.applyDelta({ $case: 'network', value: { event: dockerEvent('network', 'create', 'n2'), network: { id: 'n2', name: 'web', driver: 'bridge', scope: 'local', labels: {} }, removed: false } });
    engine.applyDelta({ $case: 'volume', value: { event: dockerEvent('volume', 'create', 'v2'), volume: { name: 'v2', driver: 'local', mountpoint: '/v2', labels: {} }, removed: false } });
    expect([...engine.images.keys()].sort()).toEqual(['sha256:i1', 'sha256:i2']);
    expect([...engine.networks.keys()].sort()).toEqual(['n1', 'n2']);
    expect([...engine.volumes.keys()].sort()).toEqual(['v1', 'v2']);
    engine.applyDelta({ $case: 'image', value: { event: dockerEvent('image', 'delete', 'sha256:i1'), image: undefined, removed: true } });
    engine.applyDelta({ $case: 'network', value: { event: dockerEvent('network', 'destroy', 'n1'), network: undefined, removed: true } });
    engine.applyDelta({ $case: 'volume', value: { event: dockerEvent('volume', 'destroy', 'v1'), volume: undefined, removed: true } });
    engine.applyDelta({ $case: 'event', value: dockerEvent('daemon', 'reload', 'E1') });
    expect([...engine.images.keys()]).toEqual(['sha256:i2']);
    expect([...engine.networks.keys()]).toEqual(['n2']);
    expect([...engine.volumes.keys()]).toEqual(['v2']);
    expect(handler.seen.map((s) => `${s.event.docker.type}/${s.event.docker.action}`)).toEqual([
      'image/pull',
      'network/create',
      'volume/create',
      'image/delete',
      'network/destroy',
      'volume/destroy',
      'daemon/reload',
    ]);
  });
});

describe('Engine: health indicator', () => {
  const window = 5 * 60_000;

  it('is 0 unless healthy', () => {
    const e = new Engine('a:1', 0);
    for (const status of ['pending', 'unhealthy', 'disconnected'] as const) {
      e.status = status;
      expect(e.health(0, window, 3)).toBe(0);
    }
    e.status = 'healthy';
    expect(e.health(0, window, 3)).toBe(100);
  });

  it('drops by one share per failure in the window, stays above 0 while flapping, and recovers when they age out', () => {
    const e = new Engine('a:1', 0);
    e.status = 'healthy';
    e.flaps.push(1000);
    expect(e.health(2000, window, 3)).toBe(67);
    e.flaps.push(2000);
    expect(e.health(3000, window, 3)).toBe(33);
    // At the threshold the engine is flapping: the lowest health that is still placeable.
    e.flaps.push(3000);
    expect(e.health(4000, window, 3)).toBe(flappingHealth);
    e.flaps.push(4000);
    expect(e.health(5000, window, 3)).toBe(flappingHealth);
    // The first failure leaves the window: three are left, still flapping.
    expect(e.health(1000 + window + 1, window, 3)).toBe(flappingHealth);
    expect(e.health(3000 + window + 1, window, 3)).toBe(67);
    expect(e.health(4000 + window + 1, window, 3)).toBe(100);
    expect(e.flaps).toEqual([]);
  });

  it('treats a threshold below 1 as 1, and never lets a failure below the threshold reach the flapping health', () => {
    const e = new Engine('a:1', 0);
    e.status = 'healthy';
    expect(e.health(0, window, 0)).toBe(100);
    e.flaps.push(0);
    expect(e.health(0, window, 0)).toBe(flappingHealth);
    expect(e.health(0, window, 1000)).toBeGreaterThan(flappingHealth);
    for (let i = 1; i < 999; i++) e.flaps.push(i);
    expect(e.health(999, window, 1000)).toBe(flappingHealth + 1);
  });

  it('says the same word in its state, its view and its explanation text, on its policy\'s clock', () => {
    let now = 0;
    const e = new Engine('a:1', 0, { now: () => now, flapWindowMs: window, flapThreshold: 2 });
    expect(e.healthState()).toBe('pending');
    e.status = 'healthy';
    expect([e.healthState(), e.healthText(), e.healthScore()]).toEqual(['healthy', 'healthy', 100]);
    e.flaps.push(10);
    now = 20;
    expect([e.healthState(), e.healthText(), e.healthScore(), e.flappingUntil()]).toEqual(['healthy', 'healthy, 1 failure in the last 5m (health 50)', 50, undefined]);
    e.flaps.push(20);
    const until = 10 + window;
    expect([e.healthState(), e.flappingUntil(), e.healthScore()]).toEqual(['flapping', until, flappingHealth]);
    expect(e.healthText()).toBe(`flapping: 2 failures in the last 5m; placed only when no steadier engine fits, until ${new Date(until).toISOString()}`);
    expect(engineView(e, e.healthScore(), 0)).toMatchObject({ healthState: 'flapping', recentFailures: 2, flappingUntil: new Date(until), health: flappingHealth });
    now = until + 1;
    expect([e.healthState(), e.recentFailures(), e.flappingUntil(), e.healthScore()]).toEqual(['healthy', 1, undefined, 50]);
    e.status = 'unhealthy';
    e.lastError = 'the agent ended its Watch stream';
    expect([e.healthState(), e.healthText(), e.healthScore()]).toEqual(['unhealthy', 'unhealthy: the agent ended its Watch stream', 0]);
    expect(engineView(e, e.healthScore(), 0)).toMatchObject({ healthState: 'unhealthy', flappingUntil: undefined });
  });
});

describe('engineView: overcommit arithmetic', () => {
  function healthyEngine(cpus: number, memoryBytes: number, containers: Container[] = []): Engine {
    const e = new Engine('10.0.0.1:4250', 5);
    e.applySnapshot(engineSnapshot('E1', { cpus, memoryBytes, containers }));
    e.status = 'healthy';
    return e;
  }

  it('usable is total · (1 + ratio), floored', () => {
    expect(usable(4e9, 0.05)).toBe(4.2e9);
    expect(usable(8 * GiB, 0.05)).toBe(Math.floor(8 * GiB * 1.05));
    expect(usable(8 * GiB, 0.05)).toBe(9_019_431_321);
    expect(usable(4e9, 0)).toBe(4e9);
    expect(usable(4e9, 1)).toBe(8e9);
    expect(usable(4e9, -0.5)).toBe(2e9);
    expect(usable(4e9, -1)).toBe(0);
    expect(usable(0, 0.05)).toBe(0);
    expect(usable(3, 0.5)).toBe(4);
  });

  it('is exact where total · (1 + ratio) is a whole number, despite binary rounding of 1 + ratio', () => {
    // 1 + 0.15 is 1.1499999999999999 in binary; a plain floor gave 3449999999 here.
    expect(usable(3e9, 0.15)).toBe(3_450_000_000);
    expect(usable(25 * GiB, 0.15)).toBe(25 * GiB + (25 * GiB * 15) / 100);
    for (const ratio of [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.45, 0.5, 0.75, -0.1, -0.15, -0.35, -0.5]) {
      const hundredths = Math.round(ratio * 100);
      for (let cpus = 1; cpus <= 128; cpus++) {
        const total = cpus * 1e9;
        expect([ratio, cpus, usable(total, ratio)]).toEqual([ratio, cpus, (total * (100 + hundredths)) / 100]);
      }
      for (let gib = 1; gib <= 256; gib++) {
        const total = gib * GiB;
        // Whole when GiB·(100+h) divides by 100; else the floor of the exact value.
        const exact = Number((BigInt(total) * BigInt(100 + hundredths)) / 100n);
        expect([ratio, gib, usable(total, ratio)]).toEqual([ratio, gib, exact]);
      }
    }
  });

  it('shows usable capacity with the ratio given, and what the containers reserve', () => {
    const e = healthyEngine(4, 8 * GiB, [
      container('a', { nanoCpus: '1500000000', memoryBytes: String(GiB) }),
      container('b', { state: 'exited', nanoCpus: '500000000', memoryBytes: String(2 * GiB) }),
    ]);
    const v = engineView(e, 100, 0.05);
    expect(v.usableNanoCpus).toBe('4200000000');
    expect(v.usableMemoryBytes).toBe('9019431321');
    expect(v.reservedNanoCpus).toBe('2000000000');
    expect(v.reservedMemoryBytes).toBe(String(3 * GiB));
    expect(v.containers).toEqual({ running: 1, paused: 0, stopped: 1, total: 2 });
    expect(engineView(e, 100, 0).usableNanoCpus).toBe('4000000000');
    expect(engineView(e, 100, 0).usableMemoryBytes).toBe(String(8 * GiB));
    expect(engineView(e, 100, -1).usableNanoCpus).toBe('0');
    expect(engineView(e, 100, -0.25).usableMemoryBytes).toBe(String(6 * GiB));
  });

  it('shows identity, status, health, error and time as the engine has them', () => {
    const e = healthyEngine(2, GiB);
    e.failureCount = 2;
    e.lastError = 'boom';
    const v = engineView(e, 42, 0.05);
    expect(v).toMatchObject({ address: '10.0.0.1:4250', id: 'E1', name: 'host-e1', status: EngineStatus.ENGINE_STATUS_HEALTHY, failureCount: 2, lastError: 'boom', health: 42, images: 0 });
    expect(v.updatedAt).toEqual(new Date(5));
    expect(v.info?.id).toBe('E1');
  });

  it('a never-validated engine has no capacity', () => {
    const v = engineView(new Engine('a:1', 0), 0, 0.05);
    expect(v).toMatchObject({ id: '', status: EngineStatus.ENGINE_STATUS_PENDING, usableNanoCpus: '0', usableMemoryBytes: '0', reservedNanoCpus: '0', info: undefined });
  });

  it('maps statuses both ways and names the field for an unknown one', () => {
    for (const name of ['pending', 'healthy', 'unhealthy', 'disconnected'] as const) expect(engineStatusName(engineStatusOf(name))).toBe(name);
    expect(engineStatusOf('disconnected')).toBe(EngineStatus.ENGINE_STATUS_DISCONNECTED);
    expect(() => engineStatusName(EngineStatus.ENGINE_STATUS_UNSPECIFIED)).toThrow(InvalidArgumentError);
    expect(() => engineStatusName(EngineStatus.ENGINE_STATUS_UNSPECIFIED, 'statuses[1]')).toThrow(/^statuses\[1\] 0: /);
  });
});

describe('normaliseEngineAddress', () => {
  it('gives one spelling per address', () => {
    expect(normaliseEngineAddress(' LocalHost:4250 ')).toBe('localhost:4250');
    expect(normaliseEngineAddress('NODE-1.Example.COM:2375')).toBe('node-1.example.com:2375');
    expect(normaliseEngineAddress('10.0.0.7:4250')).toBe('10.0.0.7:4250');
    expect(normaliseEngineAddress('[::1]:4250')).toBe('[::1]:4250');
    expect(normaliseEngineAddress('[FE80::1]:4250')).toBe('[fe80::1]:4250');
  });

  it.each(['nope', '', 'host', 'host:', ':4250', 'host:0', 'host:65536', 'host:x', '::1:4250', '[nothex]:1', '300.1.1.1:4250', 'a b:1', 'tcp://host:2375'])(
    'rejects %j naming the field and the value',
    (bad) => {
      expect(() => normaliseEngineAddress(bad)).toThrow(InvalidArgumentError);
      expect(() => normaliseEngineAddress(bad)).toThrow(`address ${JSON.stringify(bad)}: `);
      expect(() => normaliseEngineAddress(bad, 'engines[3]')).toThrow(`engines[3] ${JSON.stringify(bad)}: `);
    },
  );
});
