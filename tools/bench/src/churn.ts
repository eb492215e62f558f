#!/usr/bin/env node
// B7, churn: one cluster-manager process and N hollow engines (the real agent code over
// HollowDockerBackend) in helper processes (hollow-agents.js), under a long mix of container
// creates and removes, WatchEvents streams opened and cancelled, ContainerLogs and ListContainers
// calls, and agent restarts (every --restart-every: a helper's agents restarted in process, or the
// helper killed by PID and started again on the same ports, so the manager's streams to those agents
// break and reconnect). Every --sample-every the churn pauses until no call is in flight, and the
// manager's and helpers' memory, descriptors, threads (from /proc) and in-process figures (the
// manager's /metrics when it serves them, the helpers' own report) are read. The verdict per series:
// growth from the first sample after --warmup to the last, and the least-squares slope.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { call } from '@flotilla/grpc';
import { ContainerSpec, EngineStatus, type ClusterServiceClient, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { allEngines, freePortRange, metricsAddressOf, repoRoot, scrapeMetrics, testTls, type ServiceProcess } from '@flotilla/testing';
import { fmt, log, managerEnvFrom, managerEnvNote, memoryOf, MiB, now, parseArgs, report, runMain, sleep, spawnNode, startManagerProcess, tapLines, UnhealthyReasons, type ManagerProcess } from './common';

const flags = parseArgs(
  {
    minutes: 30,
    /** Samples before this (minutes from the start of the churn) are not part of the verdict. */
    warmup: 3,
    'sample-every': 60,
    'restart-every': 60,
    /** mixed: helper 0 restarts its agents in process (so one helper lives the whole run), the others are killed (-9) and started again; process: all killed; in-process: none killed. */
    'restart-mode': 'mixed',
    engines: 200,
    helpers: 2,
    containers: 10,
    'heartbeat-interval': 1000,
    /** Containers the bench keeps alive (created by it, removed by it); 0: one per engine. */
    population: 0,
    /** Workers making unary calls and short log streams at once. */
    concurrency: 8,
    /** WatchEvents streams open at once, each cancelled after up to --stream-hold-ms and opened again. */
    streams: 4,
    'stream-hold-ms': 3000,
    /** Operations per second over all workers (WatchEvents reopenings not counted); 0: as fast as they go. */
    rate: 50,
    /** Every k-th create carries a request ID (0: none). */
    'request-id-every': 4,
    'restart-timeout-ms': 120_000,
    /** Every this many seconds a discovery push leaves out --leave-share of the engines, and --leave-for-s later brings them back (0: never). */
    'leave-every': 0,
    'leave-share': 0.01,
    'leave-for-s': 10,
    /** After a restart, errors within this long still count as the restart's. */
    'restart-grace-ms': 3000,
    /** Pause after the churn is quiet (no call in flight) before a sample is read. */
    'settle-ms': 500,
    /** auto: pass --metrics-address 127.0.0.1:0 to the manager when its --help knows the flag; off: never. */
    metrics: 'auto',
    'manager-args': '',
    /** More environment for the manager process ("NAME=value ..."), for A/B experiments. */
    'manager-env': '',
    'no-results': false,
  },
  process.argv.slice(2),
  'Usage: node tools/bench/dist/churn.js [--minutes 30] [--warmup 3] [--sample-every 60] [--restart-every 60] [--leave-every 0] [--engines 200] [--helpers 2] [--rate 50]',
);

// ---- gRPC codes ----

const codeNames = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
function codeName(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? (codeNames[code] ?? String(code)) : 'not-grpc';
}

// ---- helpers (hollow-agents.js processes) ----

interface Helper {
  index: number;
  first: number;
  count: number;
  proc: ServiceProcess;
  addresses: string[];
  /** Process restarts (kill -9, start again) so far. */
  lives: number;
  mode: 'process' | 'in-process';
}

const helpers: Helper[] = [];
const helperScript = () => path.join(repoRoot(), 'tools/bench/dist/hollow-agents.js');

function spawnHelper(index: number, first: number, count: number, ports?: number[], life = 0): ServiceProcess {
  const args = ['--first', String(first), '--count', String(count), '--containers', String(flags.containers), '--heartbeat-interval', String(flags['heartbeat-interval'])];
  if (ports) args.push('--ports', ports.join(','));
  return spawnNode(life ? `hollow-agents-${index}.${life}` : `hollow-agents-${index}`, helperScript(), args, { nofile: 2 * count + 256, nodeArgs: ['--expose-gc'] });
}

async function readyAddresses(proc: ServiceProcess): Promise<string[]> {
  const line = await proc.waitForLine(/"ready":true/, 300_000);
  return (JSON.parse(line) as { addresses: string[] }).addresses;
}

async function startHelpers(): Promise<string[]> {
  testTls('agent'); // issued before the helpers start: they inherit the CA and find the certificate
  const per = Math.ceil(flags.engines / flags.helpers);
  // Below the ephemeral range: a killed helper comes back on its ports, and while it is down an
  // outgoing connection of any process could take a port from that range.
  const ports = await freePortRange(flags.engines);
  for (let i = 0; i * per < flags.engines; i++) {
    const count = Math.min(per, flags.engines - i * per);
    const mode = flags['restart-mode'] === 'process' || (flags['restart-mode'] === 'mixed' && i > 0) ? 'process' : 'in-process';
    helpers.push({ index: i, first: i * per, count, proc: spawnHelper(i, i * per, count, ports.slice(i * per, i * per + count)), addresses: [], lives: 0, mode });
  }
  for (const h of helpers) {
    h.addresses = await readyAddresses(h.proc);
    log(`${h.proc.name} (PID ${h.proc.pid}): ${h.addresses.length} agents (restarts: ${h.mode === 'process' ? 'kill -9 and start again' : 'in process'})`);
  }
  return helpers.flatMap((h) => h.addresses);
}

interface HelperStats {
  heapUsed: number;
  resources: number;
  byType: Record<string, number>;
}

async function helperStats(h: Helper): Promise<HelperStats | undefined> {
  const since = h.proc.totalLines;
  h.proc.signal('SIGUSR2');
  try {
    const line = await h.proc.waitForLine(/"stats":true/, 10_000, since);
    return JSON.parse(line) as HelperStats;
  } catch {
    return undefined;
  }
}

// ---- /proc and /metrics ----

function procFigures(pid: number): { rss: number; fds: number; sockets: number; threads: number } {
  const rss = memoryOf(pid).rss;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  let fds = 0;
  let sockets = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed meanwhile
    }
  }
  return { rss, fds, sockets, threads };
}

