import fc from 'fast-check';
import { Container, Image, Network, Volume, type DockerEvent, type EngineInfo } from '@flotilla/proto';
import type { Snapshot, SnapshotPart, WatchResponse } from '@flotilla/proto/agent';
import { ClusterEngine, ClusterEvent, GetInfoResponse } from '@flotilla/proto/cluster';
import { portKey } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { containerProblem } from './agent-input';
import { Cluster } from './cluster';
import type { Engine } from './engine';
import { FakeAgents, engineSnapshot, recordingLogger, snapshotParts } from './testing';

/*
 * A hostile fake agent: one engine's agent sends whatever a broken or lying agent could (random,
 * oversized and malformed messages, snapshots whose parts come out of order, go missing or have
 * something in between, wrong sequence numbers, dropped streams), while a well-behaved engine
 * stands beside it. The Cluster must never throw, must keep its own state consistent, and must
 * leave the other engine exactly as it was.
 */

type Message = NonNullable<WatchResponse['message']>;

const GOOD = '10.0.0.1:4250';
const BAD = '10.0.0.66:4250';
const limits = { maxSnapshotContainers: 20, maxSnapshotBytes: 64 * 1024 };

// ---- hostile values ----

const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '\ud800', 'a\udc00b', '\u0000', 'x'.repeat(3000)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);
// Accepted numbers are small (their sums stay exact); the rest are malformed or past every cap.
const int64 = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 2 ** 31 }).map(String) },
  { weight: 3, arbitrary: fc.constantFrom('0', '-1', 'abc', '', '1e400', 'NaN', 'Infinity', '1.5', ' 5', '0x10', '99999999999999999999', '9223372036854775807') },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map((n) => String(n)) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: -1n }).map((n) => String(n)) },
);
const uint = fc.oneof({ weight: 5, arbitrary: fc.nat({ max: 70_000 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 4294967295, 1.5, Number.NaN, Number.POSITIVE_INFINITY) });
const date = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.date({ min: new Date(0), max: new Date('2100-01-01T00:00:00Z') }) },
  { weight: 1, arbitrary: fc.constantFrom(new Date(Number.NaN), new Date(8.64e15), new Date(-8.64e15)) },
);
const labels = fc.dictionary(text, text, { maxKeys: 3 });
const containerId = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('c1', 'c2', 'c3', 'c4') }, { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(300)) }, { weight: 1, arbitrary: text });
const state = fc.constantFrom('running', 'exited', 'paused', 'created', 'restarting', 'dead', '', 'zombie', 'RUNNING');

