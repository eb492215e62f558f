import type { Container } from '@flotilla/proto';
import type { Snapshot, WatchResponse } from '@flotilla/proto/agent';
import { FakeClock } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import { FakeAgents, engineSnapshot, recordingLogger, snapshotParts } from './testing';

type Message = NonNullable<WatchResponse['message']>;

const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';

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
    nanoCpus: '1000',
    cpuShares: '0',
    memoryBytes: '64',
    portBindings: [],
    networkMode: 'default',
    exitCode: 0,
    restartPolicy: 'no',
    ...o,
  };
}

function bigSnapshot(id: string, count: number): Snapshot {
  return {
    ...engineSnapshot(id, { containers: Array.from({ length: count }, (_, i) => container(`${id.toLowerCase()}-${i}`)) }),
    images: [{ id: 'sha256:i1', repoTags: ['busybox:latest'], repoDigests: [], sizeBytes: '1', labels: {}, created: undefined }],
    networks: [{ id: 'n1', name: 'bridge', driver: 'bridge', scope: 'local', labels: {} }],
    volumes: [{ name: 'v1', driver: 'local', mountpoint: '/v1', labels: {} }],
  };
}

function harness(options: Partial<ClusterOptions> = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const logger = recordingLogger();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, logger, ...options });
  const warnings = (text: string) => logger.lines.filter((l) => l.level === 'warn' && l.message.includes(text));
  return { clock, agents, cluster, logger, warnings };
}