function managerKnowsMetricsFlag(script: string): boolean {
  try {
    const help = execFileSync(process.execPath, [script, '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    return help.includes('--metrics-address');
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? '').includes('--metrics-address');
  }
}

const scraped = ['nodejs_heap_size_used_bytes', 'nodejs_active_handles_total', 'nodejs_active_resources_total', 'flotilla_grpc_active_calls'] as const;
type Scraped = Partial<Record<(typeof scraped)[number], number>>;

/** GET /metrics; each wanted metric summed over its label sets (absent ones left out); undefined when the scrape fails. */
async function scrapeFigures(address: string): Promise<Scraped | undefined> {
  const samples = await scrapeMetrics(address).catch(() => undefined);
  if (!samples) return undefined;
  const out: Scraped = {};
  for (const [series, value] of samples) {
    const name = series.replace(/\{.*$/, '');
    if ((scraped as readonly string[]).includes(name)) out[name as (typeof scraped)[number]] = (out[name as (typeof scraped)[number]] ?? 0) + value;
  }
  return out;
}

// ---- samples and verdicts ----

interface Sample {
  t: number; // seconds since the churn started
  proc: string;
  pid: number;
  rss: number;
  fds: number;
  sockets: number;
  threads: number;
  heap?: number;
  handles?: number;
  resources?: number;
  activeCalls?: number;
  containers?: number;
  detail?: string;
}

const samples: Sample[] = [];

interface Series {
  key: keyof Sample;
  label: string;
  memory: boolean;
}

const seriesList: Series[] = [
  { key: 'rss', label: 'RSS', memory: true },
  { key: 'heap', label: 'heap used', memory: true },
  { key: 'fds', label: 'descriptors', memory: false },
  { key: 'sockets', label: 'sockets', memory: false },
  { key: 'threads', label: 'threads', memory: false },
  { key: 'handles', label: 'active handles', memory: false },
  { key: 'resources', label: 'active resources', memory: false },
  { key: 'activeCalls', label: 'gRPC active calls', memory: false },
];

/** Thresholds of "flat" (see README, B7). */
const memoryAllowance = (first: number) => Math.max(0.1 * first, 8 * MiB);
const countAllowance = (first: number) => Math.max(4, Math.ceil(0.02 * first));

function leastSquaresSlope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

interface Verdict {
  proc: string;
  series: string;
  first: string;
  last: string;
  growth: string;
  fitted: string;
  slope: string;
  allowed: string;
  flat: boolean | undefined;
}

function verdicts(procName: string, restarted: boolean): Verdict[] {
  const mine = samples.filter((s) => s.proc === procName);
  const after = mine.filter((s) => s.t >= flags.warmup * 60);
  const out: Verdict[] = [];
  for (const se of seriesList) {
    const pts = after.filter((s) => typeof s[se.key] === 'number' && Number.isFinite(s[se.key] as number));
    if (!pts.length) continue;
    const v = (s: Sample) => s[se.key] as number;
    const show = (x: number) => (se.memory ? `${fmt(x / MiB)} MiB` : fmt(x, 0));
    const showDelta = (x: number) => (x >= 0 ? '+' : '−') + (se.memory ? `${fmt(Math.abs(x) / MiB)} MiB` : fmt(Math.abs(x), 0));
    const first = pts[0];
    const last = pts[pts.length - 1];
    const growth = v(last) - v(first);
    const slope = leastSquaresSlope(pts.map((s) => s.t), pts.map(v)); // per second
    const span = last.t - first.t;
    const fitted = slope * span;
    const allowed = se.memory ? memoryAllowance(v(first)) : countAllowance(v(first));
    const pct = v(first) ? ` (${growth >= 0 ? '+' : ''}${((100 * growth) / v(first)).toFixed(1)} %)` : '';
    out.push({
      proc: procName,
      series: se.label,
      first: `${show(v(first))} at ${fmt(first.t / 60)} min`,
      last: `${show(v(last))} at ${fmt(last.t / 60)} min`,
      growth: showDelta(growth) + pct,
      fitted: Number.isFinite(fitted) ? showDelta(fitted) : '–',
      slope: Number.isFinite(slope) ? `${showDelta(slope * 600)}/10 min` : '–',
      allowed: `${se.memory ? `+${fmt(allowed / MiB)} MiB` : `+${allowed}`}`,
      flat: restarted || pts.length < 2 ? undefined : growth <= allowed && !(fitted > allowed),
    });
  }
  return out;
}

// ---- the churn ----

interface OpStats {
  ok: number;
  errors: Map<string, { inRestart: number; outside: number; first: string }>;
}

const ops = new Map<string, OpStats>();
function opStats(op: string): OpStats {
  let s = ops.get(op);
  if (!s) ops.set(op, (s = { ok: 0, errors: new Map() }));
  return s;
}

/** Restart windows [start, end + grace] (end Infinity while in progress), in now() ms. */
const restartWindows: { start: number; end: number }[] = [];
function overlapsRestart(t0: number, t1: number): boolean {
  return restartWindows.some((w) => t0 <= w.end + flags['restart-grace-ms'] && t1 >= w.start);
}

function recordError(op: string, t0: number, err: unknown): void {
  const code = codeName(err);
  const s = opStats(op);
  let e = s.errors.get(code);
  if (!e) s.errors.set(code, (e = { inRestart: 0, outside: 0, first: '' }));
  const during = overlapsRestart(t0, now());
  if (during) e.inRestart++;
  else {
    e.outside++;
    if (!e.first) {
      e.first = (err instanceof Error ? err.message : String(err)).slice(0, 200);
      log(`${op}: ${code} outside a restart: ${e.first}`);
    }
  }
}

async function timed<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
  const t0 = now();
  try {
    const r = await fn();
    opStats(op).ok++;
    return r;
  } catch (err) {
    recordError(op, t0, err);
    return undefined;
  }
}

/** Containers the bench created and has not removed: ID → engine address (insertion order: oldest first). */
const live = new Map<string, string>();

/**
 * Per engine address, the last kill of its helper process: when it began, and when its engines
 * were all back. A create sent before the kill and answered after it may name a container that
 * died with the process; the bench waits for the engines to be back and asks the manager.
 */
interface Kill {
  at: number;
  /** When the bench forgot the process's containers (after it exited). */
  forgottenAt?: number;
  back: Promise<void>;
}
const kills = new Map<string, Kill>();

/**
 * The kill of `address`'s process if the bench forgot (or is about to forget) that process's
 * containers after `since`: a container an answer from before then names may be gone.
 */
function killSince(address: string, since: number): Kill | undefined {
  const kill = kills.get(address);
  return kill && (kill.forgottenAt === undefined || kill.forgottenAt >= since) ? kill : undefined;
}
/** Creates answered across a kill of their engine's process whose container was gone with it. */
let lostWithProcess = 0;
const rand = (n: number) => Math.floor(Math.random() * n);

class Churn {
  private stopping = false;
  private paused = false;
  private resume: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly held = new Set<{ cancel(): void }>();
  private nextSlot = 0;
  private serial = 0;
  private readonly workers: Promise<void>[] = [];

  constructor(
    private readonly m: ClusterServiceClient,
    private readonly engines: string[],
    private readonly target: number,
  ) {}

  start(): void {
    for (let i = 0; i < flags.concurrency; i++) this.workers.push(this.unaryWorker());
    for (let i = 0; i < flags.streams; i++) this.workers.push(this.streamWorker());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.release();
    for (const s of this.held) s.cancel();
    await Promise.all(this.workers);
  }

  /** Stops starting calls, cancels held streams, and resolves once no call is in flight. */
  async quiesce(): Promise<number> {
    const t0 = now();
    this.paused = true;
    this.resume = new Promise((r) => (this.release = r));
    for (const s of this.held) s.cancel();
    if (this.inFlight) await new Promise<void>((r) => this.idleWaiters.push(r));
    return now() - t0;
  }

  unpause(): void {
    this.paused = false;
    this.release();
  }

  /** Waits while paused, then counts a call in flight (check and count in one step, so a sample cannot slip between them). */
  private async acquire(): Promise<boolean> {
    while (this.paused && !this.stopping) await this.resume;
    if (this.stopping) return false;
    this.inFlight++;
    return true;
  }

  private leave(): void {
    if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async pace(): Promise<void> {
    if (!flags.rate) return;
    const t = now();
    const slot = Math.max(t, this.nextSlot);
    this.nextSlot = slot + 1000 / flags.rate;
    if (slot > t) await sleep(slot - t);
  }

  private async unaryWorker(): Promise<void> {
    while (!this.stopping) {
      await this.pace();
      if (!(await this.acquire())) break;
      try {
        await this.oneOp();
      } finally {
        this.leave();
      }
    }
  }

  private async oneOp(): Promise<void> {
    const m = this.m;
    const r = Math.random();
    if (r < 0.6) {
      if (live.size < this.target || !live.size) {
        const n = this.serial++;
        const every = flags['request-id-every'];
        const requestId = every && n % every === 0 ? `churn-${process.pid}-${n}` : '';
        const spec = ContainerSpec.fromPartial({ image: 'busybox:local', command: ['sleep', '3600'], labels: { 'flotilla.bench': 'churn' }, memoryBytes: String(16 * MiB), nanoCpus: '10000000', networkMode: 'none' });
        const sent = now();
        const res = await timed(requestId ? 'CreateContainer (start, request ID)' : 'CreateContainer (start)', () => call(m, m.createContainer, { spec, start: true, requestId }, { deadlineMs: 30_000 }));
        if (res?.id && res.engine) {
          const kill = killSince(res.engine.address, sent);
          if (kill && !(await this.survivedKill(res.id, kill.back))) {
            lostWithProcess++;
            return;
          }
          live.set(res.id, res.engine.address);
          if (!res.unsettled) answered.created.add(res.id);
        }
      } else {
        const id = live.keys().next().value as string;
        const address = live.get(id)!;
        live.delete(id);
        let code = '';
        const sent = now();
        const res = await timed('RemoveContainer (force)', () => call(m, m.removeContainer, { container: id, force: true, volumes: false }, { deadlineMs: 30_000 }).catch((err: unknown) => {
          code = codeName(err);
          throw err;
        }));
        // Not removed (engine unhealthy, say) but not gone either: try again later; unless its
        // engine's process was killed meanwhile (and the bench forgot that process's containers).
        if (code && code !== 'NOT_FOUND' && !killSince(address, sent)) live.set(id, address);
        // A container that went with its engine's killed process has no destroy event to wait for:
        // the engine came back without it, and the manager saw it gone in the new snapshot.
        else if (!code && !res?.unsettled && !killSince(address, sent)) answered.removed.add(id);
      }
    } else if (r < 0.8) {
      if (Math.random() < 0.5) {
        const engine = this.engines[rand(this.engines.length)];
        await timed('ListContainers (one engine)', () => call(m, m.listContainers, { all: true, engines: [engine], states: [], labels: {}, names: [], pageSize: 0, pageToken: '' }, { deadlineMs: 30_000 }));
      } else {
        await timed('ListContainers (label, first page)', () => call(m, m.listContainers, { all: true, engines: [], states: [], labels: { 'flotilla.bench': 'churn' }, names: [], pageSize: 200, pageToken: '' }, { deadlineMs: 30_000 }));
      }
    } else {
      const ids = [...live.keys()];
      if (!ids.length) return;
      const id = ids[rand(ids.length)];
      await timed('ContainerLogs (tail, to the end)', () => this.readLogs(id));
    }
  }

  /** Whether a container is in the cluster once its engine's helper is back from a kill. */
  private async survivedKill(container: string, back: Promise<void>): Promise<boolean> {
    await back;
    try {
      await call(this.m, this.m.inspectContainer, { container }, { deadlineMs: 30_000 });
      return true;
    } catch (err) {
      return codeName(err) !== 'NOT_FOUND';
    }
  }

  private readLogs(container: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let bytes = 0;
      const s = this.m.containerLogs({ container, follow: false, stdout: true, stderr: true, tail: 20, timestamps: false }, { deadline: Date.now() + 30_000 });
      s.on('data', (d: { data: Uint8Array }) => (bytes += d.data?.length ?? 0));
      s.on('error', reject);
      s.on('end', () => resolve(bytes));
    });
  }

  /** Opens a WatchEvents stream, holds it for a random time (sometimes none), cancels it, and again. */
  private async streamWorker(): Promise<void> {
    const typeSets = [['container'], ['engine'], ['container', 'engine'], []];
    while (await this.acquire()) {
      const t0 = now();
      try {
        const s = this.m.watchEvents({ types: typeSets[rand(typeSets.length)], engines: Math.random() < 0.3 ? [this.engines[rand(this.engines.length)]] : [], containers: [] });
        this.held.add(s);
        let events = 0;
        let failure: unknown;
        const closed = new Promise<void>((resolve) => {
          s.on('data', (_r: WatchEventsResponse) => events++);
          s.on('error', (err: Error) => {
            if (codeName(err) !== 'CANCELLED') failure = err;
          });
          s.on('close', resolve);
        });
        const hold = Math.random() < 0.1 ? 0 : rand(flags['stream-hold-ms']);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, hold)))]);
        clearTimeout(timer);
        s.cancel();
        await closed;
        this.held.delete(s);
        if (failure) recordError('WatchEvents (open, hold, cancel)', t0, failure);
        else opStats('WatchEvents (open, hold, cancel)').ok++;
        streamEvents += events;
      } finally {
        this.leave();
      }
    }
  }
}

