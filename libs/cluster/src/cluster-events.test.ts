import { CancelledError, InvalidArgumentError, ResourceExhaustedError } from '@flotilla/errors';
import type { Container, DockerEvent } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';
import type { ClusterEvent, WatchEventsRequest } from '@flotilla/proto/cluster';
import { FakeClock, flushPromises } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import type { Subscription } from './event-hub';
import { FakeAgents, engineSnapshot } from './testing';

type Message = NonNullable<WatchResponse['message']>;

const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';
const CID = 'c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
const OTHER = 'deadbeef0123456789abcdef0123456789abcdef0123456789abcdef01234567';

function container(id: string, o: Partial<Container> = {}): Container {
  return {
    id,
    names: [`c-${id.slice(0, 4)}`],
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

let nano = 1_700_000_000_000_000_000n;
function dockerEvent(type: string, action: string, actorId: string, attributes: Record<string, string> = {}): DockerEvent {
  nano += 1_000_000n;
  return { type, action, actorId, actorAttributes: attributes, scope: 'local', timeNano: String(nano) };
}

function containerMsg(action: string, c: Container, removed = false): Message {
  return { $case: 'container', value: { event: dockerEvent('container', action, c.id, { name: c.names[0] ?? '', image: c.image }), container: removed ? undefined : c, removed } };
}

async function drain<E>(s: Subscription<E>): Promise<E[]> {
  const out: E[] = [];
  while (s.queued > 0) {
    const r = await s.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

const all: Pick<WatchEventsRequest, 'types' | 'engines' | 'containers'> = { types: [], engines: [], containers: [] };

function harness(options: Partial<ClusterOptions> = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, ...options });
  const healthy = (address: string, id: string, opts: Parameters<typeof engineSnapshot>[1] = {}) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(id, opts));
    return cluster.engines.get(id)!;
  };
  return { clock, agents, cluster, healthy };
}

const label = (e: ClusterEvent) => `${e.type}/${e.action}@${e.engine?.name}`;