describe('snapshots in parts', () => {
  it('validates and applies a new engine only when the last part arrives, with every item of every part', () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    const snapshot = bigSnapshot('E1', 10);
    const messages = snapshotParts(snapshot, 3);
    expect(messages.map((m) => m.$case)).toEqual(['snapshot', 'snapshotPart', 'snapshotPart', 'snapshotPart', 'snapshotPart']);
    for (const m of messages.slice(0, -1)) {
      agents.send(A, m);
      expect(cluster.pendingEngines.get(A)?.containers.size).toBe(0);
      expect(cluster.engines.size).toBe(0);
    }
    agents.send(A, messages[messages.length - 1]);
    const engine = cluster.engines.get('E1')!;
    expect(engine.status).toBe('healthy');
    expect([...engine.containers.keys()]).toEqual(snapshot.containers.map((c) => c.id));
    expect(engine.tally.running).toBe(10);
    expect(engine.reservedNanoCpus).toBe(10_000);
    expect([...engine.images.keys()]).toEqual(['sha256:i1']);
    expect([...engine.networks.keys()]).toEqual(['n1']);
    expect([...engine.volumes.keys()]).toEqual(['v1']);
    expect(engine.assembly).toBeUndefined();
    // Deltas after the snapshot apply as usual.
    agents.send(A, { $case: 'container', value: { event: { type: 'container', action: 'destroy', actorId: 'e1-0', actorAttributes: {}, scope: 'local', timeNano: '1' }, container: undefined, removed: true } });
    expect(engine.containers.size).toBe(9);
  });

  it('keeps a healthy engine as it was until the last part of a new snapshot, then replaces it whole', () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, bigSnapshot('E1', 2));
    const engine = cluster.engines.get('E1')!;
    const next = bigSnapshot('E1', 7);
    next.containers = next.containers.map((c) => ({ ...c, id: `new-${c.id}`, names: [`new-${c.names[0]}`] }));
    const messages = snapshotParts(next, 2);
    for (const m of messages.slice(0, -1)) {
      agents.send(A, m);
      expect([...engine.containers.keys()]).toEqual(['e1-0', 'e1-1']);
      expect(engine.status).toBe('healthy');
    }
    agents.send(A, messages[messages.length - 1]);
    expect([...engine.containers.keys()]).toEqual(next.containers.map((c) => c.id));
    expect(engine.tally.running).toBe(7);
  });

  it('validates the complete snapshot: a bad engine description is refused after the last part, as for one message', () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    const messages = snapshotParts(bigSnapshot('E1', 5), 2);
    if (messages[0].$case !== 'snapshot') throw new Error('expected the head first');
    messages[0].value.engine!.cpus = '0';
    for (const m of messages.slice(0, -1)) agents.send(A, m);
    expect(cluster.pendingEngines.get(A)?.lastError).toBe('');
    expect(agents.open(A)).toHaveLength(1);
    agents.send(A, messages[messages.length - 1]);
    expect(cluster.pendingEngines.get(A)?.lastError).toBe('engine E1 reports 0 CPUs');
    expect(agents.open(A)).toHaveLength(0);
  });

  const between: Array<[string, Message | undefined]> = [
    ['a heartbeat', { $case: 'heartbeat', value: { time: undefined, intervalMs: 1000 } }],
    ['a container delta', { $case: 'container', value: { event: { type: 'container', action: 'start', actorId: 'x', actorAttributes: {}, scope: 'local', timeNano: '1' }, container: container('x'), removed: false } }],
    ['a new snapshot', { $case: 'snapshot', value: bigSnapshot('E1', 1) }],
    ['a state message', { $case: 'state', value: { reachable: false, error: 'gone', since: undefined } }],
    ['an empty message', undefined],
  ];

  it.each(between)('treats %s between parts as a protocol error: logged, the partial snapshot dropped, the stream resynced', (_what, intruder) => {
    const { cluster, agents, warnings } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, bigSnapshot('E1', 2));
    const engine = cluster.engines.get('E1')!;
    const streams = agents.streams.length;
    const messages = snapshotParts(bigSnapshot('E1', 6), 2);
    agents.send(A, messages[0]);
    agents.send(A, messages[1]);
    expect(() => agents.sendResponse(A, { sequence: String(agents.open(A)[0].sequence + 1), message: intruder })).not.toThrow();
    expect(warnings('protocol error')).toHaveLength(1);
    expect(warnings('protocol error')[0].fields.problem).toMatch(/between the parts of a snapshot/);
    // A fresh stream at once; the engine keeps what it had, healthy.
    expect(agents.streams).toHaveLength(streams + 1);
    expect(agents.open(A)).toHaveLength(1);
    expect(engine.assembly).toBeUndefined();
    expect(engine.status).toBe('healthy');
    expect([...engine.containers.keys()]).toEqual(['e1-0', 'e1-1']);
    // The new stream's snapshot applies.
    for (const m of snapshotParts(bigSnapshot('E1', 6), 4)) agents.send(A, m);
    expect(engine.containers.size).toBe(6);
  });

  it('treats a part without a snapshot before it as a protocol error, and resyncs', () => {
    const { cluster, agents, warnings } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, bigSnapshot('E1', 2));
    const engine = cluster.engines.get('E1')!;
    agents.send(A, { $case: 'snapshotPart', value: { containers: [container('stray')], images: [], networks: [], volumes: [], more: false } });
    expect(warnings('protocol error')[0].fields.problem).toBe('a snapshot part came without a snapshot before it');
    expect(engine.containers.has('stray')).toBe(false);
    expect(agents.streams.filter((s) => s.address === A)).toHaveLength(2);
    expect(agents.open(A)).toHaveLength(1);
  });

  it('drops a partial snapshot on a sequence gap and takes the next stream from its start', () => {
    const { cluster, agents, warnings } = harness();
    cluster.addEngine(A);
    const messages = snapshotParts(bigSnapshot('E1', 6), 2);
    agents.send(A, messages[0]);
    agents.send(A, messages[1], 5);
    expect(warnings('sequence gap')).toHaveLength(1);
    expect(cluster.pendingEngines.get(A)?.assembly).toBeUndefined();
    // The old stream's last part, were it to come, is not heard; the new stream starts over.
    for (const m of messages) agents.send(A, m);
    expect(cluster.engines.get('E1')?.containers.size).toBe(6);
  });

  it('backs off when protocol errors repeat instead of reconnecting in a loop', async () => {
    const { cluster, agents, clock } = harness();
    cluster.addEngine(A);
    const part: Message = { $case: 'snapshotPart', value: { containers: [], images: [], networks: [], volumes: [], more: false } };
    agents.send(A, part);
    expect(agents.open(A)).toHaveLength(1);
    agents.send(A, part);
    expect(agents.open(A)).toHaveLength(0);
    await clock.advance(10_000);
    expect(agents.open(A)).toHaveLength(1);
  });

  it('refuses an engine whose snapshot passes the container limit, holding no more of it, and retries later', async () => {
    const { cluster, agents, clock } = harness({ maxSnapshotContainers: 10 });
    cluster.addEngine(A);
    cluster.addEngine(B);
    agents.snapshot(B, bigSnapshot('E2', 3));
    const messages = snapshotParts(bigSnapshot('E1', 15), 4);
    agents.send(A, messages[0]);
    agents.send(A, messages[1]);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.assembly).toBeDefined();
    agents.send(A, messages[2]);
    expect(engine.lastError).toBe('engine E1 sent a snapshot of more than 10 containers, the most the cluster takes from one engine');
    expect(engine.assembly).toBeUndefined();
    expect(engine.status).toBe('pending');
    expect(engine.containers.size).toBe(0);
    expect(agents.open(A)).toHaveLength(0);
    // The other engine is untouched; the refused one is tried again.
    expect(cluster.engines.get('E2')?.containers.size).toBe(3);
    await clock.advance(1000);
    expect(agents.open(A)).toHaveLength(1);
    // A single-message snapshot is held to the same limit.
    agents.snapshot(A, bigSnapshot('E1', 11));
    expect(engine.lastError).toMatch(/more than 10 containers/);
  });

  it('refuses a healthy engine whose new snapshot passes the byte budget: it goes back to pending', () => {
    const { cluster, agents } = harness({ maxSnapshotBytes: 100_000 });
    cluster.addEngine(A);
    agents.snapshot(A, bigSnapshot('E1', 2));
    const heavy = bigSnapshot('E1', 20);
    heavy.containers = heavy.containers.map((c) => ({ ...c, labels: { blob: 'x'.repeat(10_000) } }));
    for (const m of snapshotParts(heavy, 2)) {
      if (agents.open(A).length === 0) break;
      agents.send(A, m);
    }
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(engine.lastError).toMatch(/^engine E1 sent a snapshot of more than 100000 bytes \(after \d+ parts\)/);
    expect(cluster.engines.size).toBe(0);
  });
});