let streamEvents = 0;

/**
 * Containers whose create or remove the manager answered as seen on the engine's stream: the
 * cluster published its event before answering, so a subscriber that keeps up must have it.
 */
const answered = { created: new Set<string>(), removed: new Set<string>() };

/** One WatchEvents subscriber held the whole churn, reading as fast as events come. */
class Witness {
  readonly creates = new Set<string>();
  readonly destroys = new Set<string>();
  events = 0;
  ended = '';
  /** Resolves once the server has registered the subscription (it sends its headers then). */
  readonly live: Promise<void>;
  private readonly stream: ReturnType<ClusterServiceClient['watchEvents']>;

  constructor(m: ClusterServiceClient) {
    this.stream = m.watchEvents({ types: ['container'], engines: [], containers: [] });
    this.live = new Promise((resolve) => this.stream.once('metadata', () => resolve()));
    this.stream.on('data', (r: WatchEventsResponse) => {
      this.events++;
      const e = r.event;
      const id = e?.docker?.actorId ?? '';
      if (e?.action === 'create') this.creates.add(id);
      else if (e?.action === 'destroy') this.destroys.add(id);
    });
    this.stream.on('error', (err: Error) => {
      if (codeName(err) !== 'CANCELLED') this.ended = err.message;
    });
  }

