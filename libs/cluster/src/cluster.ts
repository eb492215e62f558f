import { InvalidArgumentError, NotFoundError, silentLogger, type Logger } from '@flotilla/grpc';
import type { ClusterEngine, ClusterEvent, GetInfoResponse, Snapshot, WatchEventsRequest, WatchResponse } from '@flotilla/proto';
import type { PlacementSource } from '@flotilla/scheduler';
import { backoffDelay, type BackoffOptions, type Clock, type Timer } from '@flotilla/time';
import type { AgentConnector, AgentStream } from './agent-connector';
import { DiscoverySources, parseGeneration } from './discovery-sources';
import { defaultFlapPolicy, defaultSnapshotLimits, Engine, engineInfoProblem, SnapshotAssembly, type EngineDockerEvent, type EngineEventHandler, type EngineStatusName } from './engine';
import { normaliseEngineAddress } from './engine-address';
import { checkEngineRoom, checkPendingRoom, defaultEngineLimits } from './engine-limits';
import { engineView } from './engine-view';
import { EventHub, type Subscription } from './event-hub';
import { LagWindow } from './event-loop-lag';
import { checkSyncSizes } from './request-validation';
import { requestLimits } from './request-limits';
import { checkText } from './request-checks';

export interface ClusterOptions {
  connector: AgentConnector;
  clock: Clock;
  logger?: Logger;
  /** Usable capacity is total · (1 + ratio). Default 0.05. */
  overcommitRatio?: number;
  /** How many other engines a failed create is retried on (used by the scheduler). Default 0. */
  createRetry?: number;
  /** Heartbeat intervals an engine may miss before it is unhealthy. Default 3. */
  heartbeatTolerance?: number;
  /** The interval assumed until an agent's first heartbeat says its own. Default 1 s. */
  defaultHeartbeatIntervalMs?: number;
  /** Back-off between reconnects to an unhealthy engine. */
  reconnect?: BackoffOptions;
  /** Back-off between validation attempts of a pending engine. */
  pendingRetry?: BackoffOptions;
  /** Failures (times an engine became unhealthy) within this window lower its health (--flap-window). Default 5 minutes. */
  flapWindowMs?: number;
  /**
   * Failures within the window that make a healthy engine "flapping" (--flap-threshold): health 1,
   * placed only when no steadier engine fits. Each failure below it takes 100/threshold off. Default 3.
   */
  flapThreshold?: number;
  /**
   * A heartbeat sweep that runs more than this late (ms past its time) means the manager's own
   * event loop stalled: it blames no engine and gives every engine a fresh grace. Default 1 s.
   */
  lateSweepMs?: number;
  /**
   * A discovery identity that has not pushed for longer than this loses its sources (--discovery-grace):
   * the engines only they listed, and not added by hand, are removed. Discovery re-pushes every
   * 30 s (its --push-interval) even when nothing changed. Default 5 minutes.
   */
  discoveryGraceMs?: number;
  /** Streams opened per tick for the engines a discovery push added (see syncEngines). Default 64. */
  dialsPerTick?: number;
  /** Shown by GetInfo; the scheduler uses them. */
  strategy?: string;
  filters?: string[];
  maxQueuedEvents?: number;
  /** Engines the cluster may hold, pending or not, however added (--max-engines). Default 20,000. */
  maxEngines?: number;
  /** Pending engines added by hand the cluster may hold; discovery's do not count (--max-pending-engines). Default 1,000. */
  maxPendingEngines?: number;
  random?: () => number;
  version?: string;
  /** Containers one engine's snapshot may hold; past it the engine is refused. Default 100,000. */
  maxSnapshotContainers?: number;
  /** Estimated bytes one engine's snapshot may hold across its parts; past it the engine is refused. Default 256 MiB. */
  maxSnapshotBytes?: number;
}

export interface EngineFilter {
  statuses?: EngineStatusName[];
  /** Every label must match; "*" matches any value. */
  labels?: Record<string, string>;
}

