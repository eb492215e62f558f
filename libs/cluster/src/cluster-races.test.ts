import { InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import fc from 'fast-check';
import type { Snapshot, WatchResponse } from '@flotilla/proto/agent';
import type { ClusterEvent } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import type { AgentStream, AgentStreamListener } from './agent-connector';
import { Cluster, type ClusterOptions } from './cluster';
import type { Engine } from './engine';
import type { Subscription } from './event-hub';
import { FakeAgents, engineSnapshot } from './testing';

type Message = NonNullable<WatchResponse['message']>;

const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';
const C = '10.0.0.3:4250';

async function drain<E>(s: Subscription<E>): Promise<E[]> {
  const out: E[] = [];
  while (s.queued > 0) {
    const r = await s.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

function harness(options: Partial<ClusterOptions> = {}, agents = new FakeAgents()) {
  const clock = new FakeClock();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, ...options });
  const sub = cluster.subscribe({ types: [], engines: [], containers: [] }, 1_000_000);
  const engineEvents = async (): Promise<string[]> => (await drain(sub)).filter((e) => e.type === 'engine').map((e) => `${e.action}@${e.engine?.address}`);
  return { clock, agents, cluster, sub, engineEvents };
}

describe('duplicate engine IDs', () => {
  it('the newcomer stays pending with an error naming both addresses, and is retried without leaking', async () => {
    const { cluster, agents, clock, engineEvents } = harness();
    cluster.start();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('DUP'));
    const first = cluster.engines.get('DUP')!;
    cluster.addEngine(B);
    await engineEvents();
    agents.snapshot(B, engineSnapshot('DUP'));
    const second = cluster.pendingEngines.get(B)!;
    const why = `ID duplicated: DUP shared by ${A} and ${B}`;
    expect(second.status).toBe('pending');
    expect(second.lastError).toBe(why);
    expect(second.failureCount).toBe(1);
    expect(second.id).toBe('');
    expect(cluster.engines.get('DUP')).toBe(first);
    expect(cluster.engines.size).toBe(1);
    expect(first.status).toBe('healthy');
    expect(agents.open(B)).toHaveLength(0);
    expect(await engineEvents()).toEqual([`error@${B}`]);

    // Many retries: one stream per attempt, closed when rejected; one timer at most per engine.
    for (let attempt = 2; attempt <= 25; attempt++) {
      // Keep the first engine alive through the sweep.
      agents.send(A, { $case: 'heartbeat', value: { time: undefined, intervalMs: 60_000 } });
      const delay = Math.min(30_000, 1000 * 2 ** (attempt - 2));
      await clock.advance(delay - 1);
      expect(agents.open(B)).toHaveLength(0);
      await clock.advance(1);
      expect(agents.open(B)).toHaveLength(1);
      expect(agents.open()).toHaveLength(2);
      // The sweep is the only timer while the attempt is under way.
      expect(clock.pending).toBe(1);
      agents.snapshot(B, engineSnapshot('DUP'));
      expect(agents.open(B)).toHaveLength(0);
      expect(agents.open()).toHaveLength(1);
      expect(clock.pending).toBe(2);
      expect(second.failureCount).toBe(attempt);
      expect(second.lastError).toBe(why);
      expect(second.status).toBe('pending');
    }
    expect(agents.streams.filter((s) => s.address === B)).toHaveLength(25);
    expect(agents.streams.filter((s) => s.address === A)).toHaveLength(1);
    expect(await engineEvents()).toEqual(Array(24).fill(`error@${B}`));
    expect(first.status).toBe('healthy');

    // When the holder goes, the next retry validates the newcomer.
    cluster.removeEngine(A);
    expect(await engineEvents()).toEqual([`removed@${A}`]);
    await clock.advance(30_000);
    expect(agents.open(B)).toHaveLength(1);
    agents.snapshot(B, engineSnapshot('DUP'));
    expect(second.status).toBe('healthy');
    expect(second.failureCount).toBe(0);
    expect(second.lastError).toBe('');
    expect(cluster.engines.get('DUP')).toBe(second);
    expect(cluster.pendingEngines.size).toBe(0);
    expect(await engineEvents()).toEqual([`connect@${B}`]);
    cluster.stop();
    expect(clock.pending).toBe(0);
    expect(agents.open()).toHaveLength(0);
  });

  it('an unhealthy holder still owns its ID', async () => {
    const { cluster, agents, clock } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('DUP'));
    agents.end(A);
    expect(cluster.engines.get('DUP')?.status).toBe('unhealthy');
    cluster.addEngine(B);
    agents.snapshot(B, engineSnapshot('DUP'));
    expect(cluster.pendingEngines.get(B)?.lastError).toBe(`ID duplicated: DUP shared by ${A} and ${B}`);
    // The holder comes back; the newcomer is still refused.
    await clock.advance(1000);
    agents.snapshot(A, engineSnapshot('DUP'));
    agents.snapshot(B, engineSnapshot('DUP'));
    expect(cluster.engines.get('DUP')?.address).toBe(A);
    expect(cluster.pendingEngines.get(B)?.failureCount).toBe(2);
  });

  it('whoever validates first holds the ID, whatever the order of adds', async () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    cluster.addEngine(B);
    cluster.addEngine(C);
    agents.snapshot(C, engineSnapshot('DUP'));
    agents.snapshot(A, engineSnapshot('DUP'));
    agents.snapshot(B, engineSnapshot('DUP'));
    expect(cluster.engines.get('DUP')?.address).toBe(C);
    expect(cluster.pendingEngines.get(A)?.lastError).toBe(`ID duplicated: DUP shared by ${C} and ${A}`);
    expect(cluster.pendingEngines.get(B)?.lastError).toBe(`ID duplicated: DUP shared by ${C} and ${B}`);
  });

  it('a healthy engine whose Docker engine is swapped for one with a taken ID goes back to pending', async () => {
    const { cluster, agents, clock, engineEvents } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1'));
    cluster.addEngine(B);
    agents.snapshot(B, engineSnapshot('E2'));
    await engineEvents();
    agents.snapshot(B, engineSnapshot('E1'));
    expect([...cluster.engines.keys()]).toEqual(['E1']);
    expect(cluster.engines.get('E1')?.address).toBe(A);
    const b = cluster.pendingEngines.get(B)!;
    expect(b.status).toBe('pending');
    expect(b.lastError).toBe(`ID duplicated: E1 shared by ${A} and ${B}`);
    expect(await engineEvents()).toEqual([`error@${B}`]);
    // Back in pending, it can still be found (and removed) by the ID it had.
    expect(cluster.findEngine('E2')).toBe(b);
    await clock.advance(1000);
    agents.snapshot(B, engineSnapshot('E2'));
    expect(cluster.engines.get('E2')).toBe(b);
  });
});