  /** Answered creates and removes it has no event for. */
  missing(): { creates: number; removes: number } {
    let creates = 0;
    let removes = 0;
    for (const id of answered.created) if (!this.creates.has(id)) creates++;
    for (const id of answered.removed) if (!this.destroys.has(id)) removes++;
    return { creates, removes };
  }

  close(): void {
    this.stream.cancel();
  }
}

// ---- restarts ----

interface RestartRecord {
  helper: string;
  mode: string;
  atMin: number;
  backMs: number; // until the helper's agents listen again
  reconnectedMs: number; // until the manager logged every engine of it reconnected
  missing: number;
}

const restarts: RestartRecord[] = [];

/** Addresses the manager has logged "engine reconnected"/"engine connected" for, fed by its log. */
let reconnectWatch: { waiting: Set<string>; done: () => void } | undefined;
function onManagerLine(line: string): void {
  if (!reconnectWatch || !(line.includes('"engine reconnected"') || line.includes('"engine connected"'))) return;
  try {
    const address = (JSON.parse(line) as { address?: string }).address;
    if (address && reconnectWatch.waiting.delete(address) && !reconnectWatch.waiting.size) reconnectWatch.done();
  } catch {
    // not JSON
  }
}

async function restartHelper(h: Helper, churnStart: number): Promise<void> {
  let markBack = () => {};
  try {
    await restartHelperOnce(h, churnStart, (back) => (markBack = back));
  } finally {
    // Creates waiting on this kill go on even if the restart failed.
    markBack();
  }
}