describe('event fan-out', () => {
  it('publishes every Docker event of an engine, annotated with the engine it came from', async () => {
    const { cluster, agents, healthy } = harness();
    healthy(A, 'E1', { name: 'one' });
    healthy(B, 'E2', { name: 'two' });
    const sub = cluster.subscribe(all);
    const c = container(CID, { names: ['web'] });
    agents.send(A, containerMsg('create', c));
    agents.send(B, { $case: 'image', value: { event: dockerEvent('image', 'pull', 'busybox:latest'), image: { id: 'sha256:bb', repoTags: ['busybox:latest'], repoDigests: [], sizeBytes: '1', labels: {}, created: undefined }, removed: false } });
    agents.send(A, { $case: 'network', value: { event: dockerEvent('network', 'create', 'n1'), network: { id: 'n1', name: 'front', driver: 'bridge', scope: 'local', labels: {} }, removed: false } });
    agents.send(B, { $case: 'volume', value: { event: dockerEvent('volume', 'create', 'data'), volume: { name: 'data', driver: 'local', mountpoint: '/data', labels: {} }, removed: false } });
    agents.send(A, { $case: 'event', value: dockerEvent('daemon', 'reload', 'E1') });
    agents.send(A, containerMsg('destroy', c, true));
    const got = await drain(sub);
    expect(got.map(label)).toEqual(['container/create@one', 'image/pull@two', 'network/create@one', 'volume/create@two', 'daemon/reload@one', 'container/destroy@one']);
    const [create] = got;
    expect(create).toMatchObject({ type: 'container', action: 'create', engine: { id: 'E1', name: 'one', address: A }, error: '', engineState: undefined });
    expect(create.container).toEqual(c);
    expect(create.docker?.actorId).toBe(CID);
    expect(create.time).toEqual(new Date(Number(BigInt(create.docker!.timeNano) / 1_000_000n)));
    expect(got[1].engine).toEqual({ id: 'E2', name: 'two', address: B, ip: '10.0.0.2' });
    expect(got[5].container).toBeUndefined();
  });

  it('applies each delta before publishing, to the right engine', async () => {
    const { cluster, agents, healthy } = harness();
    const one = healthy(A, 'E1');
    const two = healthy(B, 'E2');
    agents.send(A, containerMsg('create', container(CID, { state: 'created', nanoCpus: '250000000', memoryBytes: '1024' })));
    agents.send(A, containerMsg('start', container(CID, { nanoCpus: '250000000', memoryBytes: '1024' })));
    agents.send(A, containerMsg('create', container(OTHER, { state: 'created' })));
    agents.send(B, { $case: 'image', value: { event: dockerEvent('image', 'pull', 'sha256:bb'), image: { id: 'sha256:bb', repoTags: [], repoDigests: [], sizeBytes: '1', labels: {}, created: undefined }, removed: false } });
    agents.send(B, { $case: 'network', value: { event: dockerEvent('network', 'create', 'n1'), network: { id: 'n1', name: 'front', driver: 'bridge', scope: 'local', labels: {} }, removed: false } });
    agents.send(B, { $case: 'volume', value: { event: dockerEvent('volume', 'create', 'data'), volume: { name: 'data', driver: 'local', mountpoint: '/data', labels: {} }, removed: false } });
    expect(one.tally).toEqual({ running: 1, paused: 0, stopped: 1 });
    expect(one.reservedNanoCpus).toBe(250_000_000);
    expect(one.reservedMemoryBytes).toBe(1024);
    expect(two.containers.size).toBe(0);
    expect([two.images.size, two.networks.size, two.volumes.size]).toEqual([1, 1, 1]);
    expect([one.images.size, one.networks.size, one.volumes.size]).toEqual([0, 0, 0]);
    expect(cluster.info().images).toBe(1);
    expect(cluster.info().containers).toEqual({ running: 1, paused: 0, stopped: 1, total: 2 });
    agents.send(B, { $case: 'image', value: { event: dockerEvent('image', 'delete', 'sha256:bb'), image: undefined, removed: true } });
    agents.send(B, { $case: 'network', value: { event: dockerEvent('network', 'destroy', 'n1'), network: undefined, removed: true } });
    agents.send(B, { $case: 'volume', value: { event: dockerEvent('volume', 'destroy', 'data'), volume: undefined, removed: true } });
    agents.send(A, containerMsg('pause', container(CID, { state: 'paused', nanoCpus: '250000000', memoryBytes: '1024' })));
    expect([two.images.size, two.networks.size, two.volumes.size]).toEqual([0, 0, 0]);
    expect(cluster.info().containers).toEqual({ running: 0, paused: 1, stopped: 1, total: 2 });
  });

  it('publishes nothing for an engine that is not validated', async () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    const sub = cluster.subscribe({ ...all, types: ['container', 'daemon'] });
    agents.send(A, containerMsg('create', container(CID)));
    agents.send(A, { $case: 'event', value: dockerEvent('daemon', 'reload', 'x') });
    expect(await drain(sub)).toEqual([]);
  });

  it('an engine lifecycle is published as engine events with the engine state', async () => {
    const { cluster, agents, clock } = harness();
    const sub = cluster.subscribe({ ...all, types: ['engine'] });
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1', { name: 'one' }));
    agents.end(A, new Error('gone'));
    await clock.advance(200);
    agents.snapshot(A, engineSnapshot('E1', { name: 'one' }));
    cluster.removeEngine('one');
    const got = await drain(sub);
    expect(got.map((e) => `${e.action}:${e.engine?.id}:${e.error}`)).toEqual(['pending::', 'connect:E1:', 'disconnect:E1:gone', 'reconnect:E1:', 'removed:E1:']);
    expect(got.map((e) => e.engineState?.status)).toEqual([1, 2, 3, 2, 4]);
    expect(got.every((e) => e.engine?.address === A && e.docker === undefined && e.container === undefined)).toBe(true);
  });
});