describe('remove while streams and timers are in flight', () => {
  const lateSnapshot = (stream: { listener: AgentStreamListener }, sequence: number, snapshot: Snapshot) =>
    stream.listener.message({ sequence: String(sequence), message: { $case: 'snapshot', value: snapshot } });

  it('remove during validation, then the snapshot arrives on the old stream: nothing happens', async () => {
    const { cluster, agents, clock, engineEvents } = harness();
    cluster.start();
    cluster.addEngine(A);
    const stream = agents.open(A)[0];
    const engine = cluster.pendingEngines.get(A)!;
    cluster.removeEngine(A);
    expect(await engineEvents()).toEqual([`pending@${A}`, `removed@${A}`]);
    lateSnapshot(stream, 1, engineSnapshot('E1'));
    stream.listener.message({ sequence: '2', message: { $case: 'state', value: { reachable: false, error: 'x', since: undefined } } });
    stream.listener.end(new Error('late'));
    expect(cluster.engines.size).toBe(0);
    expect(cluster.pendingEngines.size).toBe(0);
    expect(cluster.listEngines()).toEqual([]);
    expect(cluster.findEngine('E1')).toBeUndefined();
    expect(engine.status).toBe('disconnected');
    expect(engine.id).toBe('');
    expect(engine.failureCount).toBe(0);
    expect(engine.stream).toBeUndefined();
    expect(await engineEvents()).toEqual([]);
    // Only the sweep is left, and it finds nothing to do.
    expect(clock.pending).toBe(1);
    await clock.advance(60_000);
    expect(agents.streams).toHaveLength(1);
    expect(await engineEvents()).toEqual([]);
  });

  it('remove, then add the same address again: a fresh pending engine; the old stream stays ignored', async () => {
    const { cluster, agents, engineEvents } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1', { name: 'one' }));
    const old = cluster.engines.get('E1')!;
    const oldStream = agents.streams[0];
    cluster.removeEngine('one');
    expect(cluster.addEngine(A)).toBe(true);
    const fresh = cluster.pendingEngines.get(A)!;
    expect(fresh).not.toBe(old);
    expect(fresh.status).toBe('pending');
    expect(fresh.id).toBe('');
    expect(fresh.failureCount).toBe(0);
    expect(fresh.containers.size).toBe(0);
    expect(agents.open(A)).toHaveLength(1);
    expect(agents.open(A)[0]).not.toBe(oldStream);
    // A late message on the old stream is ignored, even one numbered as the new stream expects.
    lateSnapshot(oldStream, 1, engineSnapshot('E1', { name: 'ghost' }));
    oldStream.listener.end(new Error('late'));
    expect(fresh.status).toBe('pending');
    expect(old.status).toBe('disconnected');
    agents.snapshot(A, engineSnapshot('E1', { name: 'one' }));
    expect(cluster.engines.get('E1')).toBe(fresh);
    expect(fresh.status).toBe('healthy');
    expect(old.status).toBe('disconnected');
    expect(agents.released).toEqual([A]);
    expect(await engineEvents()).toEqual([`pending@${A}`, `connect@${A}`, `removed@${A}`, `pending@${A}`, `connect@${A}`]);
  });

  it("remove during a reconnect back-off, then add again: the old engine's timer opens nothing", async () => {
    const { cluster, agents, clock } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1'));
    agents.end(A);
    expect(clock.pending).toBe(1);
    cluster.removeEngine(A);
    cluster.addEngine(A);
    expect(clock.pending).toBe(0);
    expect(agents.open(A)).toHaveLength(1);
    await clock.advance(60_000);
    expect(agents.open(A)).toHaveLength(1);
    expect(agents.streams).toHaveLength(2);
  });

  it('remove a pending engine whose validation failed, before its retry: the retry never runs', async () => {
    const { cluster, agents, clock } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1', { cpus: 0 }));
    expect(clock.pending).toBe(1);
    cluster.removeEngine(A);
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(agents.streams).toHaveLength(1);
  });

  it('a duplicate that is removed while its holder is removed leaves nothing behind', async () => {
    const { cluster, agents, clock } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('DUP'));
    cluster.addEngine(B);
    agents.snapshot(B, engineSnapshot('DUP'));
    cluster.removeEngine(B);
    cluster.removeEngine(A);
    await clock.advance(60_000);
    expect(cluster.listEngines()).toEqual([]);
    expect(agents.open()).toHaveLength(0);
    expect(clock.pending).toBe(0);
    expect(agents.released).toEqual([B, A]);
  });
});