async function restartHelperOnce(h: Helper, churnStart: number, onKill: (back: () => void) => void): Promise<void> {
  const window = { start: now(), end: Infinity };
  restartWindows.push(window);
  const waiting = new Set(h.addresses);
  const mine = new Set(h.addresses);
  const reconnected = new Promise<void>((done) => (reconnectWatch = { waiting, done }));
  const t0 = now();
  if (h.mode === 'process') {
    const kill: Kill = { at: now(), back: new Promise<void>((r) => onKill(r)) };
    for (const address of h.addresses) kills.set(address, kill);
    const ports = h.addresses.map((a) => Number(a.split(':').pop()));
    h.proc.signal('SIGKILL');
    await h.proc.exited;
    for (const [id, address] of live) if (mine.has(address)) live.delete(id); // gone with the process
    kill.forgottenAt = now();
    h.lives++;
    h.proc = spawnHelper(h.index, h.first, h.count, ports, h.lives);
    const addresses = await readyAddresses(h.proc);
    if (addresses.join() !== h.addresses.join()) throw new Error(`${h.proc.name} came back on other addresses`);
  } else {
    const since = h.proc.totalLines;
    h.proc.signal('SIGHUP');
    const line = await h.proc.waitForLine(/"restarted":/, flags['restart-timeout-ms'], since);
    if (!line.includes('"restarted":true')) throw new Error(`${h.proc.name}: in-process restart failed: ${line}`);
  }
  const backMs = now() - t0;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([reconnected, new Promise<void>((r) => (timer = setTimeout(r, flags['restart-timeout-ms'])))]);
  clearTimeout(timer);
  reconnectWatch = undefined;
  window.end = now();
  const rec: RestartRecord = { helper: h.proc.name.replace(/\.\d+$/, ''), mode: h.mode, atMin: (t0 - churnStart) / 60_000, backMs, reconnectedMs: window.end - t0, missing: waiting.size };
  restarts.push(rec);
  log(`restart of ${rec.helper} (${h.mode}${h.mode === 'process' ? `, new PID ${h.proc.pid}` : ''}): agents back in ${backMs.toFixed(0)} ms, all ${h.addresses.length} reconnected in the manager after ${rec.reconnectedMs.toFixed(0)} ms${waiting.size ? ` — ${waiting.size} NOT reconnected within ${flags['restart-timeout-ms']} ms` : ''}`);
}

// ---- engines leaving and joining ----

interface LeaveRecord {
  atMin: number;
  engines: number;
  /** From the push that brings them back until ListEngines shows every one of them healthy. */
  backMs: number;
  missing: number;
}

const leaves: LeaveRecord[] = [];
let heartbeatMisses = 0;

/** Pushes the address set without a share of the engines, then with them again, and waits until they are healthy. */
async function leaveAndJoin(all: string[], pushSet: (addresses: string[]) => Promise<unknown>, m: ClusterServiceClient, churnStart: number): Promise<void> {
  const window = { start: now(), end: Infinity };
  restartWindows.push(window);
  const k = Math.max(1, Math.round(all.length * flags['leave-share']));
  const first = rand(all.length);
  const leaving = new Set(Array.from({ length: k }, (_, i) => all[(first + i) % all.length]));
  const t0 = now();
  await pushSet(all.filter((a) => !leaving.has(a)));
  await sleep(flags['leave-for-s'] * 1000);
  const t1 = now();
  await pushSet(all);
  let missing = k;
  while (now() - t1 < flags['restart-timeout-ms']) {
    const healthy = new Set((await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] }).catch(() => [])).map((e) => e.address));
    missing = [...leaving].filter((a) => !healthy.has(a)).length;
    if (!missing) break;
    await sleep(500);
  }
  window.end = now();
  const rec = { atMin: (t0 - churnStart) / 60_000, engines: k, backMs: window.end - t1, missing };
  leaves.push(rec);
  log(`${k} engines left for ${flags['leave-for-s']} s and joined again: all healthy after ${rec.backMs.toFixed(0)} ms${missing ? ` — ${missing} NOT healthy within ${flags['restart-timeout-ms']} ms` : ''}`);
}

