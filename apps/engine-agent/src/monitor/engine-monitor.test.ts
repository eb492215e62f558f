import { UnavailableError } from '@flotilla/errors';
import { WatchResponse } from '@flotilla/proto/agent';
import { FakeClock, type Clock } from '@flotilla/time';
import { HollowDockerBackend } from '../testing';
import { truncatedLabel } from './docker-mapping';
import { EngineMonitor, type WatchMessage } from './engine-monitor';
import { maxEventLineChars } from './event-lines';

function setup(options: { heartbeatIntervalMs?: number } = {}) {
  const clock = new FakeClock();
  const backend = new HollowDockerBackend({ clock, name: 'e1', labels: { zone: 'a' } });
  const monitor = new EngineMonitor(backend, { clock, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000, reconnect: { initialMs: 100, maxMs: 400 }, random: () => 0.5 });
  const watch = (heartbeatIntervalMs?: number) => {
    const messages: WatchMessage[] = [];
    const stop = monitor.watch({ send: (m) => messages.push(m) }, { heartbeatIntervalMs });
    return { messages, stop, cases: () => messages.map((m) => m.$case) };
  };
  return { clock, backend, monitor, watch };
}

const create = { Image: 'busybox:local', HostConfig: {} };

describe('EngineMonitor', () => {
  let monitor: EngineMonitor | undefined;
  afterEach(async () => {
    await monitor?.stop();
  });

  it('sends a snapshot first, then deltas and heartbeats', async () => {
    const t = setup();
    monitor = t.monitor;
    const { id } = await t.backend.createContainer({ ...create, name: 'before' });
    t.monitor.start();
    await t.clock.advance(0);
    const w = t.watch();
    expect(w.messages[0].$case).toBe('snapshot');
    const snap = w.messages[0].$case === 'snapshot' ? w.messages[0].value : undefined;
    expect(snap?.engine?.labels).toMatchObject({ zone: 'a', ostype: 'linux', storagedriver: 'hollow' });
    expect(snap?.containers.map((c) => c.id)).toEqual([id]);
    await t.backend.startContainer(id);
    await t.clock.advance(1000);
    expect(w.cases()).toEqual(['snapshot', 'container', 'heartbeat']);
    const delta = w.messages[1].$case === 'container' ? w.messages[1].value : undefined;
    expect(delta?.event?.action).toBe('start');
    expect(delta?.container?.state).toBe('running');
    await t.backend.removeContainer(id, true);
    await t.clock.advance(0);
    const last = w.messages.at(-1);
    expect(last?.$case === 'container' && last.value.removed).toBe(true);
  });

  it('sends a heartbeat only when a stream has been silent for its interval', async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const w = t.watch();
    expect(w.cases()).toEqual(['snapshot']);
    // Something every 600 ms: the stream is never silent for 1 s, so it carries no heartbeat.
    for (let i = 0; i < 5; i++) {
      await t.clock.advance(600);
      await t.backend.createContainer({ ...create, name: `busy-${i}` });
      await t.clock.advance(0);
    }
    expect(w.cases().filter((c) => c === 'heartbeat')).toEqual([]);
    expect(w.cases().filter((c) => c === 'container')).toHaveLength(5);
    // Then silence: one heartbeat a second after the last message, and one a second after that.
    const before = w.messages.length;
    await t.clock.advance(999);
    expect(w.messages.length).toBe(before);
    await t.clock.advance(1);
    await t.clock.advance(1000);
    expect(w.cases().slice(before)).toEqual(['heartbeat', 'heartbeat']);
    const beat = w.messages.at(-1);
    expect(beat?.$case === 'heartbeat' && beat.value.intervalMs).toBe(1000);
  });

  it("heartbeats each watcher at the longer of the interval it asks for and the monitor's own", async () => {
    const t = setup({ heartbeatIntervalMs: 1000 });
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const slow = t.watch(5000);
    const fast = t.watch(200); // shorter than the monitor's own: the monitor's 1 s stands
    await t.clock.advance(10_000);
    const beats = (w: typeof slow) => w.messages.flatMap((m) => (m.$case === 'heartbeat' ? [m.value.intervalMs] : []));
    expect(beats(slow)).toEqual([5000, 5000]);
    expect(beats(fast)).toEqual(Array(10).fill(1000));
    // A watcher that leaves gets nothing more, and its timer goes with it.
    slow.stop();
    const sent = slow.messages.length;
    await t.clock.advance(10_000);
    expect(slow.messages.length).toBe(sent);
    expect(beats(fast)).toHaveLength(20);
  });

  it("keeps each silent watcher's heartbeat times after a stall, so watchers whose timers ran in one turn do not beat together from then on", async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const start = t.clock.now();
    const beats: number[][] = [[], []];
    const watchBeats = (times: number[]) => t.monitor.watch({ send: (m) => void (m.$case === 'heartbeat' && times.push(t.clock.now() - start)) });
    watchBeats(beats[0]);
    await t.clock.advance(300);
    watchBeats(beats[1]);
    await t.clock.advance(2_000);
    expect(beats).toEqual([[1000, 2000], [1300, 2300]]);
    // The event loop stalls past both due times: both timers run in the same turn, late.
    t.clock.stall(2_500);
    await t.clock.advance(0);
    expect(beats.map((times) => times.at(-1))).toEqual([4800, 4800]);
    // From then on each is back on its own time (counted from the stall, they would stay together).
    await t.clock.advance(3_000);
    expect(beats[0].slice(3)).toEqual([5000, 6000, 7000]);
    expect(beats[1].slice(3)).toEqual([5300, 6300, 7300]);
    // Silent for no longer than the interval, except across the stall itself.
    const longGaps = beats.map((times) => times.slice(1).map((at, i) => at - times[i]).filter((gap) => gap > 1000));
    expect(longGaps).toEqual([[2800], [2500]]);
  });

  it('sends no heartbeat before it is due when a timer runs early', async () => {
    const fake = new FakeClock();
    // Timers run 2 ms before their time, as Node's can by the loop's cached time.
    const early: Clock = { now: () => fake.now(), setInterval: (fn, ms) => fake.setInterval(fn, ms), setTimeout: (fn, ms) => fake.setTimeout(fn, ms > 2 ? ms - 2 : ms) };
    const backend = new HollowDockerBackend({ clock: fake, name: 'e1' });
    monitor = new EngineMonitor(backend, { clock: early, heartbeatIntervalMs: 1000, random: () => 0.5 });
    monitor.start();
    await fake.advance(0);
    const start = fake.now();
    const beats: number[] = [];
    monitor.watch({ send: (m) => void (m.$case === 'heartbeat' && beats.push(fake.now() - start)) });
    await fake.advance(3_500);
    expect(beats).toEqual([1000, 2000, 3000]);
  });

  it('holds one Docker event subscription for any number of watchers', async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const [a, b] = [t.watch(), t.watch()];
    await t.backend.createContainer({ ...create, name: 'shared' });
    await t.clock.advance(0);
    expect(t.backend.subscriptions).toBe(1);
    expect(a.cases()).toEqual(['snapshot', 'container']);
    expect(b.cases()).toEqual(['snapshot', 'container']);
    b.stop();
    expect(t.monitor.watcherCount).toBe(1);
  });

  it('reports an unreachable engine, then recovers without losing or repeating an event', async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const w = t.watch();
    const { id: early } = await t.backend.createContainer({ ...create, name: 'early' });
    await t.clock.advance(0);
    t.backend.setReachable(false);
    await t.clock.advance(0);
    const down = w.messages.at(-1);
    expect(down?.$case === 'state' && down.value).toMatchObject({ reachable: false, error: expect.stringContaining('closed its event stream') });
    const late = t.watch();
    expect(late.messages[0].$case).toBe('state');
    // The engine is back, and a container is created before the agent has reconnected.
    t.backend.setReachable(true);
    const { id: during } = await t.backend.createContainer({ ...create, name: 'during' });
    await t.clock.advance(1000);
    const after = w.messages.slice(w.messages.indexOf(down!) + 1);
    expect(after.map((m) => m.$case).filter((c) => c !== 'heartbeat')).toEqual(['snapshot', 'state', 'container']);
    const snap = after[0].$case === 'snapshot' ? after[0].value : undefined;
    expect(snap?.containers.map((c) => c.id).sort()).toEqual([early, during].sort());
    const creates = w.messages.filter((m) => m.$case === 'container' && m.value.event?.action === 'create').map((m) => (m.$case === 'container' ? m.value.container?.id : ''));
    expect(creates).toEqual([early, during]);
    expect(t.backend.subscriptions).toBe(2);
    expect(late.cases().filter((c) => c !== 'heartbeat')).toEqual(['state', 'snapshot', 'state', 'container']);
  });

  it('retries with back-off while the engine stays down, and leaves no timers behind when stopped', async () => {
    const t = setup();
    monitor = t.monitor;
    t.backend.setReachable(false);
    t.monitor.start();
    await t.clock.advance(5000);
    expect(t.monitor.engineState.reachable).toBe(false);
    expect(t.backend.subscriptions).toBe(0);
    await t.monitor.stop();
    expect(t.clock.pending).toBe(0);
  });

  it('marks an engine that stops answering pings unreachable though its stream stays open', async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const w = t.watch();
    const ping = jest.spyOn(t.backend, 'ping').mockRejectedValue(new UnavailableError('Docker engine at hollow did not answer /_ping: timeout'));
    await t.clock.advance(1000);
    expect(w.messages.find((m) => m.$case === 'state')).toMatchObject({ value: { reachable: false, error: expect.stringContaining('/_ping') } });
    ping.mockRestore();
    await t.clock.advance(1000);
    expect(t.monitor.engineState.reachable).toBe(true);
  });

  it('skips a malformed event line and goes on', async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    const w = t.watch();
    t.backend.writeRawEvent('{"Type": "container", "Act');
    t.backend.writeRawEvent('{"Type":"container"}');
    await t.backend.createContainer({ ...create, name: 'fine' });
    await t.clock.advance(0);
    expect(w.cases()).toEqual(['snapshot', 'container']);
  });

  it('refuses an engine whose reply lacks CPUs or memory until it answers properly', async () => {
    const t = setup();
    monitor = t.monitor;
    t.backend.infoReply.NCPU = undefined;
    t.monitor.start();
    await t.clock.advance(0);
    expect(t.monitor.engineState).toMatchObject({ reachable: false, error: expect.stringContaining('NCPU') });
    t.backend.infoReply.NCPU = 4;
    await t.clock.advance(1000);
    expect(t.monitor.engineState.reachable).toBe(true);
  });

  it('refuses an engine below the minimum API version with a clear error', async () => {
    const t = setup();
    monitor = t.monitor;
    t.backend.apiVersion = '1.38';
    t.monitor.start();
    await t.clock.advance(0);
    expect(t.monitor.engineState.error).toMatch(/speaks API 1\.38 .* needs at least API 1\.40/);
  });
  describe('snapshots in parts', () => {
    /** 40 containers with 512 KiB of labels each: cut to 64 KiB, they need several messages. */
    async function bigEngine(t: ReturnType<typeof setup>): Promise<string[]> {
      const blob = 'x'.repeat(8 * 1024);
      const labels: Record<string, string> = { app: 'big' };
      for (let i = 0; i < 64; i++) labels[`blob.${i}`] = blob;
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await t.backend.createContainer({ ...create, name: `big-${i}`, Labels: labels })).id);
      return ids;
    }

    /** The snapshots in a watcher's messages, each as its run of parts; fails on anything between parts. */
    function snapshots(messages: WatchMessage[]): WatchMessage[][] {
      const out: WatchMessage[][] = [];
      let open: WatchMessage[] | undefined;
      for (const m of messages) {
        if (open) {
          expect(m.$case).toBe('snapshotPart');
          open.push(m);
        } else if (m.$case === 'snapshot') out.push((open = [m]));
        else expect(m.$case).not.toBe('snapshotPart');
        if ((m.$case === 'snapshot' || m.$case === 'snapshotPart') && !m.value.more) open = undefined;
      }
      expect(open).toBeUndefined();
      return out;
    }

    function containerIds(parts: WatchMessage[]): string[] {
      return parts.flatMap((m) => (m.$case === 'snapshot' || m.$case === 'snapshotPart' ? m.value.containers.map((c) => c.id) : []));
    }

    it('sends a large snapshot as consecutive parts under 1 MiB, at subscribe and after the engine comes back', async () => {
      const t = setup();
      monitor = t.monitor;
      const ids = await bigEngine(t);
      t.monitor.start();
      await t.clock.advance(0);
      const early = t.watch();
      const first = snapshots(early.messages);
      expect(first).toHaveLength(1);
      expect(first[0].length).toBeGreaterThan(1);
      expect(containerIds(first[0]).sort()).toEqual([...ids].sort());
      for (const m of first[0]) expect(WatchResponse.encode({ sequence: '18446744073709551615', message: m }).finish().length).toBeLessThan(1024 * 1024);
      const c = first[0][0].$case === 'snapshot' ? first[0][0].value.containers[0] : undefined;
      expect(c?.labels).toMatchObject({ app: 'big', [truncatedLabel]: 'labels' });

      // An outage and a recovery: the fresh snapshot reaches every watcher in parts, then the state.
      t.backend.setReachable(false);
      await t.clock.advance(0);
      t.backend.setReachable(true);
      await t.clock.advance(1000);
      const all = snapshots(early.messages);
      expect(all).toHaveLength(2);
      expect(containerIds(all[1]).sort()).toEqual([...ids].sort());
      const afterParts = early.messages.indexOf(all[1][all[1].length - 1]) + 1;
      expect(early.messages[afterParts]).toMatchObject({ $case: 'state', value: { reachable: true } });
      const late = t.watch();
      expect(snapshots(late.messages).map(containerIds).map((x) => x.length)).toEqual([40]);
    });

    it('skips a container the engine describes unusably and keeps the rest', async () => {
      const t = setup();
      monitor = t.monitor;
      const { id: good } = await t.backend.createContainer({ ...create, name: 'good' });
      const { id: bad } = await t.backend.createContainer({ ...create, name: 'bad' });
      const inspect = t.backend.inspectContainer.bind(t.backend);
      jest.spyOn(t.backend, 'inspectContainer').mockImplementation(async (id) => (id === bad ? { Id: 'not an id', State: { Status: 'running' } } : inspect(id)));
      t.monitor.start();
      await t.clock.advance(0);
      expect(t.monitor.engineState.reachable).toBe(true);
      expect(t.monitor.snapshot().containers.map((c) => c.id)).toEqual([good]);
    });

    it('takes a fresh snapshot when an event line is too long to keep', async () => {
      const t = setup();
      monitor = t.monitor;
      t.monitor.start();
      await t.clock.advance(0);
      const w = t.watch();
      t.backend.writeRawEvent('x'.repeat(maxEventLineChars + 1));
      await t.clock.advance(0);
      expect(w.cases()).toEqual(['snapshot', 'snapshot']);
    });
  });

  describe('events out of time order', () => {
    /** A Docker event line as the engine writes it. */
    function line(type: string, action: string, id: string, timeNano: bigint, attributes: Record<string, string> = {}): string {
      return JSON.stringify({ Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Number(timeNano / 1_000_000_000n), timeNano: `${timeNano}` });
    }

    /**
     * Keeps the engine's events from its subscribers: each is stamped in the order it happened
     * (as Docker stamps them), and the test delivers the lines in an order of its choosing.
     */
    function holdEvents(t: ReturnType<typeof setup>) {
      const held: Array<{ action: string; id: string; line: string }> = [];
      let nano = BigInt(t.clock.now()) * 1_000_000n + 1_000_000_000n;
      jest.spyOn(t.backend, 'emit').mockImplementation((type, action, id, attributes) => {
        held.push({ action, id, line: line(type, action, id, ++nano, attributes) });
      });
      const take = (action: string, id: string) => held.find((e) => e.action === action && e.id === id)!.line;
      return { held, take };
    }

    const deltas = (messages: WatchMessage[]) => messages.flatMap((m) => (m.$case === 'container' ? [`${m.value.event?.action} ${m.value.event?.actorId}`] : []));

    it('applies late events (a create after a newer start, a destroy after a newer event) and ends with the engine as it is', async () => {
      const t = setup();
      monitor = t.monitor;
      t.monitor.start();
      await t.clock.advance(0);
      const w = t.watch();
      const ev = holdEvents(t);
      // In time order: C created, C removed, A created, B created, B started.
      const { id: c } = await t.backend.createContainer({ ...create, name: 'c' });
      await t.backend.removeContainer(c, true);
      const { id: a } = await t.backend.createContainer({ ...create, name: 'a' });
      const { id: b } = await t.backend.createContainer({ ...create, name: 'b' });
      await t.backend.startContainer(b);
      // Delivered: C's create first, then B's events, then A's create (older than B's start), then C's destroy.
      for (const [action, id] of [['create', c], ['create', b], ['start', b], ['create', a], ['destroy', c]]) t.backend.writeRawEvent(ev.take(action, id));
      await t.clock.advance(0);
      expect(deltas(w.messages)).toEqual([`create ${c}`, `create ${b}`, `start ${b}`, `create ${a}`, `destroy ${c}`]);
      const model = new Map(t.monitor.snapshot().containers.map((x) => [x.id, x.state]));
      expect(model).toEqual(new Map([[a, 'created'], [b, 'running']]));
      const removal = w.messages.at(-1);
      expect(removal?.$case === 'container' && removal.value.removed).toBe(true);
    });

    it('applies a late start for a container it knows as created', async () => {
      const t = setup();
      monitor = t.monitor;
      const { id: a } = await t.backend.createContainer({ ...create, name: 'a' });
      t.monitor.start();
      await t.clock.advance(0);
      const w = t.watch();
      const ev = holdEvents(t);
      await t.backend.startContainer(a);
      const { id: b } = await t.backend.createContainer({ ...create, name: 'b' });
      t.backend.writeRawEvent(ev.take('create', b));
      t.backend.writeRawEvent(ev.take('start', a));
      await t.clock.advance(0);
      expect(deltas(w.messages)).toEqual([`create ${b}`, `start ${a}`]);
      expect(t.monitor.snapshot().containers.find((x) => x.id === a)?.state).toBe('running');
    });

    it('applies each event once when a new subscription replays events already delivered, late ones included', async () => {
      const t = setup();
      monitor = t.monitor;
      t.monitor.start();
      await t.clock.advance(0);
      const w = t.watch();
      const ev = holdEvents(t);
      const { id: a } = await t.backend.createContainer({ ...create, name: 'a' });
      const { id: b } = await t.backend.createContainer({ ...create, name: 'b' });
      t.backend.writeRawEvent(ev.take('create', b));
      t.backend.writeRawEvent(ev.take('create', a));
      await t.clock.advance(0);
      // Docker restarts; the new subscription replays what was delivered, then what happened since.
      t.backend.setReachable(false);
      await t.clock.advance(0);
      const replay = [ev.take('create', b), ev.take('create', a)];
      const events = t.backend.events.bind(t.backend);
      jest.spyOn(t.backend, 'events').mockImplementation(async (since) => {
        const stream = await events(since);
        for (const l of replay) stream.push(l + '\n');
        return stream;
      });
      t.backend.setReachable(true);
      await t.clock.advance(1000);
      expect(t.monitor.engineState.reachable).toBe(true);
      expect(t.backend.subscriptions).toBe(2);
      await t.backend.startContainer(a);
      t.backend.writeRawEvent(ev.take('start', a));
      await t.clock.advance(0);
      expect(deltas(w.messages)).toEqual([`create ${b}`, `create ${a}`, `start ${a}`]);
      const model = new Map(t.monitor.snapshot().containers.map((x) => [x.id, x.state]));
      expect(model).toEqual(new Map([[a, 'running'], [b, 'created']]));
    });

    it('remembers a bounded number of events', async () => {
      const t = setup();
      monitor = t.monitor;
      t.monitor.start();
      await t.clock.advance(0);
      const w = t.watch();
      const n = 10_000;
      // Newest first: every event is older than the one before it, and each is news.
      for (let i = 0; i < n; i++) t.backend.writeRawEvent(line('plugin', 'enable', `plugin-${i}`, BigInt(2 * n - i)));
      for (let round = 0; round < 100 && w.messages.filter((m) => m.$case === 'event').length < n; round++) await t.clock.advance(0);
      expect(w.messages.filter((m) => m.$case === 'event')).toHaveLength(n);
      expect(t.monitor.recentEventCount).toBe(4096);
      // The newest remembered event is still recognised as a repeat.
      t.backend.writeRawEvent(line('plugin', 'enable', `plugin-${n - 1}`, BigInt(n + 1)));
      await t.clock.advance(0);
      expect(w.messages.filter((m) => m.$case === 'event')).toHaveLength(n);
    });
  });
});