/** Agents that answer inside `watch` itself: a connector may, e.g. for a refused connection. */
class EagerAgents extends FakeAgents {
  /** What the next watch does before it returns. */
  eager: ((address: string, listener: AgentStreamListener) => void) | undefined;

  override watch(address: string, listener: AgentStreamListener): AgentStream {
    const stream = super.watch(address, listener);
    const eager = this.eager;
    if (eager) {
      const fake = this.streams[this.streams.length - 1];
      eager(address, {
        message: (m) => {
          fake.sequence = Number(m.sequence);
          listener.message(m);
        },
        end: (err) => {
          fake.closed = true;
          listener.end(err);
        },
      });
    }
    return stream;
  }
}

describe('a connector that answers synchronously', () => {
  it('a stream that fails inside watch() is not kept as the current stream', async () => {
    const agents = new EagerAgents();
    const { cluster, clock } = harness({}, agents);
    cluster.start();
    agents.eager = (_address, listener) => listener.end(new Error('14 UNAVAILABLE: connect ECONNREFUSED'));
    cluster.addEngine(A);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.failureCount).toBe(1);
    expect(engine.stream).toBeUndefined();
    // One retry timer and the sweep.
    expect(clock.pending).toBe(2);
    // The sweep must not count the dead stream as silent on top of the failure.
    for (const [delay, failures] of [
      [1000, 2],
      [2000, 3],
      [4000, 4],
      [8000, 5],
    ]) {
      await clock.advance(delay);
      expect([delay, engine.failureCount]).toEqual([delay, failures]);
      expect(engine.stream).toBeUndefined();
      expect(clock.pending).toBe(2);
    }
    agents.eager = undefined;
    await clock.advance(16_000);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
  });

  it('a snapshot rejected inside watch() closes that stream', async () => {
    const agents = new EagerAgents();
    const { cluster, clock } = harness({}, agents);
    agents.eager = (_address, listener) => listener.message({ sequence: '1', message: { $case: 'snapshot', value: engineSnapshot('E1', { cpus: 0 }) } });
    cluster.addEngine(A);
    const engine = cluster.pendingEngines.get(A)!;
    expect(engine.lastError).toBe('engine E1 reports 0 CPUs');
    expect(agents.open()).toHaveLength(0);
    expect(engine.stream).toBeUndefined();
    expect(clock.pending).toBe(1);
  });

  it('a snapshot accepted inside watch() keeps that stream', () => {
    const agents = new EagerAgents();
    const { cluster } = harness({}, agents);
    agents.eager = (_address, listener) => listener.message({ sequence: '1', message: { $case: 'snapshot', value: engineSnapshot('E1') } });
    cluster.addEngine(A);
    const engine = cluster.engines.get('E1')!;
    expect(engine.status).toBe('healthy');
    expect(agents.open(A)).toHaveLength(1);
    expect(engine.stream).toBe(agents.open(A)[0]);
    agents.eager = undefined;
    agents.end(A);
    expect(engine.status).toBe('unhealthy');
  });
});