// ---- main ----

let manager: ManagerProcess | undefined;

/** The manager's heap in use after a full GC, from heap-probe.js (undefined if it did not answer). */
async function managerHeapAfterGc(m: ManagerProcess): Promise<{ heapUsed: number } | undefined> {
  const since = m.process.totalLines;
  m.process.signal('SIGUSR2');
  try {
    return JSON.parse(await m.process.waitForLine(/"heapProbe":true/, 60_000, since)) as { heapUsed: number };
  } catch {
    return undefined;
  }
}

async function takeSample(t: number, churn: Churn | undefined, metricsAddress: string | undefined): Promise<void> {
  const quietMs = churn ? await churn.quiesce() : 0;
  try {
    await sleep(flags['settle-ms']); // no condition to await: the point is whether counts come back
    const m = manager!;
    const info = await call(m.client, m.client.getInfo, {}, { deadlineMs: 30_000 }).catch(() => undefined);
    const mp = procFigures(m.pid);
    const mm = metricsAddress ? await scrapeFigures(metricsAddress) : undefined;
    const probe = await managerHeapAfterGc(m);
    samples.push({
      t,
      proc: 'manager',
      pid: m.pid,
      ...mp,
      heap: probe?.heapUsed ?? mm?.nodejs_heap_size_used_bytes,
      handles: mm?.nodejs_active_handles_total,
      resources: mm?.nodejs_active_resources_total,
      activeCalls: mm?.flotilla_grpc_active_calls,
      containers: info?.containers?.total,
      detail: info ? `${info.engineCounts?.healthy ?? '?'} healthy` : 'GetInfo failed',
    });
    for (const h of helpers) {
      const hp = procFigures(h.proc.pid);
      const st = await helperStats(h);
      const top = st ? Object.entries(st.byType).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ') : 'no report';
      samples.push({ t, proc: `hollow-agents-${h.index}`, pid: h.proc.pid, ...hp, heap: st?.heapUsed, resources: st?.resources, detail: top });
    }
    const ms = samples[samples.length - 1 - helpers.length];
    log(`sample at ${fmt(t / 60)} min (quiet after ${quietMs.toFixed(0)} ms): manager RSS ${fmt(ms.rss / MiB)} MiB, ${ms.fds} fds, ${ms.threads} threads${ms.heap !== undefined ? `, heap ${fmt(ms.heap / MiB)} MiB` : ''}${ms.resources !== undefined ? `, ${ms.resources} resources` : ''}; ${live.size} bench containers`);
  } finally {
    churn?.unpause();
  }
}

