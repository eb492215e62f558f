import { ContainerNameIndex } from './container-names';
import { silentLogger, type Logger } from '@flotilla/grpc';
import type { ClusterEngine, ClusterEvent, GetInfoResponse } from '@flotilla/proto/cluster';
import type { PlacementSource } from '@flotilla/scheduler';
import { clusterInfo } from './cluster-info';
import { clusterSettings, type ClusterOptions, type ClusterSettings } from './cluster-options';
import { DialQueue } from './dial-queue';
import { DiscoveryReconciler, type SyncResult } from './discovery-reconciler';
import { Engine, type EngineDockerEvent, type EngineEventHandler, type HealthPolicy } from './engine';
import { normaliseEngineAddress } from './engine-address';
import { checkEngineRoom, checkPendingRoom } from './engine-limits';
import { EngineRegistry, type EngineFilter } from './engine-registry';
import { EngineStream, type EngineStreamHost, type EngineStreamOptions } from './engine-stream';
import { classicEngineAction, engineRef, engineView } from './engine-view';
import { clusterEventFilter, type EventFilterRequest } from './event-filters';
import { ClusterActivity } from './cluster-activity';
import { EventHub, type Subscription } from './event-hub';
import { heartbeatIntervalToAsk } from './heartbeat-budget';
import { HeartbeatSweep } from './heartbeat-sweep';
import { checkText } from './request-checks';
import { requestLimits } from './request-limits';
import { StringPool } from './string-pool';

export type { ClusterOptions } from './cluster-options';
export type { EngineFilter } from './engine-registry';

/**
 * The cluster: engines keyed by engine ID, pending engines keyed by address, and the events of
 * all of them. It keeps membership (addEngine, removeEngine, discovery's syncEngines) and hands
 * the rest to its parts: each engine's EngineStream connects, validates, hears heartbeats and
 * reconnects; the EngineRegistry holds the engines and answers lookups; the HeartbeatSweep finds
 * silent engines; the DiscoveryReconciler applies discovery pushes. State comes only from the
 * agents' streams, and nothing is held across network I/O, so add, remove and validation
 * interleave safely.
 */
export class Cluster implements EngineEventHandler, PlacementSource {
  private readonly registry = new EngineRegistry();
  /** Which engines hold each container name: a create checks its name in one lookup. */
  private readonly containerNames = new ContainerNameIndex<Engine>();
  /** The strings containers repeat (image, command, labels, states), one copy each for every engine. */
  private readonly containerStrings = new StringPool();
  /** Every engine's health indicator runs by this one policy (the cluster's clock and flap settings). */
  private readonly healthPolicy: HealthPolicy;
  /**
   * Addresses added by hand: the "manual" membership. An engine's other memberships are the
   * discovery sources that list its address; it leaves when it has none left (or by RemoveEngine).
   */
  private readonly manual = new Set<string>();
  private readonly discovery: DiscoveryReconciler;
  private readonly dials: DialQueue;
  private readonly sweep: HeartbeatSweep;
  private readonly hub: EventHub<ClusterEvent>;
  private readonly logger: Logger;
  private readonly o: ClusterSettings;
  private readonly streamOptions: EngineStreamOptions;
  /** What engines' streams tell the cluster: membership by validation, and lifecycle events. */
  private readonly streamHost: EngineStreamHost;
  /** Running totals (events, resyncs, placements) for metrics. */
  readonly activity = new ClusterActivity();

