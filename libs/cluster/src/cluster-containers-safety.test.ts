import { AlreadyExistsError, CancelledError, DeadlineExceededError, InternalError, InvalidArgumentError, UnavailableError } from '@flotilla/errors';
import { Container, requestIdLabel } from '@flotilla/proto';
import { CreateContainerRequest } from '@flotilla/proto/agent';
import { ContainerSpec, type ClusterEvent } from '@flotilla/proto/cluster';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { FakeClock, flushPromises } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterContainers, startRequestedLabel } from './cluster-containers';
import { engineSnapshot, FakeAgents, recordingLogger } from './testing';

// Creates that fail half-way, lost answers, streams that lag, manager restarts and orphans.

const GiB = 1024 ** 3;
const addresses = ['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250'];
const [A, B, C] = addresses;

const spec = (fields: Partial<ContainerSpec>) => ContainerSpec.fromPartial({ image: 'busybox:local', ...fields });

/**
 * A manager (a Cluster and its ClusterContainers) over the fake engines, zones a, b, c. Another
 * one over the same agents is the manager after a restart: it learns the containers from the
 * engines' snapshots. Without `connect`, the engines stay pending until `connect(address)`.
 */
function startManager(agents: FakeAgents, clock: FakeClock, options: { createRetry?: number; orphanGraceMs?: number; connect?: boolean } = {}) {
  const events: ClusterEvent[] = [];
  const logger = recordingLogger();
  const cluster = new Cluster({ connector: agents, clock, createRetry: options.createRetry ?? 0 });
  const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler, clock, logger, settleTimeoutMs: 1000, reservationTimeoutMs: 60_000, orphanGraceMs: options.orphanGraceMs, publish: (e) => events.push(e) });
  for (const address of addresses) cluster.addEngine(address);
  const connect = (address: string) => {
    const i = addresses.indexOf(address);
    const held = [...agents.engine(address).containers.values()].map((c) => ({ ...c, labels: { ...c.labels } }));
    agents.snapshot(address, engineSnapshot(`ID${i}`, { name: `node-${i}`, labels: { zone: 'abc'[i] }, containers: held }));
  };
  if (options.connect !== false) addresses.forEach(connect);
  return {
    cluster,
    containers,
    events,
    logger,
    connect,
    stop() {
      containers.shutdown();
      cluster.stop();
    },
  };
}

/** Every container on the fake engines. */
const made = (agents: FakeAgents) => addresses.flatMap((a) => [...agents.engine(a).containers.values()]);

/** The engine's agent reports a container it made, late. */
function report(agents: FakeAgents, address: string, c: Container): void {
  agents.send(address, { $case: 'container', value: { event: { type: 'container', action: 'create', actorId: c.id, actorAttributes: { name: c.names[0] ?? '' }, scope: 'local', timeNano: '1' }, container: { ...c }, removed: false } });
}

/** A container already on a fake engine before the manager starts (no stream reports it). */
async function before(agents: FakeAgents, address: string, name: string, labels: Record<string, string> = {}, state = 'created'): Promise<Container> {
  const { id } = await agents.operations(address).createContainer(CreateContainerRequest.fromPartial({ name, image: 'busybox:local', labels }), { actingRole: undefined });
  const c = agents.engine(address).containers.get(id)!;
  c.state = state;
  return c;
}