describe('subscribe filters', () => {
  async function scenario(request: Partial<Pick<WatchEventsRequest, 'types' | 'engines' | 'containers'>>) {
    const { cluster, agents } = harness();
    const sub = cluster.subscribe({ ...all, ...request });
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1', { name: 'one' }));
    cluster.addEngine(B);
    agents.snapshot(B, engineSnapshot('E2', { name: 'two' }));
    agents.send(A, containerMsg('start', container(CID, { names: ['web'] })));
    agents.send(B, containerMsg('start', container(OTHER, { names: ['db'] })));
    agents.send(A, { $case: 'image', value: { event: dockerEvent('image', 'pull', 'busybox'), image: undefined, removed: false } });
    agents.send(B, { $case: 'event', value: dockerEvent('daemon', 'reload', 'E2') });
    // A container removal carries no container; the event's name attribute identifies it.
    agents.send(A, containerMsg('destroy', container(CID, { names: ['web'] }), true));
    return (await drain(sub)).map(label);
  }

  const everything = [
    'engine/pending@',
    'engine/connect@one',
    'engine/pending@',
    'engine/connect@two',
    'container/start@one',
    'container/start@two',
    'image/pull@one',
    'daemon/reload@two',
    'container/destroy@one',
  ];

  it('with no filter, sees everything', async () => {
    expect(await scenario({})).toEqual(everything);
  });

  it('filters by type, ignoring case and blanks', async () => {
    expect(await scenario({ types: ['container'] })).toEqual(['container/start@one', 'container/start@two', 'container/destroy@one']);
    expect(await scenario({ types: [' Engine ', 'DAEMON'] })).toEqual(everything.filter((e) => e.startsWith('engine/') || e.startsWith('daemon/')));
    expect(await scenario({ types: ['plugin'] })).toEqual([]);
    expect(await scenario({ types: ['', '  '] })).toEqual(everything);
  });

  it.each([['E1'], ['one'], [' one ']])('filters by engine ID or name %j', async (ref) => {
    expect(await scenario({ engines: [ref] })).toEqual(['engine/connect@one', 'container/start@one', 'image/pull@one', 'container/destroy@one']);
  });

  it.each([[A], [` ${A} `]])('filters by engine address %j, which the pending event has too', async (ref) => {
    expect(await scenario({ engines: [ref] })).toEqual(['engine/pending@', 'engine/connect@one', 'container/start@one', 'image/pull@one', 'container/destroy@one']);
  });

  it('an engine filter by ID or name misses the pending event, which has neither yet', async () => {
    expect(await scenario({ engines: ['E2'] })).toEqual(['engine/connect@two', 'container/start@two', 'daemon/reload@two']);
  });

  it('several engines are any of them; an engine not in the cluster matches nothing', async () => {
    expect(await scenario({ engines: ['E1', 'two'] })).toEqual(everything.filter((e) => e !== 'engine/pending@'));
    expect(await scenario({ engines: [A, B] })).toEqual(everything);
    expect(await scenario({ engines: ['E9'] })).toEqual([]);
  });

  it.each([
    ['full ID', CID],
    ['12-character prefix', CID.slice(0, 12)],
    ['longer prefix', CID.slice(0, 20)],
    ['name', 'web'],
  ])('filters by container %s', async (_what, ref) => {
    expect(await scenario({ containers: [ref] })).toEqual(['container/start@one', 'container/destroy@one']);
  });

  it('a container prefix shorter than 12 characters matches only a whole ID or name', async () => {
    expect(await scenario({ containers: [CID.slice(0, 11)] })).toEqual([]);
    expect(await scenario({ containers: ['we'] })).toEqual([]);
  });

  it('filters combine: every kind given must match, any value within a kind', async () => {
    expect(await scenario({ containers: ['web', 'db'] })).toEqual(['container/start@one', 'container/start@two', 'container/destroy@one']);
    expect(await scenario({ containers: ['web', 'db'], engines: ['two'] })).toEqual(['container/start@two']);
    expect(await scenario({ containers: ['web'], types: ['image'] })).toEqual([]);
    expect(await scenario({ engines: [A], types: ['engine'] })).toEqual(['engine/pending@', 'engine/connect@one']);
  });

  it.each([
    [{ engines: [''] }, 'engines[0] "": must not be empty'],
    [{ engines: ['E1', '  '] }, 'engines[1] "  ": must not be empty'],
    [{ containers: ['web', ''] }, 'containers[1] "": must not be empty'],
  ])('an empty filter value %j is INVALID_ARGUMENT naming it', (request, message) => {
    const { cluster } = harness();
    expect(() => cluster.subscribe({ ...all, ...request })).toThrow(InvalidArgumentError);
    expect(() => cluster.subscribe({ ...all, ...request })).toThrow(message);
    expect(cluster.subscriberCount).toBe(0);
  });
});