const defaults = {
  overcommitRatio: 0.05,
  createRetry: 0,
  heartbeatTolerance: 3,
  defaultHeartbeatIntervalMs: 1000,
  reconnect: { initialMs: 200, maxMs: 10_000 } as BackoffOptions,
  pendingRetry: { initialMs: 1000, maxMs: 30_000 } as BackoffOptions,
  flapWindowMs: defaultFlapPolicy.flapWindowMs,
  flapThreshold: defaultFlapPolicy.flapThreshold,
  lateSweepMs: 1000,
  dialsPerTick: 64,
  discoveryGraceMs: 5 * 60_000,
  maxSnapshotContainers: defaultSnapshotLimits.maxContainers,
  maxSnapshotBytes: defaultSnapshotLimits.maxBytes,
  maxEngines: defaultEngineLimits.maxEngines,
  maxPendingEngines: defaultEngineLimits.maxPendingEngines,
};

type Message = NonNullable<WatchResponse['message']>;

/** A timer this long fires on the next turn of the event loop (Node makes 0 ms 1 ms anyway). */
const nextTickMs = 1;

/** How many skipped items a log line names; the rest are counted. */
const loggedProblems = 5;

/**
 * The cluster: engines keyed by engine ID, pending engines keyed by address, and the events of
 * all of them. State comes only from the agents' streams; the cluster decides each engine's
 * lifecycle (validation, health, reconnects) and never holds anything across network I/O, so add,
 * remove and validation interleave safely.
 */
export class Cluster implements EngineEventHandler, PlacementSource {
  /** Validated engines, by engine ID. */
  readonly engines = new Map<string, Engine>();
  /** Engines not yet validated, by address. */
  readonly pendingEngines = new Map<string, Engine>();
  private readonly byAddress = new Map<string, Engine>();
  /** What each discovery source last pushed, by pusher and source, so a push applies only its difference. */
  private readonly sources = new DiscoverySources();
  /**
   * Addresses added by hand: the "manual" membership. An engine's other memberships are the
   * discovery sources that list its address; it leaves when it has none left (or by RemoveEngine).
   */
  private readonly manual = new Set<string>();
  /** Fires when the next discovery identity's grace runs out (see expireSources). */
  private graceTimer: Timer | undefined;
  /** Validated engines by `label=value` (lower case), so placement narrows by constraint without a scan. */
  private readonly labelIndex = new Map<string, Set<Engine>>();
  private readonly indexedLabels = new Map<Engine, string[]>();
  private readonly hub: EventHub<ClusterEvent>;
  private readonly logger: Logger;
  private readonly o: Required<Omit<ClusterOptions, 'logger' | 'random' | 'strategy' | 'filters' | 'version'>> & Pick<ClusterOptions, 'random' | 'strategy' | 'filters' | 'version'>;
  private sweep: Timer | undefined;
  private sweepEveryMs = 0;
  private lastSweepAt = 0;
  /** Silence before this time is held against no engine: the manager itself had stalled. */
  private graceFrom = -Infinity;
  private lateSweeps = 0;
  /** How late the sweep ran, over the last minute: the manager's event-loop lag. */
  private readonly lag = new LagWindow(60_000);
  /** Engines a discovery push added, waiting for their first stream, in push order. */
  private readonly dialQueue = new Set<Engine>();
  private dialTimer: Timer | undefined;

  constructor(options: ClusterOptions) {
    this.o = { ...defaults, maxQueuedEvents: 10_000, ...options };
    if (!(this.o.overcommitRatio >= -1)) throw InvalidArgumentError.field('overcommit', this.o.overcommitRatio, 'must be at least -1');
    this.logger = options.logger ?? silentLogger;
    this.hub = new EventHub<ClusterEvent>(this.o.maxQueuedEvents);
  }

  get overcommitRatio(): number {
    return this.o.overcommitRatio;
  }

  get createRetry(): number {
    return this.o.createRetry;
  }

  /** Starts watching for silent engines. */
  start(): void {
    if (this.sweep) return;
    this.sweepEveryMs = Math.max(10, Math.min(250, Math.floor(this.o.defaultHeartbeatIntervalMs / 4)));
    this.lastSweepAt = this.o.clock.now();
    this.sweep = this.o.clock.setInterval(() => this.checkHeartbeats(), this.sweepEveryMs);
  }

  /** Closes every stream and timer, and ends every event subscription. */
  stop(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    this.dialTimer?.cancel();
    this.dialTimer = undefined;
    this.dialQueue.clear();
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
    for (const engine of this.byAddress.values()) this.shut(engine);
    this.hub.closeAll('the cluster-manager is shutting down');
  }

  // ---- engines ----