  constructor(options: ClusterOptions) {
    this.o = clusterSettings(options);
    this.logger = options.logger ?? silentLogger;
    this.hub = new EventHub<ClusterEvent>(this.o.maxQueuedEvents);
    const { clock } = this.o;
    this.healthPolicy = { now: () => clock.now(), flapWindowMs: this.o.flapWindowMs, flapThreshold: this.o.flapThreshold };
    this.streamOptions = {
      connector: this.o.connector,
      clock,
      logger: this.logger,
      reconnect: this.o.reconnect,
      pendingRetry: this.o.pendingRetry,
      snapshotLimits: { maxContainers: this.o.maxSnapshotContainers, maxBytes: this.o.maxSnapshotBytes },
      random: this.o.random,
    };
    const registry = this.registry;
    this.streamHost = {
      holderOf: (id) => registry.holderOf(id),
      releaseId: (engine) => registry.releaseId(engine),
      admit: (engine) => registry.admit(engine),
      demote: (engine) => registry.demote(engine),
      announce: (engine, action, error) => this.emitEngine(engine, action, error),
      resynced: () => this.activity.streamResynced(),
      // From every engine the cluster holds, pending ones too: a discovery push registers them all
      // before the first dial, so each stream is asked the interval the whole cluster needs.
      heartbeatIntervalToAsk: () => heartbeatIntervalToAsk(registry.size, this.o.heartbeatRate, this.o.defaultHeartbeatIntervalMs),
    };
    this.dials = new DialQueue(clock, this.o.dialsPerTick);
    const { heartbeatTolerance, defaultHeartbeatIntervalMs, lateSweepMs, discoveryGraceMs, maxEngines, maxPendingEngines } = this.o;
    this.sweep = new HeartbeatSweep({ clock, logger: this.logger, heartbeatTolerance, defaultHeartbeatIntervalMs, lateSweepMs }, registry);
    this.discovery = new DiscoveryReconciler(
      { clock, logger: this.logger, discoveryGraceMs, maxEngines, maxPendingEngines },
      {
        get engineCount() {
          return registry.size;
        },
        holds: (address) => registry.at(address) !== undefined,
        addedByHand: (address) => this.manual.has(address),
        addListed: (address) => this.register(address, 'queued'),
        remove: (address) => void this.removeEngine(address),
        // Batched like first dials: a push may list thousands of engines that are down.
        listedAgain: (address) => {
          const engine = registry.at(address);
          const stream = engine && registry.streamOf(engine);
          if (stream?.retrying) this.dials.add(stream);
        },
      },
    );
  }

  /** Validated engines, by engine ID. */
  get engines(): ReadonlyMap<string, Engine> {
    return this.registry.engines;
  }

  /** Engines not yet validated, by address. */
  get pendingEngines(): ReadonlyMap<string, Engine> {
    return this.registry.pendingEngines;
  }

  get overcommitRatio(): number {
    return this.o.overcommitRatio;
  }

  get createRetry(): number {
    return this.o.createRetry;
  }

  /** Starts watching for silent engines. */
  start(): void {
    this.sweep.start();
  }

  /** Closes every stream and timer, and ends every event subscription. */
  stop(): void {
    this.sweep.stop();
    this.dials.clear();
    this.discovery.stop();
    for (const stream of this.registry.allStreams()) stream.close();
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
    if (!this.registry.at(addr)) {
      checkEngineRoom(this.registry.size, 1, this.o);
      checkPendingRoom(this.pendingByHand(), this.o);
    }
    this.manual.add(addr);
    return this.register(addr);
  }

  /** Engines added by hand that are pending now. */
  private pendingByHand(): number {
    let count = 0;
    for (const address of this.manual) if (this.registry.pendingEngines.has(address)) count++;
    return count;
  }

  /** A new address becomes a pending engine; its stream opens now, or from the dial queue. */
  private register(addr: string, dial: 'now' | 'queued' = 'now'): boolean {
    if (this.registry.at(addr)) return false;
    const clock = this.o.clock;
    const engine = new Engine(addr, clock.now(), this.healthPolicy, this.containerNames, this.containerStrings);
    engine.registerEventHandler(this);
    const stream = new EngineStream(engine, this.streamOptions, this.streamHost);
    this.registry.addPending(stream);
    this.logger.info('engine pending', { address: addr });
    this.emitEngine(engine, 'pending');
    if (dial === 'now') stream.open();
    else this.dials.add(stream);
    return true;
  }

  /** Engines a discovery push added whose stream is not open yet. */
  get queuedDials(): number {
    return this.dials.size;
  }