const container: fc.Arbitrary<Container> = fc.record({
  id: containerId,
  names: fc.array(fc.oneof(fc.constantFrom('web', 'db'), text), { maxLength: 2 }),
  image: text,
  imageId: text,
  command: fc.array(text, { maxLength: 2 }),
  state,
  status: text,
  labels,
  nanoCpus: int64,
  cpuShares: int64,
  memoryBytes: int64,
  portBindings: fc.array(fc.record({ containerPort: uint, protocol: fc.constantFrom('', 'tcp', 'udp', 'icmp'), hostIp: fc.constantFrom('', '127.0.0.1'), hostPort: uint }), { maxLength: 2 }),
  networkMode: text,
  created: date,
  exitCode: fc.oneof(fc.integer({ min: -5, max: 255 }), fc.constantFrom(2 ** 40, 1.5, Number.NaN)),
  startedAt: date,
  finishedAt: date,
  restartPolicy: fc.constantFrom('', 'no', 'always', 'sometimes'),
});
const image: fc.Arbitrary<Image> = fc.record({ id: fc.oneof(fc.constantFrom('sha256:a', 'sha256:b'), text), repoTags: fc.array(text, { maxLength: 2 }), repoDigests: fc.constant([]), sizeBytes: int64, created: date, labels });
const network: fc.Arbitrary<Network> = fc.record({ id: fc.oneof(fc.constantFrom('n1', 'n2'), text), name: text, driver: text, scope: text, labels });
const volume: fc.Arbitrary<Volume> = fc.record({ name: fc.oneof(fc.constantFrom('v1', 'v2'), text), driver: text, mountpoint: text, labels });
const engineInfo: fc.Arbitrary<EngineInfo | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 8,
    arbitrary: fc.record({
      // Mostly its own ID; sometimes the good engine's, to try to take it over.
      id: fc.oneof({ weight: 6, arbitrary: fc.constant('BAD-ID') }, { weight: 2, arbitrary: fc.constant('GOOD-ID') }, { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(300)) }),
      name: fc.oneof(fc.constantFrom('bad', 'good'), text),
      cpus: fc.oneof({ weight: 4, arbitrary: fc.constant('4') }, { weight: 1, arbitrary: int64 }),
      memoryBytes: fc.oneof({ weight: 4, arbitrary: fc.constant('8589934592') }, { weight: 1, arbitrary: int64 }),
      labels,
      serverVersion: text,
      apiVersion: text,
      engineMaxApiVersion: text,
      operatingSystem: text,
      kernelVersion: text,
      architecture: text,
      storageDriver: text,
      systemTime: date,
    }),
  },
);
const items = {
  containers: fc.array(container, { maxLength: 8 }),
  images: fc.array(image, { maxLength: 2 }),
  networks: fc.array(network, { maxLength: 2 }),
  volumes: fc.array(volume, { maxLength: 2 }),
};
const snapshot: fc.Arbitrary<Snapshot> = fc.record({ engine: engineInfo, ...items, more: fc.boolean() });
const part: fc.Arbitrary<SnapshotPart> = fc.record({ ...items, more: fc.boolean() });
const event: fc.Arbitrary<DockerEvent> = fc.record({
  type: fc.constantFrom('container', 'image', 'network', 'volume', 'daemon', ''),
  action: fc.constantFrom('create', 'start', 'die', 'destroy', 'delete', ''),
  actorId: containerId,
  actorAttributes: labels,
  scope: text,
  timeNano: fc.oneof({ weight: 4, arbitrary: fc.constant('1700000000000000000') }, { weight: 1, arbitrary: int64 }),
});
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const message: fc.Arbitrary<Message | undefined> = fc.oneof(
  { weight: 3, arbitrary: snapshot.map((value): Message => ({ $case: 'snapshot', value })) },
  { weight: 2, arbitrary: part.map((value): Message => ({ $case: 'snapshotPart', value })) },
  { weight: 4, arbitrary: fc.record({ event: maybe(event), container: maybe(container), removed: fc.boolean() }).map((value): Message => ({ $case: 'container', value })) },
  { weight: 1, arbitrary: fc.record({ event: maybe(event), image: maybe(image), removed: fc.boolean() }).map((value): Message => ({ $case: 'image', value })) },
  { weight: 1, arbitrary: fc.record({ event: maybe(event), network: maybe(network), removed: fc.boolean() }).map((value): Message => ({ $case: 'network', value })) },
  { weight: 1, arbitrary: fc.record({ event: maybe(event), volume: maybe(volume), removed: fc.boolean() }).map((value): Message => ({ $case: 'volume', value })) },
  { weight: 1, arbitrary: event.map((value): Message => ({ $case: 'event', value })) },
  { weight: 1, arbitrary: fc.record({ time: date, intervalMs: uint }).map((value): Message => ({ $case: 'heartbeat', value })) },
  { weight: 1, arbitrary: fc.record({ reachable: fc.boolean(), error: text, since: date }).map((value): Message => ({ $case: 'state', value })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

type Sequence = 'next' | 'repeat' | 'skip' | 'zero' | 'huge' | 'garbage' | 'negative';
const sequence: fc.Arbitrary<Sequence> = fc.oneof({ weight: 12, arbitrary: fc.constant<Sequence>('next') }, { weight: 1, arbitrary: fc.constantFrom<Sequence>('repeat', 'skip', 'zero', 'huge', 'garbage', 'negative') });

type Step =
  | { kind: 'send'; message: Message | undefined; sequence: Sequence }
  /** A snapshot split into parts, maybe shuffled, with one left out, or with something in between. */
  | { kind: 'parts'; snapshot: Snapshot; perPart: number; order: number[]; drop: number | undefined; intruder: Message | undefined }
  /** An honest snapshot, so the engine gets healthy and deltas apply. */
  | { kind: 'valid'; containers: number }
  /** Too many containers, or too many bytes, for the cluster's limits. */
  | { kind: 'oversized'; bytes: boolean }
  | { kind: 'end' }
  | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('send' as const), message, sequence }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('parts' as const),
      snapshot: snapshot.map((s) => ({ ...s, more: false })),
      perPart: fc.integer({ min: 1, max: 4 }),
      order: fc.array(fc.nat({ max: 20 }), { maxLength: 3 }),
      drop: maybe(fc.nat({ max: 6 })),
      intruder: maybe(message),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('valid' as const), containers: fc.nat({ max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oversized' as const), bytes: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'end' }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
);

// ---- checks ----

function goodContainer(id: string, i: number): Container {
  return {
    id, names: [`good-${i}`], image: 'busybox', imageId: 'sha256:busybox', command: ['sleep', '1'], state: i % 2 ? 'running' : 'exited', status: 'Up', labels: { app: 'good' },
    nanoCpus: '1000', cpuShares: '0', memoryBytes: '64', portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 8000 + i }], networkMode: 'default',
    created: new Date('2026-01-01T00:00:00Z'), exitCode: 0, startedAt: undefined, finishedAt: undefined, restartPolicy: 'always',
  };
}

/** Everything about an engine a reader could see, as plain data. */
function digest(e: Engine) {
  return {
    id: e.id, name: e.name, status: e.status, info: e.info, lastError: e.lastError, failureCount: e.failureCount,
    containers: [...e.containers.entries()], images: [...e.images.entries()], networks: [...e.networks.entries()], volumes: [...e.volumes.entries()],
    tally: { ...e.tally }, cpu: e.reservedNanoCpus, memory: e.reservedMemoryBytes, labels: { ...e.labels },
  };
}

/** The engine's derived numbers and indexes agree with its containers, and all of it encodes. */
function checkEngine(cluster: Cluster, e: Engine): void {
  const tally = { running: 0, paused: 0, stopped: 0 };
  let cpu = 0;
  let memory = 0;
  const ports = new Map<string, number>();
  for (const [id, c] of e.containers) {
    expect(containerProblem(c)).toBeUndefined();
    expect(c.id).toBe(id);
    expect(e.findContainer(id)).toBe(c);
    tally[c.state === 'running' || c.state === 'restarting' ? 'running' : c.state === 'paused' ? 'paused' : 'stopped']++;
    cpu += Number(c.nanoCpus);
    memory += Number(c.memoryBytes);
    for (const p of c.portBindings) if (p.hostPort > 0) ports.set(portKey(p.hostPort, p.protocol), (ports.get(portKey(p.hostPort, p.protocol)) ?? 0) + 1);
    for (const [k, v] of Object.entries(c.labels)) expect([...e.containerLabelValues(k)]).toContain(v);
    Container.encode(c).finish();
  }
  expect(e.tally).toEqual(tally);
  expect(e.reservedNanoCpus).toBe(cpu);
  expect(e.reservedMemoryBytes).toBe(memory);
  for (const [key, users] of ports) expect(e.hostPortUsers(key)).toHaveLength(users);
  for (const i of e.images.values()) Image.encode(i).finish();
  for (const n of e.networks.values()) Network.encode(n).finish();
  for (const v of e.volumes.values()) Volume.encode(v).finish();
  ClusterEngine.encode(cluster.view(e)).finish();
  expect(e.assembly === undefined || e.assembly.containerCount <= limits.maxSnapshotContainers).toBe(true);
}

function checkCluster(cluster: Cluster, agents: FakeAgents): void {
  for (const [id, e] of cluster.engines) {
    expect(e.id).toBe(id);
    expect(e.status).not.toBe('pending');
    expect(cluster.pendingEngines.has(e.address)).toBe(false);
  }
  for (const [address, e] of cluster.pendingEngines) {
    expect(e.address).toBe(address);
    expect(e.status).toBe('pending');
  }
  for (const e of cluster.listEngines()) checkEngine(cluster, e);
  GetInfoResponse.encode(cluster.info()).finish();
  expect(agents.open(GOOD)).toHaveLength(1);
  expect(agents.open(BAD).length).toBeLessThanOrEqual(1);
}

describe('a hostile agent', () => {
  // FLOTILLA_HOSTILE_RUNS=5000 for a longer soak; the time allowed grows with it.
  const runs = Number(process.env.FLOTILLA_HOSTILE_RUNS) || 200;
  const totals = { runs: 0, steps: 0, messages: 0, healthy: 0 };

  afterAll(() => {
    console.log(`hostile agent property: ${totals.runs} cases tried, ${totals.steps} steps, ${totals.messages} messages sent; the hostile engine was healthy at the end of ${totals.healthy} cases`);
  });

  it(`never makes the Cluster throw, keeps it consistent and leaves the other engine alone (fast-check, ${runs} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30, size: 'max' }), async (plan) => {
        totals.runs++;
        const clock = new FakeClock();
        const agents = new FakeAgents();
        const logger = recordingLogger();
        const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, logger, ...limits });
        const events = cluster.subscribe({ types: [], engines: [], containers: [] }, 1_000_000);
        cluster.addEngine(GOOD);
        agents.snapshot(GOOD, engineSnapshot('GOOD-ID', { name: 'good', containers: [0, 1, 2].map((i) => goodContainer(`g${i}`, i)) }));
        const good = cluster.engines.get('GOOD-ID')!;
        const before = digest(good);
        cluster.addEngine(BAD);

        const send = (m: Message | undefined, how: Sequence = 'next') => {
          const stream = agents.open(BAD)[0];
          if (!stream) return;
          totals.messages++;
          if (how === 'next' && m) return agents.send(BAD, m);
          const n = stream.sequence;
          const seq = { next: String(n + 1), repeat: String(n), skip: String(n + 2), zero: '0', huge: '18446744073709551615', garbage: 'abc', negative: '-1' }[how];
          agents.sendResponse(BAD, { sequence: seq, message: m });
        };

        for (const s of plan) {
          totals.steps++;
          // A refused or dropped agent is let back in first, as the cluster's retry allows.
          if (agents.open(BAD).length === 0 && s.kind !== 'wait') await clock.advance(60_000);
          switch (s.kind) {
            case 'send':
              send(s.message, s.sequence);
              break;
            case 'parts': {
              const messages = snapshotParts(s.snapshot, s.perPart);
              for (const i of s.order) {
                const [a, b] = [i % messages.length, (i * 7 + 1) % messages.length];
                [messages[a], messages[b]] = [messages[b], messages[a]];
              }
              if (s.drop !== undefined && messages.length > 1) messages.splice(s.drop % messages.length, 1);
              if (s.intruder && messages.length > 1) messages.splice(1, 0, s.intruder);
              for (const m of messages) send(m);
              break;
            }
            case 'valid':
              for (const m of snapshotParts(engineSnapshot('BAD-ID', { name: 'bad', containers: Array.from({ length: s.containers }, (_, i) => goodContainer(`c${i + 1}`, i)) }), 2)) send(m);
              break;
            case 'oversized': {
              const many = engineSnapshot('BAD-ID', { containers: Array.from({ length: limits.maxSnapshotContainers + 5 }, (_, i) => goodContainer(`big${i}`, i)) });
              if (s.bytes) many.containers = many.containers.slice(0, 10).map((c) => ({ ...c, labels: { blob: 'x'.repeat(10_000) } }));
              for (const m of snapshotParts(many, 3)) send(m);
              break;
            }
            case 'end':
              if (agents.open(BAD).length) agents.end(BAD);
              break;
            case 'wait':
              await clock.advance(s.ms);
              break;
          }
          checkCluster(cluster, agents);
          expect(digest(good)).toEqual(before);
          expect(cluster.engines.get('GOOD-ID')).toBe(good);
        }

        if (cluster.findEngine(BAD)?.status === 'healthy') totals.healthy++;
        // Every event the cluster published is one its API can send.
        while (events.queued > 0) {
          const next = await events.next();
          if (next.done) break;
          ClusterEvent.encode(next.value).finish();
          if (next.value.engine?.address === GOOD) expect(next.value.type).toBe('engine');
        }
        // A bug caught by the stream handler's safety net would be logged as an error.
        expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
        cluster.stop();
        expect(clock.pending).toBe(0);
        expect(agents.open()).toHaveLength(0);
      }),
      { numRuns: runs },
    );
  }, Math.max(120_000, runs * 300));
});