  /**
   * Adds an engine-agent address by hand (the API, or --engine): the engine gets the manual
   * membership, which discovery never removes. False when the engine was already known (added by
   * discovery, say); it gets the manual membership then too, beside its discovery sources. A new address is
   * refused (RESOURCE_EXHAUSTED) when the cluster is at --max-engines, or when engines added by
   * hand that are still pending are at --max-pending-engines.
   */
  addEngine(address: string): boolean {
    checkText('address', address, requestLimits.addressBytes);
    const addr = normaliseEngineAddress(address);
    if (!this.byAddress.has(addr)) {
      checkEngineRoom(this.byAddress.size, 1, this.o);
      checkPendingRoom(this.pendingByHand(), this.o);
    }
    this.manual.add(addr);
    return this.register(addr);
  }

  /** Engines added by hand that are pending now. */
  private pendingByHand(): number {
    let count = 0;
    for (const address of this.manual) if (this.pendingEngines.has(address)) count++;
    return count;
  }

  /** A new address becomes a pending engine; its stream opens now, or from the dial queue. */
  private register(addr: string, dial: 'now' | 'queued' = 'now'): boolean {
    if (this.byAddress.has(addr)) return false;
    const engine = new Engine(addr, this.o.clock.now(), { now: () => this.o.clock.now(), flapWindowMs: this.o.flapWindowMs, flapThreshold: this.o.flapThreshold });
    engine.registerEventHandler(this);
    this.pendingEngines.set(addr, engine);
    this.byAddress.set(addr, engine);
    this.logger.info('engine pending', { address: addr });
    this.emitEngine(engine, 'pending');
    if (dial === 'now') this.open(engine);
    else this.queueDial(engine);
    return true;
  }

  private queueDial(engine: Engine): void {
    this.dialQueue.add(engine);
    this.dialTimer ??= this.o.clock.setTimeout(() => this.dialBatch(), nextTickMs);
  }

  /**
   * Opens the first streams of up to `dialsPerTick` queued engines, then yields to the event loop
   * (a timer for the next tick) before the next batch, so heartbeats, snapshots and calls are
   * served between batches: one dial costs about a millisecond of CPU.
   */
  private dialBatch(): void {
    this.dialTimer = undefined;
    let opened = 0;
    for (const engine of this.dialQueue) {
      if (opened++ >= this.o.dialsPerTick) break;
      this.dialQueue.delete(engine);
      if (!engine.removed) this.open(engine);
    }
    if (this.dialQueue.size) this.dialTimer = this.o.clock.setTimeout(() => this.dialBatch(), nextTickMs);
  }

  /** Engines a discovery push added whose stream is not open yet. */
  get queuedDials(): number {
    return this.dialQueue.size;
  }

  /** Drops an engine, pending or not, by address, ID or name. Safe while it is being validated. */
  removeEngine(ref: string): ClusterEngine {
    const engine = this.getEngine(ref);
    this.shut(engine);
    this.dialQueue.delete(engine);
    engine.removed = true;
    engine.status = 'disconnected';
    engine.updatedAt = this.o.clock.now();
    this.pendingEngines.delete(engine.address);
    if (this.engines.get(engine.id) === engine) this.engines.delete(engine.id);
    this.unindexLabels(engine);
    this.byAddress.delete(engine.address);
    this.manual.delete(engine.address);
    this.o.connector.release(engine.address);
    this.logger.info('engine removed', { address: engine.address, id: engine.id });
    this.emitEngine(engine, 'removed');
    return this.view(engine);
  }