  /** Drops an engine, pending or not, by address, ID or name. Safe while it is being validated. */
  removeEngine(ref: string): ClusterEngine {
    const engine = this.getEngine(ref);
    const stream = this.registry.streamOf(engine);
    if (stream) {
      stream.remove();
      this.dials.delete(stream);
    }
    this.registry.remove(engine);
    this.containerNames.forget(engine, engine.heldNames());
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
   * sources alive for another `discoveryGraceMs`; past it they are forgotten.
   *
   * The call answers at once: membership is recorded and every new engine is pending (announced
   * by its "pending" event), but no engine is dialled inside the call. Their streams open from a
   * queue, `dialsPerTick` (64) per tick with a yield to the event loop between batches, so a push
   * of 5,000 addresses neither blocks the manager nor waits for 5,000 dials (≈ 1 ms of CPU each).
   */
  syncEngines(source: string, generation: bigint | string, addresses: string[], pusher = ''): SyncResult {
    return this.discovery.sync(source, generation, addresses, pusher);
  }

  /** The engine with this address, ID or name; a name several engines share is INVALID_ARGUMENT. */
  findEngine(ref: string): Engine | undefined {
    return this.registry.find(ref);
  }

  getEngine(ref: string, field = 'engine'): Engine {
    return this.registry.get(ref, field);
  }

  listEngines(filter: EngineFilter = {}): Engine[] {
    return this.registry.list(filter);
  }

  health(engine: Engine): number {
    return engine.healthScore();
  }

  view(engine: Engine): ClusterEngine {
    const listed = this.registry.at(engine.address) === engine;
    return engineView(engine, this.health(engine), this.o.overcommitRatio, {
      addedByHand: listed && this.manual.has(engine.address),
      discoverySources: listed ? this.discovery.listing(engine.address) : [],
    });
  }

  info(): GetInfoResponse {
    return clusterInfo(this.registry.all(), {
      strategy: this.o.strategy,
      filters: this.o.filters,
      overcommitRatio: this.o.overcommitRatio,
      version: this.o.version,
      eventLoopLag: this.sweep.eventLoopLag(this.o.clock.now()),
      lateHeartbeatSweeps: this.sweep.lateSweeps,
    });
  }

  // ---- placement ----

  /** Whether a validated engine holds a container with this exact name, or is creating one. */
  nameTaken(name: string): boolean {
    return this.containerNames.taken(name, (engine) => this.registry.holderOf(engine.id) === engine);
  }

  /** The validated engines. */
  all(): readonly Engine[] {
    return this.registry.validated();
  }

  withLabel(key: string, value: string): readonly Engine[] {
    return this.registry.labels.withLabel(key, value);
  }

  countWithLabel(key: string, value: string): number {
    return this.registry.labels.countWithLabel(key, value);
  }

  // ---- events ----

  /** Events that match the request's filters; an unknown filter value is INVALID_ARGUMENT. */
  subscribe(request: EventFilterRequest, maxQueued?: number): Subscription<ClusterEvent> {
    return this.hub.subscribe(clusterEventFilter(request), maxQueued);
  }

  /** Publishes an event of the cluster's own (e.g. pull progress) to subscribers. */
  publish(event: ClusterEvent): void {
    this.activity.eventPublished(event.type, event.action);
    this.hub.publish(event);
  }

  get subscriberCount(): number {
    return this.hub.subscriberCount;
  }

  handleEngineEvent(engine: Engine, event: EngineDockerEvent): void {
    this.publish({
      type: event.docker.type,
      action: event.docker.action,
      engine: engineRef(engine),
      time: new Date(Number(BigInt(event.docker.timeNano) / 1_000_000n)),
      docker: event.docker,
      container: event.container,
      engineState: undefined,
      error: '',
      classicAction: '',
    });
  }

  private emitEngine(engine: Engine, action: string, error = ''): void {
    this.publish({
      type: 'engine',
      action,
      engine: engineRef(engine),
      time: new Date(this.o.clock.now()),
      docker: undefined,
      container: undefined,
      engineState: this.view(engine),
      error,
      classicAction: classicEngineAction(action),
    });
  }
}