describe('malformed items from an agent', () => {
  it('skips bad items of a snapshot with a warning and keeps the good ones consistent', () => {
    const { cluster, agents, warnings } = harness();
    cluster.addEngine(A);
    const snapshot = engineSnapshot('E1', {
      containers: [
        container('good-1', { nanoCpus: '500', memoryBytes: '10', portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 8080 }] }),
        container(''),
        container('neg-mem', { memoryBytes: '-5' }),
        container('nan-cpu', { nanoCpus: 'abc' }),
        container('huge-cpu', { nanoCpus: '99999999999999999999' }),
        container('zombie', { state: 'zombie' }),
        container('bad-time', { created: new Date(Number.NaN) }),
        container('bad-port', { portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 70000 }] }),
        container('bad-proto', { portBindings: [{ containerPort: 80, protocol: 'icmp', hostIp: '', hostPort: 1 }] }),
        container('bad-policy', { restartPolicy: 'sometimes' }),
        container('good-2', { state: 'exited', nanoCpus: '1', memoryBytes: '1' }),
        container('good-2', { state: 'exited', nanoCpus: '2', memoryBytes: '2' }),
      ],
    });
    snapshot.images = [
      { id: 'sha256:ok', repoTags: ['a:1'], repoDigests: [], sizeBytes: '10', labels: {}, created: undefined },
      { id: '', repoTags: [], repoDigests: [], sizeBytes: '10', labels: {}, created: undefined },
      { id: 'sha256:neg', repoTags: [], repoDigests: [], sizeBytes: '-1', labels: {}, created: undefined },
    ];
    agents.snapshot(A, snapshot);
    const engine = cluster.engines.get('E1')!;
    expect(engine.status).toBe('healthy');
    expect([...engine.containers.keys()]).toEqual(['good-1', 'good-2']);
    expect(engine.reservedNanoCpus).toBe(502);
    expect(engine.reservedMemoryBytes).toBe(12);
    expect(engine.tally).toEqual({ running: 1, paused: 0, stopped: 1 });
    expect(engine.hostPortUsers('8080/tcp')).toEqual(['']);
    expect([...engine.images.keys()]).toEqual(['sha256:ok']);
    const [warning] = warnings('skipped malformed items');
    expect(warning.fields.skipped).toBe(12);
  });

  it.each([
    ['1e400', '8'],
    ['99999999999999999999', '8'],
    ['4', 'abc'],
    ['4', '-1'],
    ['2000000', '8'],
  ])('refuses an engine reporting %s CPUs and %s bytes of memory, naming the value', (cpus, memoryBytes) => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    const snapshot = engineSnapshot('E1');
    snapshot.engine = { ...snapshot.engine!, cpus, memoryBytes };
    agents.snapshot(A, snapshot);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.status).toBe('pending');
    expect(engine.lastError).toMatch(cpus === '4' ? /bytes of memory/ : /CPUs/);
  });

  it('skips malformed deltas without changing state or publishing their events', async () => {
    const { cluster, agents, warnings } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1', { containers: [container('a')] }));
    const engine = cluster.engines.get('E1')!;
    const sub = cluster.subscribe({ types: [], engines: [], containers: [] });
    const event = (o: Partial<{ timeNano: string; type: string; action: string; actorId: string }> = {}) => ({ type: 'container', action: 'start', actorId: 'a', actorAttributes: {}, scope: 'local', timeNano: '1', ...o });
    const bad: Message[] = [
      { $case: 'container', value: { event: event({ timeNano: 'abc' }), container: container('a', { state: 'exited' }), removed: false } },
      { $case: 'container', value: { event: event(), container: container('a', { memoryBytes: 'lots' }), removed: false } },
      { $case: 'container', value: { event: event({ actorId: '' }), container: undefined, removed: true } },
      { $case: 'container', value: { event: event(), container: container('a', { startedAt: new Date(8.64e15 + 1) }), removed: false } },
      { $case: 'event', value: event({ type: '', timeNano: '-1' }) },
      { $case: 'image', value: { event: event({ type: 'image' }), image: { id: 'sha256:x', repoTags: [], repoDigests: [], sizeBytes: 'NaN', labels: {}, created: undefined }, removed: false } },
    ];
    for (const m of bad) expect(() => agents.send(A, m)).not.toThrow();
    expect(warnings('malformed delta')).toHaveLength(bad.length);
    expect(engine.containers.get('a')?.state).toBe('running');
    expect(engine.images.size).toBe(0);
    expect(sub.queued).toBe(0);
    expect(engine.status).toBe('healthy');
    sub.close();
  });

  it('ignores an absurd heartbeat interval', () => {
    const { cluster, agents, warnings } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1'));
    agents.send(A, { $case: 'heartbeat', value: { time: undefined, intervalMs: 500 } });
    agents.send(A, { $case: 'heartbeat', value: { time: undefined, intervalMs: 4_000_000_000 } });
    expect(cluster.engines.get('E1')?.heartbeatIntervalMs).toBe(500);
    expect(warnings('absurd heartbeat')).toHaveLength(1);
  });
});