  /**
   * Sets the whole address set of one discovery source: removals first, then additions, as
   * classic Swarm's discovery monitor did. A generation at or below the last applied one changes
   * nothing, so pushes can be repeated safely (after a reconnect, or on a timer).
   *
   * Sources are keyed by `pusher` (the authenticated identity of the discovery service; empty
   * when there is none) and `source` together. A push is checked whole before anything is
   * applied: its sizes, its generation (see parseGeneration), the pusher's number of sources and
   * --max-engines; a refused push changes nothing and records no generation, so the next good
   * push of the source applies.
   *
   * Each source is one membership of the engines it lists; an address the push drops loses only
   * this source's membership, and the engine leaves when no other source lists it and it was not
   * added by hand. Every push the manager takes (applied or unchanged) keeps all of the pusher's
   * sources alive for another `discoveryGraceMs`; past it they are forgotten (see expireSources).
   *
   * The call answers at once: membership is recorded and every new engine is pending (announced
   * by its "pending" event), but no engine is dialled inside the call. Their streams open from a
   * queue, `dialsPerTick` (64) per tick with a yield to the event loop between batches, so a push
   * of 5,000 addresses neither blocks the manager nor waits for 5,000 dials (≈ 1 ms of CPU each).
   */
  syncEngines(source: string, generation: bigint | string, addresses: string[], pusher = ''): { added: string[]; removed: string[]; generation: bigint; unchanged: boolean } {
    checkSyncSizes(source, addresses);
    if (!source.trim()) throw InvalidArgumentError.field('source', source, 'a source name is required');
    const pushed = parseGeneration(generation, this.o.clock.now());
    const next = new Set(addresses.map((a, i) => normaliseEngineAddress(a, `addresses[${i}]`)));
    const previous = this.sources.get(pusher, source);
    if (previous && pushed <= previous.generation) {
      // The safety-net re-push: nothing changes, but the identity is alive.
      this.touchPusher(pusher);
      return { added: [], removed: [], generation: previous.generation, unchanged: true };
    }
    this.sources.checkRoom(pusher, source);
    const leaving = [...(previous?.addresses ?? [])].filter(
      (address) => !next.has(address) && !this.sources.listedElsewhere(pusher, source, address) && !this.manual.has(address) && this.byAddress.has(address),
    );
    const arriving = [...next].filter((address) => !this.byAddress.has(address));
    checkEngineRoom(this.byAddress.size - leaving.length, arriving.length, this.o, `the ${arriving.length} new engines of this push`);
    for (const address of leaving) this.removeEngine(address);
    const added = [...next].filter((address) => !previous?.addresses.has(address) && this.register(address, 'queued'));
    this.sources.set(pusher, source, { generation: pushed, addresses: next });
    this.touchPusher(pusher);
    this.logger.info('discovery push applied', { pusher, source, generation: String(pushed), engines: next.size, added: added.length, removed: leaving.length });
    return { added, removed: leaving, generation: pushed, unchanged: false };
  }

  /** The identity pushed (applied or unchanged): its sources live another --discovery-grace. */
  private touchPusher(pusher: string): void {
    this.sources.touch(pusher, this.o.clock.now());
    this.graceTimer ??= this.o.clock.setTimeout(() => this.expireSources(), this.o.discoveryGraceMs + nextTickMs);
  }

  /**
   * Forgets the sources of every discovery identity that has not pushed for longer than
   * --discovery-grace (a discovery service that was stopped, replaced or renamed), and removes
   * the engines that have no membership left: listed by no other source and not added by hand.
   * Then waits for the next identity's grace to run out.
   */
  private expireSources(): void {
    this.graceTimer = undefined;
    const now = this.o.clock.now();
    for (const { pusher, lastPushAt, sources } of this.sources.expire(now, this.o.discoveryGraceMs)) {
      for (const [source, push] of sources) {
        const removed: string[] = [];
        for (const address of push.addresses) {
          if (this.manual.has(address) || this.sources.lists(address) || !this.byAddress.has(address)) continue;
          this.removeEngine(address);
          removed.push(address);
        }
        this.logger.warn('discovery source expired: its identity stopped pushing; removed the engines only it listed', {
          pusher,
          source,
          silentMs: now - lastPushAt,
          graceMs: this.o.discoveryGraceMs,
          engines: push.addresses.size,
          removed: removed.length,
          first: removed.slice(0, loggedProblems),
        });
      }
    }
    const next = this.sources.nextExpiry(this.o.discoveryGraceMs);
    if (next !== undefined) this.graceTimer = this.o.clock.setTimeout(() => this.expireSources(), Math.max(nextTickMs, next - now + nextTickMs));
  }

  /** The engine with this address, ID or name; a name several engines share is INVALID_ARGUMENT. */
  findEngine(ref: string): Engine | undefined {
    const text = ref.trim();
    if (!text) return undefined;
    const direct = this.byAddress.get(text) ?? this.engines.get(text);
    if (direct) return direct;
    // An engine that fell back to pending keeps the ID it had.
    for (const e of this.pendingEngines.values()) if (e.id === text) return e;
    try {
      const normal = this.byAddress.get(normaliseEngineAddress(text));
      if (normal) return normal;
    } catch {
      // not an address
    }
    const named = [...this.byAddress.values()].filter((e) => e.name === text);
    if (named.length > 1) {
      throw InvalidArgumentError.field('engine', ref, `${named.length} engines are named so (${named.map((e) => e.address).join(', ')}); use the address or ID`);
    }
    return named[0];
  }

