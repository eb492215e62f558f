import { Container } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';
import { Engine } from './engine';
import { engineSnapshot } from './testing';
import { pooledContainer, StringPool } from './string-pool';

function decoded(o: Partial<Container>): Container {
  // As an agent's message arrives: decoded from the wire, every string a fresh copy.
  return Container.decode(Container.encode(Container.fromPartial(o)).finish());
}

const full: Partial<Container> = {
  id: 'a'.repeat(64),
  names: ['web-1', 'alias'],
  image: 'registry.example/web:1.2',
  imageId: `sha256:${'b'.repeat(64)}`,
  command: ['sh', '-c', 'exec web --port 80'],
  state: 'running',
  status: 'Up 5 minutes',
  labels: { app: 'web', 'com.example.tier': 'front' },
  nanoCpus: '500000000',
  cpuShares: '512',
  memoryBytes: '67108864',
  portBindings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0' }],
  networkMode: 'bridge',
  created: new Date('2026-01-02T03:04:05.678Z'),
  exitCode: 0,
  startedAt: new Date('2026-01-02T03:04:06.000Z'),
  restartPolicy: 'unless-stopped',
};

describe('StringPool', () => {
  it('answers an equal string, and holds each value once', () => {
    const pool = new StringPool();
    expect(pool.intern(['bus', 'ybox'].join(''))).toBe('busybox');
    expect(pool.intern(['busy', 'box'].join(''))).toBe('busybox');
    expect(pool.size).toBe(1);
  });

  it('stays within its entries: a full pool starts over', () => {
    const pool = new StringPool(100, 256);
    for (let i = 0; i < 10_000; i++) {
      expect(pool.intern(`value-${i}`)).toBe(`value-${i}`);
      expect(pool.size).toBeLessThanOrEqual(100);
    }
    expect(pool.intern('value-9999')).toBe('value-9999');
    expect(pool.size).toBeGreaterThan(0);
  });

  it('does not hold a string longer than its limit', () => {
    const pool = new StringPool(100, 8);
    const long = 'x'.repeat(9);
    expect(pool.intern(long)).toBe(long);
    expect(pool.intern('x'.repeat(8))).toBe('xxxxxxxx');
    expect(pool.size).toBe(1);
  });
});

describe('pooledContainer', () => {
  it('reads back identical to the decoded container, and encodes to the same bytes', () => {
    const c = decoded(full);
    const kept = pooledContainer(c, new StringPool());
    expect(kept).toStrictEqual(c);
    expect(Buffer.from(Container.encode(kept).finish())).toEqual(Buffer.from(Container.encode(c).finish()));
  });

  it('keeps every field of a Container, unset ones too (a field added to the message must be added here)', () => {
    const empty = Container.fromPartial({});
    expect(Object.keys(pooledContainer(empty, new StringPool())).sort()).toEqual(Object.keys(empty).sort());
  });

  it('shares no list or labels object with the decoded container', () => {
    const c = decoded(full);
    const kept = pooledContainer(c, new StringPool());
    c.names.push('other');
    c.command.length = 0;
    c.labels.app = 'changed';
    c.portBindings[0].hostPort = 1;
    expect(kept).toStrictEqual(decoded(full));
  });

  it('pools the values containers repeat, not their IDs or names', () => {
    const pool = new StringPool();
    for (let i = 0; i < 50; i++) pooledContainer(decoded({ ...full, id: `${i}`.padStart(64, '0'), names: [`web-${i}`] }), pool);
    // image, image ID, 3 command words, state, status, 2 label keys and 2 values, 3 figures,
    // 2 port strings, network mode, restart policy: the same 18 strings for all 50.
    expect(pool.size).toBe(18);
  });
});

describe('Engine with a string pool', () => {
  type Delta = Exclude<NonNullable<WatchResponse['message']>, { $case: 'snapshot' | 'heartbeat' | 'state' }>;
  const delta = (c: Container): Delta => ({
    $case: 'container',
    value: { event: { type: 'container', action: 'start', actorId: c.id, actorAttributes: {}, scope: 'local', timeNano: '1' }, container: c, removed: false },
  });

  it('keeps the snapshot and delta containers as they were reported, and indexes them as before', () => {
    const pool = new StringPool();
    const engine = new Engine('10.0.0.1:4250', 0, undefined, undefined, pool);
    const reported = [0, 1, 2].map((i) => decoded({ ...full, id: `${i}`.padStart(64, '0'), names: [`web-${i}`], labels: { app: 'web', n: `${i % 2}` } }));
    engine.applySnapshot(engineSnapshot('E1', { containers: reported }));
    for (const c of reported) expect(engine.containerById(c.id)).toStrictEqual(c);
    expect(engine.containerByName('web-1')).toStrictEqual(reported[1]);
    expect([...engine.containerLabelValues('n')].sort()).toEqual(['0', '1']);
    expect(engine.reservedMemoryBytes).toBe(3 * 67108864);

    const stopped = decoded({ ...full, id: reported[0].id, names: ['web-0'], state: 'exited', status: 'Exited (0) 1 second ago' });
    expect(engine.applyDelta(delta(stopped))).toBeUndefined();
    expect(engine.containerById(stopped.id)).toStrictEqual(stopped);
    expect(engine.tally).toEqual({ running: 2, paused: 0, stopped: 1 });
  });

  it('tells the event handler of the container it keeps', () => {
    const engine = new Engine('10.0.0.1:4250', 0, undefined, undefined, new StringPool());
    const seen: Array<Container | undefined> = [];
    engine.registerEventHandler({ handleEngineEvent: (_e, event) => seen.push(event.container) });
    engine.applySnapshot(engineSnapshot('E1', { containers: [] }));
    const c = decoded(full);
    engine.applyDelta(delta(c));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(engine.containerById(c.id));
    expect(seen[0]).toStrictEqual(c);
  });
});