function outcome<T>(p: Promise<T>): Promise<T | Error> {
  return p.then(
    (v) => v,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

describe('create-retry only after a failure that proves nothing was created', () => {
  it('a create that times out on engine A after A created the container is not retried on B: it answers with the container A made', async () => {
    const agents = new FakeAgents();
    const m = startManager(agents, new FakeClock(), { createRetry: 2 });
    agents.engine(A).lostAnswers.push(new DeadlineExceededError('deadline exceeded after 30s'));
    const created = await m.containers.create(spec({ name: 'slow', constraints: ['zone==~a'] }), true);
    expect(created).toMatchObject({ name: 'slow', engine: { id: 'ID0' }, retries: [], started: true, unsettled: false, foundByRequestId: false });
    expect(created.warnings).toEqual([expect.stringContaining('answer to the create was lost (deadline exceeded after 30s)')]);
    expect(made(agents).map((c) => `${c.names[0]}:${c.state}`)).toEqual(['slow:running']);
    expect([...agents.engine(B).creates, ...agents.engine(C).creates]).toEqual([]);
  });

  it('an UNAVAILABLE create its engine does not show is in doubt: refused, not retried elsewhere, its name and request ID held until the engine shows it', async () => {
    const agents = new FakeAgents();
    const clock = new FakeClock();
    const m = startManager(agents, clock, { createRetry: 2 });
    const a = agents.engine(A);
    a.quiet = true;
    a.lostAnswers.push(new UnavailableError('Connection reset by peer'));
    const creating = outcome(m.containers.create(spec({ name: 'doubt', constraints: ['zone==~a'] }), true, undefined, { requestId: 'req-doubt' }));
    await clock.advance(1000);
    const err = await creating;
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toBe(
      'Connection reset by peer; the create may still have happened on engine 10.0.0.1:4250, so it is not retried on another engine; a create with the same request_id answers with the container once the engine shows it',
    );
    expect([...agents.engine(B).creates, ...agents.engine(C).creates]).toEqual([]);
    // In doubt: the name stays taken, and the request ID makes no second container.
    await expect(m.containers.create(spec({ name: 'doubt', constraints: ['zone==b'] }), false)).rejects.toThrow(AlreadyExistsError);
    await expect(m.containers.create(spec({ name: 'doubt' }), true, undefined, { requestId: 'req-doubt' })).rejects.toThrow(
      new UnavailableError('a create with request_id "req-doubt" may have made its container on engine 10.0.0.1:4250, whose stream has not shown it yet; retry later with the same request_id'),
    );
    // The engine shows it late: its reservation is done, and a retry answers with it and starts it.
    a.quiet = false;
    report(agents, A, [...a.containers.values()][0]);
    expect(m.cluster.getEngine(A).reservations.size).toBe(0);
    const retried = await m.containers.create(spec({ name: 'doubt' }), true, undefined, { requestId: 'req-doubt' });
    expect(retried).toMatchObject({ engine: { id: 'ID0' }, started: true, foundByRequestId: true });
    expect(made(agents).map((c) => `${c.names[0]}:${c.state}`)).toEqual(['doubt:running']);
  });

  it('a failed pull is retried on another engine; an INTERNAL answer is in doubt and is not', async () => {
    const agents = new FakeAgents();
    const clock = new FakeClock();
    const m = startManager(agents, clock, { createRetry: 2 });
    agents.engine(A).pullFailure = new UnavailableError('registry unreachable');
    const pulled = await m.containers.create(spec({ name: 'pulled', image: 'redis:7', constraints: ['zone==~a'] }), false);
    expect(pulled.engine.id).not.toBe('ID0');
    expect(pulled.retries).toEqual([`${A}: image redis:7 is not on engine ${A} and could not be pulled: registry unreachable`]);

    agents.engine(B).createFailures.push(new InternalError('Docker engine at unix:///b: driver failed'));
    const creating = outcome(m.containers.create(spec({ name: 'internal', constraints: ['zone==~b'] }), false));
    await clock.advance(1000);
    expect(await creating).toBeInstanceOf(InternalError);
    expect([...agents.engine(A).creates, ...agents.engine(C).creates].map((c) => c.name)).not.toContain('internal');
  });
});

describe('settle: an answer says when the engine has not shown its effect', () => {
  it('answers unsettled when the stream does not show the effect within the settle timeout, settled when it does', async () => {
    const agents = new FakeAgents();
    const clock = new FakeClock();
    const m = startManager(agents, clock);
    const created = await m.containers.create(spec({ name: 'seen', constraints: ['zone==a'] }), true);
    expect(created.unsettled).toBe(false);
    expect(await m.containers.stop('seen', 0)).toMatchObject({ unsettled: false, alreadyStopped: false });

    agents.engine(A).quiet = true;
    const starting = m.containers.start('seen');
    await clock.advance(1000);
    expect(await starting).toMatchObject({ unsettled: true, engine: { id: 'ID0' } });
    expect(agents.engine(A).containers.get(created.id)?.state).toBe('running');
    // A signal that may leave it running is not waited for.
    expect(await m.containers.kill('seen', 'SIGHUP')).toMatchObject({ unsettled: false });
    const removing = m.containers.remove('seen', true, false);
    await clock.advance(1000);
    expect(await removing).toMatchObject({ unsettled: true });
    const quietCreate = m.containers.create(spec({ name: 'unseen', constraints: ['zone==a'] }), true);
    await clock.advance(1000);
    expect(await quietCreate).toMatchObject({ unsettled: true, started: true });
  });
});

describe('names', () => {
  it('refuses a create with a name or request ID while an engine is pending, naming it; one without either goes on', async () => {
    const agents = new FakeAgents();
    // Engine c holds "taken" from before the manager (re)started.
    await before(agents, C, 'taken');
    const m = startManager(agents, new FakeClock(), { connect: false });
    m.connect(A);
    m.connect(B);
    const why = (what: string) =>
      new UnavailableError(`cannot check that the ${what} is unique in the cluster while engines ${C} are being reached for the first time (their containers are not known yet); retry once they are healthy, or remove an engine that will not come back`);
    await expect(m.containers.create(spec({ name: 'taken' }), false)).rejects.toThrow(why('name'));
    await expect(m.containers.create(spec({}), false, undefined, { requestId: 'req-1' })).rejects.toThrow(why('request ID'));
    const unnamed = await m.containers.create(spec({}), false);
    expect(['ID0', 'ID1']).toContain(unnamed.engine.id);
    m.connect(C);
    await expect(m.containers.create(spec({ name: 'taken' }), false)).rejects.toThrow(AlreadyExistsError);
    expect([...agents.engine(A).creates, ...agents.engine(B).creates].map((c) => c.name)).toEqual(['']);
  });

  it('is not blocked by a pending engine whose first attempt failed: an address that leads nowhere cannot stop every named create', async () => {
    const agents = new FakeAgents();
    const m = startManager(agents, new FakeClock(), { connect: false });
    m.connect(A);
    m.connect(B);
    // C's agent is down: its stream ends before any snapshot.
    agents.end(C);
    await flushPromises();
    expect(m.cluster.pendingEngines.get(C)?.failureCount).toBeGreaterThan(0);
    const named = await m.containers.create(spec({ name: 'web' }), false, undefined, { requestId: 'req-2' });
    expect(['ID0', 'ID1']).toContain(named.engine.id);
    m.stop();
  });

  it('finds an exact ID first, then an exact name, then a unique ID prefix; a name of hex digits is a name', async () => {
    const agents = new FakeAgents();
    const prefixed = 'abcdef0123456789'.padEnd(64, '0');
    agents.engine(C).containers.set(prefixed, Container.fromPartial({ id: prefixed, names: ['prefixed'], image: 'busybox:local', state: 'running', nanoCpus: '0', memoryBytes: '0', cpuShares: '0' }));
    const m = startManager(agents, new FakeClock());
    const first = await m.containers.create(spec({ name: 'first', constraints: ['zone==a'] }), false);
    // Names that look like IDs are free to take: another container's whole ID, and a prefix of one.
    const idName = await m.containers.create(spec({ name: first.id, constraints: ['zone==b'] }), false);
    const hexName = await m.containers.create(spec({ name: 'abcdef012345', constraints: ['zone==b'] }), false);
    expect(m.containers.find(first.id).container.id).toBe(first.id);
    expect(m.containers.find(idName.id).container.names).toEqual([first.id]);
    expect(m.containers.find('abcdef012345').container.id).toBe(hexName.id);
    expect(m.containers.find('/abcdef012345').container.id).toBe(hexName.id);
    expect(m.containers.find('abcdef01').container.id).toBe(prefixed);
    expect(() => m.containers.find(first.id.slice(0, 12))).toThrow(InvalidArgumentError);
    expect(() => m.containers.find(first.id.slice(0, 12))).toThrow(/matches 3 containers/);
  });
});

describe('timers and cancellation', () => {
  it('leaves no timer behind: an expiry ends when the engine reports its container, and shutdown ends the rest', async () => {
    const agents = new FakeAgents();
    const clock = new FakeClock();
    const m = startManager(agents, clock);
    expect(clock.pending).toBe(0);
    const a = agents.engine(A);
    a.quiet = true;
    const late = m.containers.create(spec({ name: 'late', constraints: ['zone==a'], memoryBytes: String(GiB) }), false);
    await clock.advance(1000);
    const created = await late;
    expect(created.unsettled).toBe(true);
    expect(clock.pending).toBe(1);
    report(agents, A, a.containers.get(created.id)!);
    expect(clock.pending).toBe(0);
    expect(m.cluster.getEngine(A).reservations.size).toBe(0);

    // A held reservation, a create waiting on its settle, and the orphan sweep: shutdown ends them all.
    const held = m.containers.create(spec({ name: 'held', constraints: ['zone==a'] }), false);
    await clock.advance(1000);
    await held;
    m.containers.startSweeping();
    const waiting = m.containers.create(spec({ name: 'waiting', constraints: ['zone==a'] }), false);
    await flushPromises();
    expect(clock.pending).toBeGreaterThan(0);
    m.stop();
    expect(await waiting).toMatchObject({ unsettled: true });
    expect(clock.pending).toBe(0);
    expect(m.cluster.getEngine(A).reservations.size).toBe(0);
  });

  it("a pull inside a create ends when the create's signal aborts, or the manager stops; nothing stays reserved", async () => {
    const agents = new FakeAgents();
    const m = startManager(agents, new FakeClock());
    const a = agents.engine(A);
    a.pullGate = new Promise<void>(() => undefined);
    const caller = new AbortController();
    const creating = outcome(m.containers.create(spec({ name: 'pulling', image: 'redis:7', constraints: ['zone==a'] }), false, undefined, { signal: caller.signal }));
    await flushPromises();
    expect(a.pullSignals).toHaveLength(1);
    caller.abort();
    const err = await creating;
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toBe(`the create was cancelled while engine ${A} pulled redis:7`);
    expect(a.pullSignals[0].aborted).toBe(true);

    const stopping = outcome(m.containers.create(spec({ name: 'pulling', image: 'redis:7', constraints: ['zone==a'] }), false));
    await flushPromises();
    expect(a.pullSignals).toHaveLength(2);
    m.stop();
    expect(await stopping).toBeInstanceOf(CancelledError);
    expect(a.images.has('redis:7')).toBe(false);
    expect(m.cluster.getEngine(A).reservations.size).toBe(0);
    expect(made(agents)).toEqual([]);
  });
});

describe('request IDs make a create safe to retry', () => {
  it('the same request ID twice gives one container, started once; the container carries the ID', async () => {
    const agents = new FakeAgents();
    const m = startManager(agents, new FakeClock());
    const first = await m.containers.create(spec({ name: 'once' }), true, undefined, { requestId: 'req-1' });
    const again = await m.containers.create(spec({ name: 'once' }), true, undefined, { requestId: 'req-1' });
    expect(again).toEqual({ ...first, foundByRequestId: true });
    // Without the name, and without start, it is still the same container.
    expect((await m.containers.create(spec({}), false, undefined, { requestId: 'req-1' })).id).toBe(first.id);
    expect(made(agents)).toHaveLength(1);
    expect(made(agents)[0].labels).toMatchObject({ [requestIdLabel]: 'req-1', [startRequestedLabel]: 'true' });
    // Another name with the same ID is a mistake, not a retry; so is a malformed ID.
    await expect(m.containers.create(spec({ name: 'other' }), true, undefined, { requestId: 'req-1' })).rejects.toThrow(/^request_id "req-1": already made container [0-9a-f]{12} named "once", not "other"/);
    await expect(m.containers.create(spec({}), true, undefined, { requestId: 'a b' })).rejects.toThrow(/^request_id "a b": only \[A-Za-z0-9._-\]/);
    await expect(m.containers.create(spec({}), true, undefined, { requestId: 'x'.repeat(129) })).rejects.toThrow(InvalidArgumentError);
    // Once the container is removed, the ID creates anew.
    await m.containers.remove('once', true, false);
    const fresh = await m.containers.create(spec({ name: 'once' }), true, undefined, { requestId: 'req-1' });
    expect(fresh.id).not.toBe(first.id);
    expect(fresh.foundByRequestId).toBe(false);
  });

  it('concurrent creates with one request ID make one container', async () => {
    const agents = new FakeAgents();
    const m = startManager(agents, new FakeClock());
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    for (const address of addresses) agents.engine(address).gate = gate;
    const creates = [1, 2, 3].map(() => m.containers.create(spec({ name: 'twice' }), true, undefined, { requestId: 'req-concurrent' }));
    await flushPromises();
    expect(addresses.reduce((n, address) => n + agents.engine(address).inFlight, 0)).toBe(1);
    open();
    const results = await Promise.all(creates);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.map((r) => r.foundByRequestId)).toEqual([false, true, true]);
    expect(made(agents)).toHaveLength(1);
  });

  it('after a manager restart, the same request ID answers with the container the first manager made, and starts it', async () => {
    const agents = new FakeAgents();
    const clock = new FakeClock();
    const first = startManager(agents, clock);
    // The first manager's create reaches engine a, but its answer is lost and the manager dies.
    const a = agents.engine(A);
    a.quiet = true;
    a.lostAnswers.push(new UnavailableError('Connection reset by peer'));
    const creating = outcome(first.containers.create(spec({ name: 'crashed', constraints: ['zone==a'] }), true, undefined, { requestId: 'req-crash' }));
    await clock.advance(1000);
    expect(await creating).toBeInstanceOf(UnavailableError);
    first.stop();
    a.quiet = false;
    expect(made(agents).map((c) => `${c.names[0]}:${c.state}`)).toEqual(['crashed:created']);

    const second = startManager(agents, clock, { connect: false });
    await expect(second.containers.create(spec({ name: 'crashed' }), true, undefined, { requestId: 'req-crash' })).rejects.toThrow(UnavailableError);
    addresses.forEach(second.connect);
    const retried = await second.containers.create(spec({ name: 'crashed' }), true, undefined, { requestId: 'req-crash' });
    expect(retried).toMatchObject({ name: 'crashed', engine: { id: 'ID0' }, started: true, foundByRequestId: true, unsettled: false });
    expect(made(agents).map((c) => `${c.id}:${c.state}`)).toEqual([`${retried.id}:running`]);
    expect(a.creates).toHaveLength(1);
    second.stop();
  });
});

describe('a create still under way on an agent when its manager stopped', () => {
  it('lands after the next manager\'s snapshot: a retry with its request ID that meets its name answers with it', async () => {
    const agents = new FakeAgents();
    const m = startManager(agents, new FakeClock());
    const a = agents.engine(A);
    // The earlier manager's create reaches Docker only now, and the stream has not told yet.
    a.quiet = true;
    const late = await before(agents, A, 'landed', { [requestIdLabel]: 'req-landed', [startRequestedLabel]: 'true' });
    const retrying = m.containers.create(spec({ name: 'landed', constraints: ['zone==a'] }), true, undefined, { requestId: 'req-landed' });
    await flushPromises();
    a.quiet = false;
    report(agents, A, late);
    const retried = await retrying;
    expect(retried).toMatchObject({ id: late.id, engine: { id: 'ID0' }, started: true, foundByRequestId: true });
    expect(made(agents).map((c) => `${c.names[0]}:${c.state}`)).toEqual(['landed:running']);
    // Without the request ID the name is just taken.
    await expect(m.containers.create(spec({ name: 'landed' }), false)).rejects.toThrow(AlreadyExistsError);
  });
});

describe('orphans', () => {
  it('removes a never-started container of a create that asked to start it once the grace has passed, logs and publishes it; leaves the rest', async () => {
    const agents = new FakeAgents();
    const clock = new FakeClock();
    const orphan = await before(agents, A, 'orphan', { [requestIdLabel]: 'req-orphan', [startRequestedLabel]: 'true' });
    await before(agents, A, 'adopted', { [requestIdLabel]: 'req-adopted', [startRequestedLabel]: 'true' });
    await before(agents, A, 'create-only', { [requestIdLabel]: 'req-create-only' });
    await before(agents, A, 'ran', { [requestIdLabel]: 'req-ran', [startRequestedLabel]: 'true' }, 'exited');
    await before(agents, A, 'plain');
    const m = startManager(agents, clock, { orphanGraceMs: 10 * 60_000 });
    m.containers.startSweeping();
    await clock.advance(5 * 60_000);
    // A retry within the grace takes its container over instead.
    expect(await m.containers.create(spec({ name: 'adopted' }), true, undefined, { requestId: 'req-adopted' })).toMatchObject({ foundByRequestId: true, started: true });
    expect(agents.engine(A).containers.has(orphan.id)).toBe(true);
    await clock.advance(7 * 60_000);
    expect([...agents.engine(A).containers.values()].map((c) => c.names[0]).sort()).toEqual(['adopted', 'create-only', 'plain', 'ran']);
    const removed = m.events.filter((e) => e.action === 'orphan-remove');
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ type: 'container', engine: { id: 'ID0' }, docker: { actorId: orphan.id, actorAttributes: { name: 'orphan', [requestIdLabel]: 'req-orphan' } } });
    expect(m.logger.lines.filter((l) => l.message === 'removed an orphan container').map((l) => l.fields.id)).toEqual([orphan.id]);
    // Its name is free again.
    expect((await m.containers.create(spec({ name: 'orphan' }), false)).name).toBe('orphan');
    m.stop();
    expect(clock.pending).toBe(0);
  });
});