  getEngine(ref: string, field = 'engine'): Engine {
    if (!ref.trim()) throw InvalidArgumentError.field(field, ref, 'an engine address, ID or name is required');
    const engine = this.findEngine(ref);
    if (!engine) throw new NotFoundError(`no engine ${JSON.stringify(ref)} in the cluster (by address, ID or name)`);
    return engine;
  }

  listEngines(filter: EngineFilter = {}): Engine[] {
    const statuses = filter.statuses?.length ? new Set(filter.statuses) : undefined;
    const labels = Object.entries(filter.labels ?? {});
    return [...this.byAddress.values()]
      .filter((e) => !statuses || statuses.has(e.status))
      .filter((e) => labels.every(([k, v]) => (v === '*' ? Object.hasOwn(e.labels, k) : e.labels[k] === v)))
      .sort((a, b) => (a.name || a.address).localeCompare(b.name || b.address) || a.address.localeCompare(b.address));
  }

  health(engine: Engine): number {
    return engine.healthScore();
  }

  view(engine: Engine): ClusterEngine {
    const listed = this.byAddress.get(engine.address) === engine;
    return engineView(engine, this.health(engine), this.o.overcommitRatio, {
      addedByHand: listed && this.manual.has(engine.address),
      discoverySources: listed ? this.sources.listing(engine.address) : [],
    });
  }

  info(): GetInfoResponse {
    const counts = { pending: 0, healthy: 0, unhealthy: 0, disconnected: 0 };
    let flapping = 0;
    const containers = { running: 0, paused: 0, stopped: 0, total: 0 };
    let images = 0;
    let cpus = 0;
    let memory = 0;
    let reservedCpus = 0;
    let reservedMemory = 0;
    // A summary: one pass, nothing sorted, no engine rendered (ListEngines pages the engines).
    for (const e of this.byAddress.values()) {
      counts[e.status]++;
      if (e.status === 'pending') continue;
      if (e.flaps.length && e.healthState() === 'flapping') flapping++;
      containers.running += e.tally.running;
      containers.paused += e.tally.paused;
      containers.stopped += e.tally.stopped;
      images += e.images.size;
      cpus += e.cpus * 1e9;
      memory += e.memoryBytes;
      reservedCpus += e.reservedNanoCpus;
      reservedMemory += e.reservedMemoryBytes;
    }
    containers.total = containers.running + containers.paused + containers.stopped;
    const lag = this.lag.figures(this.o.clock.now());
    return {
      strategy: this.o.strategy ?? 'spread',
      filters: this.o.filters ?? [],
      overcommitRatio: this.o.overcommitRatio,
      engineCounts: counts,
      engines: [],
      containers,
      images,
      totalNanoCpus: String(cpus),
      totalMemoryBytes: String(memory),
      reservedNanoCpus: String(reservedCpus),
      reservedMemoryBytes: String(reservedMemory),
      managerVersion: this.o.version ?? '',
      eventLoopLagP99Ms: lag.p99Ms,
      eventLoopLagMaxMs: lag.maxMs,
      lateHeartbeatSweeps: this.lateSweeps,
      flappingEngines: flapping,
    };
  }

  // ---- placement ----

  all(): Iterable<Engine> {
    return this.engines.values();
  }

  withLabel(key: string, value: string): Iterable<Engine> {
    return this.labelIndex.get(`${key}=${value}`) ?? [];
  }

  countWithLabel(key: string, value: string): number {
    return this.labelIndex.get(`${key}=${value}`)?.size ?? 0;
  }

  private indexLabels(engine: Engine): void {
    this.unindexLabels(engine);
    const keys = Object.entries(engine.labels).map(([k, v]) => `${k.toLowerCase()}=${v.toLowerCase()}`);
    for (const key of keys) {
      let set = this.labelIndex.get(key);
      if (!set) this.labelIndex.set(key, (set = new Set()));
      set.add(engine);
    }
    this.indexedLabels.set(engine, keys);
  }

  private unindexLabels(engine: Engine): void {
    for (const key of this.indexedLabels.get(engine) ?? []) {
      const set = this.labelIndex.get(key);
      set?.delete(engine);
      if (set?.size === 0) this.labelIndex.delete(key);
    }
    this.indexedLabels.delete(engine);
  }

  // ---- events ----