describe('slow and fast subscribers', () => {
  it('a subscriber that does not read is ended with RESOURCE_EXHAUSTED; the others and the cluster go on', async () => {
    const { cluster, agents, healthy } = harness();
    const engine = healthy(A, 'E1');
    const slow = cluster.subscribe(all, 10);
    const idleButRoomy = cluster.subscribe(all, 1000);
    const fast = cluster.subscribe(all, 1);
    const fastGot: ClusterEvent[] = [];
    let fastDone = false;
    const reader = (async () => {
      for await (const e of fast) {
        fastGot.push(e);
        if (e.action === 'stop') break;
      }
      fastDone = true;
    })();
    const slowFailed = jest.fn();
    void slow.failed.then(slowFailed);
    for (let i = 0; i < 200; i++) {
      agents.send(A, { $case: 'event', value: dockerEvent('daemon', `tick-${i}`, 'E1') });
      // The fast reader keeps up.
      await flushPromises(1);
    }
    agents.send(A, { $case: 'event', value: dockerEvent('daemon', 'stop', 'E1') });
    await reader;
    expect(fastDone).toBe(true);
    expect(fastGot.map((e) => e.action)).toEqual([...Array(200).keys()].map((i) => `tick-${i}`).concat('stop'));
    const err = await slow.failed;
    expect(slowFailed).toHaveBeenCalledTimes(1);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    await expect(slow.next()).rejects.toBeInstanceOf(ResourceExhaustedError);
    expect((await drain(idleButRoomy)).length).toBe(201);
    expect(cluster.subscriberCount).toBe(1);
    // The cluster kept going.
    expect(engine.status).toBe('healthy');
    expect(agents.open(A)).toHaveLength(1);
    agents.send(A, containerMsg('create', container(CID)));
    expect(engine.containers.size).toBe(1);
  });

  it('maxQueuedEvents is the default bound for every subscriber', async () => {
    const { cluster, agents, healthy } = harness({ maxQueuedEvents: 3 });
    healthy(A, 'E1');
    const sub = cluster.subscribe(all);
    for (let i = 0; i < 3; i++) agents.send(A, { $case: 'event', value: dockerEvent('daemon', `t${i}`, 'E1') });
    expect(sub.queued).toBe(3);
    agents.send(A, { $case: 'event', value: dockerEvent('daemon', 't3', 'E1') });
    await expect(sub.failed).resolves.toBeInstanceOf(ResourceExhaustedError);
    expect(cluster.subscriberCount).toBe(0);
  });

  it('on the defaults, a reader is not cut off by a push that replaces every engine of a full cluster', async () => {
    const { cluster } = harness();
    const addresses = (first: number) => Array.from({ length: 20_000 }, (_, i) => `10.${(first + i) >> 16}.${((first + i) >> 8) & 255}.${(first + i) & 255}:4250`);
    const sub = cluster.subscribe(all);
    const failed = jest.fn();
    void sub.failed.then(failed);
    cluster.syncEngines('file:///engines', 1n, addresses(0));
    expect((await drain(sub)).filter((e) => e.action === 'pending')).toHaveLength(20_000);
    // Every engine leaves and 20,000 others join in one call: 40,000 events before the reader can take one.
    cluster.syncEngines('file:///engines', 2n, addresses(20_000));
    const got = await drain(sub);
    expect(got.filter((e) => e.action === 'removed')).toHaveLength(20_000);
    expect(got.filter((e) => e.action === 'pending')).toHaveLength(20_000);
    expect(failed).not.toHaveBeenCalled();
    expect(cluster.subscriberCount).toBe(1);
  });

  it('a filtered-out event does not count against a subscriber', async () => {
    const { cluster, agents, healthy } = harness();
    healthy(A, 'E1');
    const sub = cluster.subscribe({ ...all, types: ['container'] }, 2);
    for (let i = 0; i < 100; i++) agents.send(A, { $case: 'event', value: dockerEvent('daemon', `t${i}`, 'E1') });
    agents.send(A, containerMsg('create', container(CID)));
    expect((await drain(sub)).map((e) => e.action)).toEqual(['create']);
  });

  it('stop() ends a subscriber that is waiting in a for-await loop with CANCELLED', async () => {
    const { cluster, agents, healthy, clock } = harness();
    cluster.start();
    healthy(A, 'E1');
    const sub = cluster.subscribe(all);
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of sub) seen.push(e.action);
    })();
    agents.send(A, { $case: 'event', value: dockerEvent('daemon', 'one', 'E1') });
    await clock.advance(10);
    cluster.stop();
    await expect(reader).rejects.toBeInstanceOf(CancelledError);
    expect(seen).toEqual(['one']);
    expect(clock.pending).toBe(0);
    expect(agents.open()).toHaveLength(0);
  });
});