async function main(): Promise<void> {
  if (flags.warmup >= flags.minutes) throw new Error('--warmup must be shorter than --minutes');
  const engines = await startHelpers();
  const script = path.join(repoRoot(), 'apps/cluster-manager/dist/main.js');
  const metricsWanted = flags.metrics === 'on' || (flags.metrics === 'auto' && managerKnowsMetricsFlag(script));
  const extra = flags['manager-args'] ? flags['manager-args'].split(' ').filter(Boolean) : [];
  // heap-probe.js: the manager's heap after a full GC at each sample (a heap read without one swings with the collector).
  manager = await startManagerProcess([...(metricsWanted ? ['--metrics-address', '127.0.0.1:0'] : []), ...extra], { nofile: engines.length + 512, env: managerEnvFrom(flags['manager-env']), nodeArgs: ['--expose-gc', '--require', path.join(__dirname, 'heap-probe.js')] });
  let metricsAddress: string | undefined;
  if (metricsWanted) {
    metricsAddress = await metricsAddressOf(manager.process, 10_000).catch(() => undefined);
    log(metricsAddress ? `manager metrics at http://${metricsAddress}/metrics` : 'the manager printed no "metrics listening" line with an address: /proc figures only');
  } else log('the manager has no --metrics-address flag (or --metrics off): /proc figures only for it');
  tapLines(manager.process, onManagerLine);
  const reasons = new UnhealthyReasons(manager.process);
  tapLines(manager.process, (line) => {
    if (line.includes('"engine unhealthy"') && line.includes('no heartbeat from the agent')) heartbeatMisses++;
  });
  const m = manager.client;

  // The address set discovery pushes; leaves take engines out of it for a while.
  let generation = 0;
  let pushed: string[] = engines;
  const push = () => call(manager!.pusher, manager!.pusher.syncEngines, { source: 'bench', generation: String(++generation), addresses: pushed }, { deadlineMs: 120_000 });
  await push();
  // Re-pushed every 30 s as the discovery service does (--push-interval): a pusher that goes
  // silent for --discovery-grace (5 min) loses its engines.
  const repush = setInterval(() => void push().catch((err: unknown) => log(`re-push failed: ${String(err)}`)), 30_000);
  const t0 = now();
  for (;;) {
    const healthy = (await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] }).catch(() => [])).length;
    if (healthy === engines.length) break;
    if (now() - t0 > 120_000) throw new Error(`only ${healthy} of ${engines.length} engines healthy after 120 s`);
    await sleep(250);
  }
  log(`${engines.length} engines healthy behind manager PID ${manager.pid} (${manager.address}) after ${((now() - t0) / 1000).toFixed(1)} s; churn for ${flags.minutes} min`);

  const target = flags.population || engines.length;
  const churn = new Churn(m, engines, target);
  running = churn;
  const witness = new Witness(m);
  await witness.live;
  const start = now();
  let nextLeave = flags['leave-every'] > 0 ? start + flags['leave-every'] * 1000 : Infinity;
  const end = start + flags.minutes * 60_000;
  await takeSample(0, undefined, metricsAddress);
  churn.start();
  let nextSample = start + flags['sample-every'] * 1000;
  let nextRestart = flags['restart-every'] > 0 ? start + flags['restart-every'] * 1000 : Infinity;
  let restartCount = 0;
  while (now() < end) {
    const next = Math.min(nextSample, nextRestart, nextLeave, end);
    if (next > now()) await sleep(next - now());
    if (now() >= end) break;
    if (now() >= nextLeave) {
      await leaveAndJoin(engines, (addresses) => {
        pushed = addresses;
        return push();
      }, m, start);
      nextLeave += flags['leave-every'] * 1000;
      while (nextLeave <= now()) nextLeave += flags['leave-every'] * 1000;
    }
    if (now() >= nextRestart) {
      const h = helpers[restartCount++ % helpers.length];
      await restartHelper(h, start);
      nextRestart += flags['restart-every'] * 1000;
      while (nextRestart <= now()) nextRestart += flags['restart-every'] * 1000;
    }
    if (now() >= nextSample && now() < end) {
      await takeSample((now() - start) / 1000, churn, metricsAddress);
      nextSample += flags['sample-every'] * 1000;
      while (nextSample <= now()) nextSample += flags['sample-every'] * 1000;
    }
  }
  const churnMs = now() - start;
  await churn.stop();
  // Events published before the last answers may still be on their way: wait until the witness has them, or 10 s.
  const drainUntil = now() + 10_000;
  while (now() < drainUntil && (witness.missing().creates || witness.missing().removes) && !witness.ended) await sleep(200);
  const missed = witness.missing();
  witness.close();
  clearInterval(repush);
  await takeSample(churnMs / 1000, undefined, metricsAddress);

  // What the manager lists of the bench's containers against what the bench thinks exists.
  let listed = NaN;
  try {
    let token = '';
    listed = 0;
    do {
      const page = await call(m, m.listContainers, { all: true, engines: [], states: [], labels: { 'flotilla.bench': 'churn' }, names: [], pageSize: 1000, pageToken: token }, { deadlineMs: 60_000 });
      listed += page.containers.length;
      token = page.nextPageToken;
    } while (token);
  } catch (err) {
    log(`final ListContainers failed: ${String(err)}`);
  }

  // ---- report ----
  const procs = ['manager', ...helpers.map((h) => `hollow-agents-${h.index}`)];
  const mib = (x: number | undefined) => (x === undefined ? '–' : fmt(x / MiB));
  const num = (x: number | undefined) => (x === undefined ? '–' : String(x));
  const sampleTables = procs.map((p) => {
    const rows = samples.filter((s) => s.proc === p);
    return [
      `**${p}**${p === 'manager' ? '' : ` (${helpers.find((h) => `hollow-agents-${h.index}` === p)!.mode === 'process' ? 'killed and started again at each of its restarts: the PID changes' : 'agents restarted in process: one process throughout'})`}`,
      '',
      '| min | PID | RSS MiB | heap MiB | fds (sockets) | threads | handles / resources | active calls | containers | note |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      ...rows.map((s) => `| ${fmt(s.t / 60)}${s.t < flags.warmup * 60 ? ' (warm-up)' : ''} | ${s.pid} | ${mib(s.rss)} | ${mib(s.heap)} | ${s.fds} (${s.sockets}) | ${s.threads} | ${num(s.handles)} / ${num(s.resources)} | ${num(s.activeCalls)} | ${num(s.containers)} | ${s.detail ?? ''} |`),
    ].join('\n');
  });
  const allVerdicts = procs.flatMap((p) => verdicts(p, p !== 'manager' && helpers.find((h) => `hollow-agents-${h.index}` === p)!.mode === 'process'));
  const verdictTable = [
    '| process | series | first after warm-up | last | growth | fitted growth (slope × span) | slope | allowed | verdict |',
    '|---|---|---|---|---:|---:|---:|---:|---|',
    ...allVerdicts.map((v) => `| ${v.proc} | ${v.series} | ${v.first} | ${v.last} | ${v.growth} | ${v.fitted} | ${v.slope} | ${v.allowed} | ${v.flat === undefined ? 'n/a (restarted, or one sample)' : v.flat ? 'flat' : '**GROWS**'} |`),
  ].join('\n');
  let totalOk = 0;
  let outside = 0;
  let during = 0;
  const opRows = [...ops].sort((a, b) => a[0].localeCompare(b[0])).map(([op, s]) => {
    totalOk += s.ok;
    const errs = [...s.errors].map(([code, e]) => {
      outside += e.outside;
      during += e.inRestart;
      return `${code} ${e.inRestart + e.outside} (${e.inRestart} in restarts${e.outside ? `, **${e.outside} outside**; first: ${e.first.replace(/\|/g, '/')}` : ''})`;
    });
    return `| ${op} | ${s.ok} | ${errs.join('; ') || '–'} |`;
  });
  const restartRows = restarts.map((r) => `| ${fmt(r.atMin)} | ${r.helper} | ${r.mode} | ${fmt(r.backMs, 0)} | ${fmt(r.reconnectedMs, 0)} | ${r.missing} |`);
  const bad = allVerdicts.filter((v) => v.flat === false);
  const body = [
    `${engines.length} hollow engines × ${flags.containers} containers in ${helpers.length} helper process(es), agent heartbeat ${flags['heartbeat-interval']} ms; one manager process (${metricsAddress ? `\`--metrics-address 127.0.0.1:0\`${extra.length ? ` plus \`${extra.join(' ')}\`` : ''}` : extra.length ? `\`${extra.join(' ')}\`` : 'default flags'}${managerEnvNote(flags['manager-env'])}) over mutual TLS. Churn for ${fmt(churnMs / 60_000)} min: ${flags.concurrency} workers at ${flags.rate || 'unlimited'} op/s in total (60 % create-or-remove around ${target} bench containers, 20 % ListContainers, 20 % ContainerLogs), ${flags.streams} WatchEvents streams reopened after 0–${flags['stream-hold-ms']} ms; a restart every ${flags['restart-every']} s (mode ${flags['restart-mode']})${flags['leave-every'] ? `; ${fmt(flags['leave-share'] * 100)} % of the engines leave and join again every ${flags['leave-every']} s` : ''}. Samples every ${flags['sample-every']} s with the churn paused until no call is in flight, plus ${flags['settle-ms']} ms; warm-up ${flags.warmup} min.`,
    '',
    '### Samples',
    '',
    sampleTables.join('\n\n'),
    '',
    `Manager heap: in use after a full GC (heap-probe.js preloaded, on SIGUSR2); its handles, resources and active calls come from its \`/metrics\`${metricsAddress ? '' : ' (not served by this build: "–")'}; helpers' heap (after a full GC) and active resources from their own report (\`process.getActiveResourcesInfo()\`, top types in the note).`,
    '',
    '### Verdict',
    '',
    `Flat: growth from the first sample after warm-up to the last, and the fitted growth (least-squares slope × that span), both within the allowance: memory +10 % or +8 MiB, whichever is larger; counts +2 % or +4, whichever is larger.`,
    '',
    verdictTable,
    '',
    bad.length ? `**Growing series: ${bad.map((v) => `${v.proc} ${v.series} ${v.growth}`).join('; ')}.**` : 'Every series with a verdict is flat.',
    '',
    '### Operations',
    '',
    '| operation | ok | errors by code |',
    '|---|---:|---|',
    ...opRows,
    '',
    `${totalOk} operations succeeded; ${during} errors overlapped a restart (expected), **${outside} did not**. WatchEvents streams delivered ${streamEvents} events. Creates answered across a kill of their engine's process whose container went with it (found by InspectContainer once the engines were back, and not counted as the bench's): ${lostWithProcess}. Bench containers at the end: ${live.size} known to the bench, ${listed} listed by the manager (label flotilla.bench=churn)${Number.isFinite(listed) && listed !== live.size ? ' — the difference: creates that failed after the engine made the container, or removes answered with an error' : ''}. Manager "engine unhealthy" log lines: ${reasons.total} (${reasons.summary()}).`,
    '',
    `**Heartbeat false positives** (a live agent marked unhealthy for missing heartbeats; restarts and leaves break streams instead): ${heartbeatMisses}. The goal is 0.`,
    '',
    '### Event delivery',
    '',
    `One WatchEvents subscriber (type container) was held the whole churn and read every event as it came: ${witness.events} events${witness.ended ? `; **it was ended: ${witness.ended}**` : ', never cut off'}. Of the ${answered.created.size} creates and ${answered.removed.size} removes the manager answered as seen on the engine's stream, it has no \`create\` event for **${missed.creates}** and no \`destroy\` event for **${missed.removes}** (the goal: 0 and 0).`,
    '',
    ...(leaves.length
      ? [
          '### Engines leaving and joining',
          '',
          `Every ${flags['leave-every']} s a discovery push left out ${fmt(flags['leave-share'] * 100)} % of the engines; ${flags['leave-for-s']} s later the next push brought them back.`,
          '',
          '| at min | engines | all healthy again after (ms) | not healthy again |',
          '|---:|---:|---:|---:|',
          ...leaves.map((l) => `| ${fmt(l.atMin)} | ${l.engines} | ${l.backMs.toFixed(0)} | ${l.missing} |`),
          '',
        ]
      : []),
    '### Restarts',
    '',
    '| at min | helper | how | agents back (ms) | all reconnected in the manager (ms) | not reconnected |',
    '|---:|---|---|---:|---:|---:|',
    ...restartRows,
  ].join('\n');
  report(`churn (B7), ${engines.length} hollow engines, ${fmt(churnMs / 60_000)} min`, body, !flags['no-results']);
  await manager.close();
}

/** The churn under way, stopped first when the bench fails: its workers would go on calling a manager that is gone. */
let running: Churn | undefined;

runMain(main, async () => {
  void running?.stop();
  manager?.client.close();
  await Promise.all(helpers.map((h) => h.proc.stop(5000)));
});