  /** Events that match the request's filters; an unknown filter value is INVALID_ARGUMENT. */
  subscribe(request: Pick<WatchEventsRequest, 'types' | 'engines' | 'containers'>, maxQueued?: number): Subscription<ClusterEvent> {
    const types = new Set(request.types.map((t) => t.trim().toLowerCase()).filter(Boolean));
    const engines = request.engines.map((ref, i) => {
      if (!ref.trim()) throw InvalidArgumentError.field(`engines[${i}]`, ref, 'must not be empty');
      try {
        return normaliseEngineAddress(ref.trim());
      } catch {
        return ref.trim(); // an ID or a name
      }
    });
    const containers = request.containers.map((ref, i) => {
      if (!ref.trim()) throw InvalidArgumentError.field(`containers[${i}]`, ref, 'must not be empty');
      return ref.trim();
    });
    const matchesEngine = (e: ClusterEvent) => engines.some((ref) => ref === e.engine?.id || ref === e.engine?.name || ref === e.engine?.address);
    const matchesContainer = (e: ClusterEvent) => {
      if (e.type !== 'container') return false;
      const id = e.docker?.actorId ?? '';
      const names = [e.docker?.actorAttributes.name, ...(e.container?.names ?? [])];
      return containers.some((ref) => ref === id || (ref.length >= 12 && id.startsWith(ref)) || names.includes(ref));
    };
    return this.hub.subscribe(
      (e) => (!types.size || types.has(e.type)) && (!engines.length || matchesEngine(e)) && (!containers.length || matchesContainer(e)),
      maxQueued,
    );
  }

  /** Publishes an event of the cluster's own (e.g. pull progress) to subscribers. */
  publish(event: ClusterEvent): void {
    this.hub.publish(event);
  }

  get subscriberCount(): number {
    return this.hub.subscriberCount;
  }

  handleEngineEvent(engine: Engine, event: EngineDockerEvent): void {
    this.hub.publish({
      type: event.docker.type,
      action: event.docker.action,
      engine: { id: engine.id, name: engine.name, address: engine.address },
      time: new Date(Number(BigInt(event.docker.timeNano) / 1_000_000n)),
      docker: event.docker,
      container: event.container,
      engineState: undefined,
      error: '',
    });
  }

  private emitEngine(engine: Engine, action: string, error = ''): void {
    this.hub.publish({
      type: 'engine',
      action,
      engine: { id: engine.id, name: engine.name, address: engine.address },
      time: new Date(this.o.clock.now()),
      docker: undefined,
      container: undefined,
      engineState: this.view(engine),
      error,
    });
  }

  // ---- the stream of one engine ----