// ---- randomized interleavings ----

/** mulberry32: a small seeded generator, so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hosts = ['node-a:4250', 'node-b:4250', 'node-c:4250', 'node-d:4250'];
/** node-a and node-b share an ID, as engines cloned from one image do; node-d's Docker engine is sometimes swapped. */
const idsOf: Record<string, string[]> = { 'node-a:4250': ['ID-AB'], 'node-b:4250': ['ID-AB'], 'node-c:4250': ['ID-C'], 'node-d:4250': ['ID-D', 'ID-D2'] };

describe('randomized add / remove / validate / fail interleavings', () => {
  /** Every broken invariant, described; empty when all hold. (Plain checks: thousands of expects per run are slow.) */
  function violations(cluster: Cluster, agents: FakeAgents, clock: FakeClock, known: Set<string>, retired: Engine[]): string[] {
    const bad: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) bad.push(what);
    };
    const listed = cluster.listEngines();
    const pending = [...cluster.pendingEngines.entries()];
    const validated = [...cluster.engines.entries()];
    for (const [key, e] of pending) {
      check(key === e.address, `pending key ${key} is not its address ${e.address}`);
      check(e.status === 'pending', `${e.address} in pendingEngines is ${e.status}`);
      check(!e.removed, `${e.address} in pendingEngines was removed`);
      check(cluster.findEngine(e.address) === e, `${e.address} in pendingEngines is not the engine at its address`);
    }
    for (const [id, e] of validated) {
      check(id === e.id, `engines key ${id} is not its ID ${e.id}`);
      check(e.status === 'healthy' || e.status === 'unhealthy', `${e.address} in engines is ${e.status}`);
      check(!e.removed, `${e.address} in engines was removed`);
      check(cluster.findEngine(e.address) === e, `${e.address} in engines is not the engine at its address`);
      check(known.has(e.address), `${e.address} in engines was never added or was removed`);
    }
    for (const [, p] of pending) {
      for (const [, v] of validated) check(v !== p && v.address !== p.address, `${p.address} is in both maps`);
    }
    check(new Set(validated.map(([, e]) => e.address)).size === validated.length, 'two validated engines share an address');
    check(listed.length === pending.length + validated.length, `listed ${listed.length} != pending ${pending.length} + validated ${validated.length}`);
    const listedAddresses = listed.map((e) => e.address).sort();
    check(JSON.stringify(listedAddresses) === JSON.stringify([...known].sort()), `listed ${listedAddresses} != added ${[...known].sort()}`);
    const open = agents.open();
    let retries = 0;
    for (const e of listed) {
      const mine = open.filter((s) => s.address === e.address);
      check(mine.length <= 1, `${mine.length} streams open to ${e.address}`);
      check(mine.length ? e.stream === mine[0] : e.stream === undefined, `${e.address}'s stream is not its one open stream`);
      check(Number(!!e.stream) + Number(!!e.retry) === 1, `${e.address} has ${e.stream ? 'a stream' : 'no stream'} and ${e.retry ? 'a retry' : 'no retry'}`);
      if (e.retry) retries++;
    }
    for (const s of open) check(known.has(s.address), `a stream is open to ${s.address}, which is not in the cluster`);
    check(clock.pending === 1 + retries, `${clock.pending} timers for the sweep and ${retries} retries`);
    const current = new Set(listed);
    for (const e of retired) {
      check(e.status === 'disconnected' && !e.stream && !e.retry && !current.has(e), `removed ${e.address} is ${e.status}, stream ${!!e.stream}, retry ${!!e.retry}`);
    }
    return bad;
  }

  /** Nothing is heard of an engine between its removal and its next add. */
  function eventViolations(events: ClusterEvent[], present: Map<string, boolean>): string[] {
    const bad: string[] = [];
    for (const e of events) {
      const address = e.engine!.address;
      if (e.type === 'engine' && e.action === 'pending') {
        if (present.get(address)) bad.push(`pending for ${address}, which is already in the cluster`);
        present.set(address, true);
        continue;
      }
      if (!present.get(address)) bad.push(`${e.type}/${e.action} for ${address}, which is not in the cluster`);
      if (e.type === 'engine' && e.action === 'removed') present.set(address, false);
    }
    return bad;
  }

  type OpName = 'add' | 'remove' | 'snapshot' | 'badSnapshot' | 'end' | 'gap' | 'heartbeat' | 'unreachable' | 'delta' | 'late' | 'advance';
  /** One step: what to do, to which host, and a number that picks among the variants. */
  interface Step {
    op: OpName;
    host: number;
    k: number;
  }
  const weights: [OpName, number][] = [
    ['add', 4],
    ['remove', 2],
    ['snapshot', 5],
    ['badSnapshot', 1],
    ['end', 2],
    ['gap', 1],
    ['heartbeat', 2],
    ['unreachable', 1],
    ['delta', 1],
    ['late', 1],
    ['advance', 4],
  ];

  /** Runs the steps on a fresh cluster, checking every invariant after each; `seed` drives back-off jitter. */
  async function run(seed: number, steps: Step[]): Promise<Record<string, number>> {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    const cluster = new Cluster({ connector: agents, clock, random: prng(seed), pendingRetry: { initialMs: 100, maxMs: 2000 }, reconnect: { initialMs: 50, maxMs: 1000 } });
    cluster.start();
    const sub = cluster.subscribe({ types: [], engines: [], containers: [] }, 1_000_000);
    const known = new Set<string>();
    const retired: Engine[] = [];
    const present = new Map<string, boolean>();
    const stats: Record<string, number> = {};
    const log: string[] = [];
    const openTo = (host: string) => agents.open(host).length === 1;
    const send = (host: string, message: Message, sequence?: number) => {
      if (openTo(host)) agents.send(host, message, sequence);
    };

    const ops: Record<OpName, (host: string, k: number) => Promise<void> | void> = {
      add: (host, k) => {
        const added = cluster.addEngine(choose([host, host.toUpperCase(), ` ${host} `], k));
        expect(added).toBe(!known.has(host));
        known.add(host);
      },
      remove: (host, k) => {
        const engine = cluster.findEngine(host);
        // A pending engine is found by address or name; its ID counts once it is validated.
        const ref = engine ? choose([host, host.toUpperCase(), engine.status === 'pending' ? host : engine.id, engine.name || host], k) : host;
        try {
          const view = cluster.removeEngine(ref);
          const target = engine!;
          expect(view.address).toBe(target.address);
          known.delete(target.address);
          retired.push(target);
        } catch (err) {
          if (err instanceof InvalidArgumentError) {
            // node-a and node-b share an ID and so a host name: the name alone is ambiguous.
            expect(err.message).toMatch(/engines are named so/);
            expect(ref).toBe(engine?.name);
            return;
          }
          expect(err).toBeInstanceOf(NotFoundError);
          expect(known.has(host)).toBe(false);
        }
      },
      snapshot: (host, k) => send(host, { $case: 'snapshot', value: engineSnapshot(choose(idsOf[host], k), { containers: [] }) }),
      badSnapshot: (host, k) =>
        send(host, { $case: 'snapshot', value: choose([engineSnapshot(''), engineSnapshot(idsOf[host][0], { cpus: 0 }), engineSnapshot(idsOf[host][0], { memoryBytes: 0 })], k) }),
      end: (host) => {
        if (openTo(host)) agents.end(host);
      },
      gap: (host, k) => {
        if (openTo(host)) send(host, { $case: 'heartbeat', value: { time: undefined, intervalMs: 1000 } }, agents.open(host)[0].sequence + 2 + (k % 3));
      },
      heartbeat: (host, k) => send(host, { $case: 'heartbeat', value: { time: undefined, intervalMs: choose([0, 500, 1000, 3000], k) } }),
      unreachable: (host) => send(host, { $case: 'state', value: { reachable: false, error: 'docker down', since: undefined } }),
      delta: (host, k) =>
        send(host, {
          $case: 'container',
          value: { event: { type: 'container', action: 'destroy', actorId: `c${k % 4}`, actorAttributes: {}, scope: 'local', timeNano: '0' }, container: undefined, removed: true },
        }),
      late: (_host, k) => {
        // Anything a closed stream still says is ignored entirely.
        const closed = agents.streams.filter((s) => s.closed);
        if (!closed.length) return;
        const s = choose(closed, k);
        const before = JSON.stringify(cluster.info());
        const timers = clock.pending;
        const streams = agents.streams.length;
        if (Math.floor(k / 7) % 2) s.listener.message({ sequence: String(s.sequence + 1), message: { $case: 'snapshot', value: engineSnapshot(idsOf[s.address][0]) } });
        else s.listener.end(new Error('late'));
        expect(JSON.stringify(cluster.info())).toBe(before);
        expect(clock.pending).toBe(timers);
        expect(agents.streams.length).toBe(streams);
      },
      advance: (_host, k) => clock.advance(choose([0, 10, 50, 100, 250, 1000, 3500], k)),
    };
    try {
      for (const { op, host, k } of steps) {
        log.push(`${op}(${hosts[host]}, ${k})`);
        await ops[op](hosts[host], k);
        stats[op] = (stats[op] ?? 0) + 1;
        const bad = [...violations(cluster, agents, clock, known, retired), ...eventViolations(await drain(sub), present)];
        if (bad.length) expect(bad).toEqual([]);
      }
      for (const e of cluster.listEngines()) stats[e.status] = (stats[e.status] ?? 0) + 1;
      cluster.stop();
      expect(agents.open()).toHaveLength(0);
      expect(clock.pending).toBe(0);
      expect(cluster.subscriberCount).toBe(0);
    } catch (err) {
      (err as Error).message = `seed ${seed}, after ${log.slice(-12).join(' ')}:\n${(err as Error).message}`;
      throw err;
    }
    return stats;
  }

  function choose<T>(items: readonly T[], k: number): T {
    return items[k % items.length];
  }

  it('keeps every invariant over many seeded runs', async () => {
    const totals: Record<string, number> = {};
    const weight = weights.reduce((n, [, w]) => n + w, 0);
    for (let seed = 1; seed <= 60; seed++) {
      const random = prng(seed * 7919);
      const steps: Step[] = [];
      for (let i = 0; i < 150; i++) {
        let r = random() * weight;
        const op = weights.find(([, w]) => (r -= w) < 0)?.[0] ?? 'advance';
        steps.push({ op, host: Math.floor(random() * hosts.length), k: Math.floor(random() * 1_000_000) });
      }
      const stats = await run(seed, steps);
      for (const [k, v] of Object.entries(stats)) totals[k] = (totals[k] ?? 0) + v;
    }
    // The runs reached every kind of step and every state.
    for (const k of ['add', 'remove', 'snapshot', 'badSnapshot', 'end', 'gap', 'late', 'advance', 'healthy', 'unhealthy', 'pending']) expect([k, totals[k] > 0]).toEqual([k, true]);
  });

  it('keeps every invariant for any sequence fast-check can find', async () => {
    const step = fc.record({
      op: fc.oneof(...weights.map(([op, weight]) => ({ arbitrary: fc.constant(op), weight }))),
      host: fc.nat(hosts.length - 1),
      k: fc.nat(1_000_000),
    });
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(step, { minLength: 1, maxLength: 120, size: 'max' }), async (seed, steps) => {
        await run(seed, steps);
      }),
      { numRuns: 200 },
    );
  });
});