  private open(engine: Engine): void {
    this.dialQueue.delete(engine);
    engine.stream?.close();
    engine.retry?.cancel();
    engine.retry = undefined;
    const session = ++engine.session;
    engine.lastSequence = 0;
    engine.assembly = undefined;
    engine.lastMessageAt = this.o.clock.now();
    const end = (err: Error | undefined) => {
      if (engine.session === session && !engine.removed) {
        engine.stream = undefined;
        this.fail(engine, err?.message ?? 'the agent ended its Watch stream');
      }
    };
    let stream: AgentStream;
    try {
      stream = this.o.connector.watch(engine.address, {
        message: (m) => {
          if (engine.session === session && !engine.removed) this.onMessage(engine, m);
        },
        end,
      });
    } catch (err) {
      // E.g. TLS files that cannot be read: a failed attempt like any other, retried with back-off.
      end(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    // A connector may answer inside watch() itself (a refused connection, a rejected snapshot):
    // if that already ended this session, the stream is not the engine's current one.
    if (engine.session === session) engine.stream = stream;
    else stream.close();
  }

  /** Closes an engine's stream and timer; its maps are left as they are. */
  private shut(engine: Engine): void {
    engine.session++;
    engine.assembly = undefined;
    engine.stream?.close();
    engine.stream = undefined;
    engine.retry?.cancel();
    engine.retry = undefined;
  }

  /** Handles one message of an engine's stream. Nothing an agent sends may throw out of here. */
  private onMessage(engine: Engine, response: WatchResponse): void {
    try {
      this.handleMessage(engine, response);
    } catch (err) {
      // A bug, not the agent's doing (its input is checked): a fresh stream and snapshot put the
      // engine's state right again.
      this.logger.error('failed to handle a message from an agent; resyncing', { address: engine.address, error: err });
      if (!engine.removed) this.resyncStream(engine);
    }
  }

  private handleMessage(engine: Engine, response: WatchResponse): void {
    const now = this.o.clock.now();
    engine.lastMessageAt = now;
    engine.updatedAt = now;
    const sequence = Number(response.sequence);
    if (sequence !== engine.lastSequence + 1) {
      // A message was lost: a new stream starts with a fresh snapshot.
      this.logger.warn('sequence gap on an engine stream; resyncing', { address: engine.address, expected: engine.lastSequence + 1, got: sequence });
      this.resyncStream(engine);
      return;
    }
    engine.lastSequence = sequence;
    const message: Message | undefined = response.message;
    const assembly = engine.assembly;
    if (assembly) {
      // Nothing comes between a snapshot's parts (see Snapshot in engine_agent.proto).
      if (message?.$case !== 'snapshotPart') return this.protocolError(engine, `a ${message?.$case ?? 'empty'} message came between the parts of a snapshot`);
      return this.addSnapshotPart(engine, assembly, message.value, message.value.more === true);
    }
    if (!message) return;
    switch (message.$case) {
      case 'snapshot': {
        // Every snapshot, in one message or many, is taken through an assembly and its limits.
        const started = new SnapshotAssembly(message.value, { maxContainers: this.o.maxSnapshotContainers, maxBytes: this.o.maxSnapshotBytes });
        engine.assembly = started;
        return this.addSnapshotPart(engine, started, message.value, message.value.more === true);
      }
      case 'snapshotPart':
        return this.protocolError(engine, 'a snapshot part came without a snapshot before it');
      case 'heartbeat': {
        const interval = message.value.intervalMs;
        if (!interval) engine.heartbeatIntervalMs = undefined;
        // An interval no agent would use would make the engine never (or always) look silent.
        else if (Number.isInteger(interval) && interval > 0 && interval <= 3_600_000) engine.heartbeatIntervalMs = interval;
        else this.logger.warn('ignoring an absurd heartbeat interval', { address: engine.address, intervalMs: interval });
        return;
      }
      case 'state':
        if (!message.value.reachable) this.onDockerUnreachable(engine, typeof message.value.error === 'string' ? message.value.error.slice(0, 4096) : '');
        return;
      default: {
        if (engine.status === 'pending') return;
        const problem = engine.applyDelta(message);
        if (problem) this.logger.warn('skipping a malformed delta from an agent', { address: engine.address, id: engine.id, problem });
      }
    }
  }

  /** Adds a snapshot's head or a part; applies the snapshot after its last part. */
  private addSnapshotPart(engine: Engine, assembly: SnapshotAssembly, part: Parameters<SnapshotAssembly['add']>[0], more: boolean): void {
    const refused = assembly.add(part);
    if (refused) {
      // Past a limit the engine fails validation: nothing more of it is held.
      engine.assembly = undefined;
      return this.reject(engine, refused);
    }
    if (more) return;
    engine.assembly = undefined;
    if (assembly.parts > 1) this.logger.debug('snapshot assembled', { address: engine.address, parts: assembly.parts, containers: assembly.containerCount });
    this.onSnapshot(engine, assembly.snapshot());
  }

  /** The agent broke the stream's rules: log it and start over with a fresh stream and snapshot. */
  private protocolError(engine: Engine, problem: string): void {
    this.logger.warn('protocol error on an engine stream; resyncing', { address: engine.address, id: engine.id, problem });
    this.resyncStream(engine);
  }

  /**
   * Reopens an engine's stream, whose first message is a fresh snapshot. Not a failure of the
   * engine: reopen at once, and back off only when resyncs repeat.
   */
  private resyncStream(engine: Engine): void {
    const now = this.o.clock.now();
    const repeated = now - engine.lastResyncAt < 1000;
    engine.lastResyncAt = now;
    this.shut(engine);
    if (repeated) this.scheduleRetry(engine, this.o.reconnect);
    else this.open(engine);
  }

  private onDockerUnreachable(engine: Engine, error: string): void {
    const reason = `Docker engine unreachable: ${error}`;
    if (engine.status === 'healthy') this.markUnhealthy(engine, reason);
    else {
      engine.lastError = reason;
    }
  }

  private onSnapshot(engine: Engine, snapshot: Snapshot): void {
    const info = snapshot.engine;
    const problem = engineInfoProblem(info);
    if (problem) return this.reject(engine, problem);
    const id = info!.id;
    const holder = this.engines.get(id);
    if (holder && holder !== engine) {
      return this.reject(engine, `ID duplicated: ${id} shared by ${holder.address} and ${engine.address}`);
    }
    if (engine.status !== 'pending' && engine.id && engine.id !== id) {
      // Another Docker engine now answers at this address: re-key it.
      this.engines.delete(engine.id);
    }
    const skipped = engine.applySnapshot(snapshot);
    if (skipped.length) {
      this.logger.warn('skipped malformed items in a snapshot', { address: engine.address, id, skipped: skipped.length, first: skipped.slice(0, loggedProblems) });
    }
    this.indexLabels(engine);
    const was = engine.status;
    this.pendingEngines.delete(engine.address);
    this.engines.set(id, engine);
    engine.status = 'healthy';
    engine.failureCount = 0;
    engine.attempt = 0;
    engine.lastError = '';
    if (was === 'pending') {
      this.logger.info('engine connected', { address: engine.address, id, name: engine.name, containers: engine.containers.size });
      this.emitEngine(engine, 'connect');
    } else if (was === 'unhealthy') {
      this.logger.info('engine reconnected', { address: engine.address, id });
      this.emitEngine(engine, 'reconnect');
    }
  }

  /** Validation failed: the engine stays (or goes back to) pending and is retried later. */
  private reject(engine: Engine, reason: string): void {
    this.logger.warn('engine not validated', { address: engine.address, error: reason });
    this.shut(engine);
    if (engine.status !== 'pending') {
      if (this.engines.get(engine.id) === engine) this.engines.delete(engine.id);
      this.unindexLabels(engine);
      engine.status = 'pending';
      this.pendingEngines.set(engine.address, engine);
    }
    engine.failureCount++;
    engine.lastError = reason;
    engine.updatedAt = this.o.clock.now();
    this.emitEngine(engine, 'error', reason);
    this.scheduleRetry(engine, this.o.pendingRetry);
  }

  private markUnhealthy(engine: Engine, reason: string): void {
    engine.status = 'unhealthy';
    engine.lastError = reason;
    engine.updatedAt = this.o.clock.now();
    engine.flaps.push(engine.updatedAt);
    this.logger.warn('engine unhealthy', { address: engine.address, id: engine.id, error: reason });
    this.emitEngine(engine, 'disconnect', reason);
  }

  /** The stream broke or went silent. */
  private fail(engine: Engine, reason: string): void {
    this.shut(engine);
    engine.failureCount++;
    if (engine.status === 'healthy') this.markUnhealthy(engine, reason);
    else engine.lastError = reason;
    engine.updatedAt = this.o.clock.now();
    this.scheduleRetry(engine, engine.status === 'pending' ? this.o.pendingRetry : this.o.reconnect);
  }

  private scheduleRetry(engine: Engine, backoff: BackoffOptions): void {
    engine.retry?.cancel();
    const delay = backoffDelay(engine.attempt++, backoff, this.o.random);
    engine.retry = this.o.clock.setTimeout(() => {
      engine.retry = undefined;
      if (!engine.removed) this.open(engine);
    }, delay);
  }

  private checkHeartbeats(): void {
    const now = this.o.clock.now();
    // How late this run is, is how long the manager's own event loop was held up.
    const lateBy = Math.max(0, now - this.lastSweepAt - this.sweepEveryMs);
    this.lastSweepAt = now;
    this.lag.add(now, lateBy);
    if (lateBy > this.o.lateSweepMs) {
      // The manager stalled, not the agents: timers run before sockets are read, so their
      // heartbeats may be sitting unread. Count every engine's silence afresh from now.
      this.graceFrom = now;
      this.lateSweeps++;
      this.logger.warn('heartbeat sweep ran late: the manager was stalled; every engine gets a fresh grace', { lateByMs: lateBy, engines: this.byAddress.size, lateSweeps: this.lateSweeps });
      return;
    }
    for (const engine of this.byAddress.values()) {
      if (!engine.stream) continue;
      const interval = engine.heartbeatIntervalMs ?? this.o.defaultHeartbeatIntervalMs;
      const silentFor = now - Math.max(engine.lastMessageAt, this.graceFrom);
      if (silentFor > this.o.heartbeatTolerance * interval) {
        this.fail(engine, `no heartbeat from the agent for ${silentFor} ms (${this.o.heartbeatTolerance} intervals of ${interval} ms)`);
      }
    }
  }
}

