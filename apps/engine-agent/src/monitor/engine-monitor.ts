import type { Readable } from 'node:stream';
import { silentLogger, type Logger } from '@flotilla/grpc';
import { NotFoundError } from '@flotilla/errors';
import type { Container, DockerEvent, EngineInfo, Image, Network, Volume } from '@flotilla/proto';
import type { EngineState, Snapshot, WatchResponse } from '@flotilla/proto/agent';
import { backoffDelay, type BackoffOptions, type Clock, type Timer } from '@flotilla/time';
import type { DockerBackend, NegotiatedApi } from '../docker/docker-backend';
import { BadEngineReplyError, containerFrom, cutUtf8, engineInfoFrom, imageFrom, networkFrom, truncatedLabel, volumeFrom } from './docker-mapping';
import { EventLineSplitter, parseEventLine, sinceParameter } from './event-lines';
import { RecentEvents } from './recent-events';
import { differences, reconcileEvent, sameItem, whatWasWrong, type Difference } from './reconcile-diff';
import { snapshotMessages } from './snapshot-parts';

export type WatchMessage = NonNullable<WatchResponse['message']>;

/**
 * One consumer of the engine's stream. A snapshot reaches it as consecutive calls (a Snapshot and
 * its SnapshotParts), with nothing in between.
 */
export interface WatchSink {
  send(message: WatchMessage): void;
}

/** How one watcher wants its stream. */
export interface WatchOptions {
  /**
   * The longest silence it wants between two messages (ms): the monitor uses the longer of this
   * and its own heartbeatIntervalMs. Unset or 0: the monitor's own.
   */
  heartbeatIntervalMs?: number;
}

/** A watcher's heartbeats: one is sent only when its stream has been silent for its interval. */
interface Watcher {
  readonly intervalMs: number;
  /** When the next heartbeat is due if the stream stays silent until then. */
  dueAt: number;
  /** What the silence before dueAt is counted from: the last heartbeat, or the message that set dueAt. */
  silentFrom: number;
  lastSentAt: number;
  timer: Timer | undefined;
}

export interface EngineMonitorOptions {
  clock: Clock;
  heartbeatIntervalMs: number;
  /** How often the agent pings a Docker engine whose event stream is quiet; a frozen engine answers no ping. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** Back-off between attempts to reach an unreachable Docker engine. */
  reconnect?: BackoffOptions;
  logger?: Logger;
  /** Jitter for the reconnect back-off. */
  random?: () => number;
  /** Container inspections in flight at once while taking a snapshot. */
  inspectConcurrency?: number;
  /** How many recent events the monitor remembers to recognise one Docker delivers again; default 4,096. */
  recentEvents?: number;
  /**
   * How often the monitor lists the engine and corrects what its model got wrong (a lost or
   * unappliable event); 0 or unset: never.
   */
  reconcileIntervalMs?: number;
}

interface EngineModel {
  engine: EngineInfo;
  containers: Map<string, Container>;
  images: Map<string, Image>;
  networks: Map<string, Network>;
  volumes: Map<string, Volume>;
}

const defaultReconnect: BackoffOptions = { initialMs: 100, maxMs: 2_000 };

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function byKey<T>(items: Array<T | null>, key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (item) map.set(key(item), item);
  return map;
}

/**
 * Holds one Docker event subscription for its engine, however many watchers there are, keeps the
 * engine's state from a snapshot plus events, and fans every change out to the watchers. When the
 * Docker engine goes away it tells the watchers, retries with back-off, resubscribes with `since`
 * the last event it saw (so none is lost), and sends a fresh snapshot.
 */
export class EngineMonitor {
  private model: EngineModel | undefined;
  private state: EngineState = { reachable: false, error: '', since: undefined };
  private readonly watchers = new Map<WatchSink, Watcher>();
  private readonly logger: Logger;
  private queue: Promise<void> = Promise.resolve();
  private generation = 0;
  private stream: Readable | undefined;
  /** The newest event time seen: where a new subscription's `since` starts. */
  private lastEventNano: bigint | undefined;
  private readonly recent: RecentEvents;
  private stopped = true;
  private pinger: Timer | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private subscriptions = 0;
  private snapshotPending = false;
  private pinging = false;
  private reconciler: Timer | undefined;
  private reconcilePending = false;
  private corrections = 0;
  private reconcileRuns = 0;
  private reconcileFails = 0;
  private eventsReceived = 0;
  /** Containers whose event could not be applied: the next reconcile inspects them even if listed. */
  private readonly suspects = new Set<string>();

  constructor(
    private readonly backend: DockerBackend,
    private readonly options: EngineMonitorOptions,
  ) {
    this.logger = (options.logger ?? silentLogger).child({ docker: backend.endpoint });
    this.recent = new RecentEvents(options.recentEvents);
  }

  /** How many event keys the monitor holds to recognise repeats (at most `recentEvents`). */
  get recentEventCount(): number {
    return this.recent.size;
  }

  /** How many Docker event subscriptions the monitor has opened since it started. */
  get eventSubscriptions(): number {
    return this.subscriptions;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get engineState(): EngineState {
    return { ...this.state };
  }

  /** How many differences between model and engine the periodic reconcile has corrected: a running total. */
  get reconcileCorrections(): number {
    return this.corrections;
  }

  /** Reconciles that ran to the end (whether or not they found a difference). */
  get reconcilesCompleted(): number {
    return this.reconcileRuns;
  }

  /** Reconciles that failed (each is tried again at the next interval). */
  get reconcileFailures(): number {
    return this.reconcileFails;
  }

  /** Docker events read from the engine's event streams (well-formed lines, repeats included): a running total. */
  get dockerEventsReceived(): number {
    return this.eventsReceived;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const { clock, heartbeatIntervalMs } = this.options;
    const reconcileMs = this.options.reconcileIntervalMs ?? 0;
    for (const [sink, watcher] of this.watchers) this.armHeartbeat(sink, watcher);
    this.pinger = clock.setInterval(() => void this.pingEngine(), this.options.pingIntervalMs ?? heartbeatIntervalMs);
    if (reconcileMs > 0) this.reconciler = clock.setInterval(() => this.requestReconcile(), reconcileMs);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const watcher of this.watchers.values()) watcher.timer?.cancel();
    this.pinger?.cancel();
    this.reconciler?.cancel();
    this.closeStream();
    this.wake?.();
    await this.loop;
    await this.queue;
  }

  /** Adds a watcher. It gets the whole engine first (or the reason it is unreachable), then every change. */
  watch(sink: WatchSink, options: WatchOptions = {}): () => void {
    const intervalMs = Math.max(this.options.heartbeatIntervalMs, options.heartbeatIntervalMs ?? 0);
    const now = this.options.clock.now();
    const watcher: Watcher = { intervalMs, dueAt: now + intervalMs, silentFrom: now, lastSentAt: now, timer: undefined };
    this.watchers.set(sink, watcher);
    if (!this.stopped) this.armHeartbeat(sink, watcher);
    if (this.state.reachable && this.model) this.deliver(sink, this.snapshotMessages());
    else if (this.state.error) this.deliver(sink, [{ $case: 'state', value: { ...this.state } }]);
    return () => this.dropWatcher(sink);
  }

  /**
   * One timer per watcher. Something else sent meanwhile moves the heartbeat to a full interval
   * after it (a busy stream carries no heartbeats, and no timer is touched per message). A silent
   * stream's heartbeats keep their own times, counted from when each was due rather than from
   * when its timer ran: timers that come due during a pause of the event loop all run in one turn,
   * and re-armed from that turn they would beat together from then on: a host of many watchers
   * (the benches' hollow-agent processes hold 1,000) would gather them into ever larger bursts.
   */
  private armHeartbeat(sink: WatchSink, watcher: Watcher): void {
    const { clock } = this.options;
    watcher.timer = clock.setTimeout(() => {
      if (this.stopped || this.watchers.get(sink) !== watcher) return;
      const now = clock.now();
      if (watcher.lastSentAt > watcher.silentFrom) {
        watcher.silentFrom = watcher.lastSentAt;
        watcher.dueAt = watcher.lastSentAt + watcher.intervalMs;
      }
      // A timer can run a little before the clock says it is due (Node goes by the loop's cached
      // time): wait out the rest, so no heartbeat goes early.
      if (watcher.dueAt > now) return this.armHeartbeat(sink, watcher);
      const reconcile = (this.options.reconcileIntervalMs ?? 0) > 0;
      this.deliver(sink, [{ $case: 'heartbeat', value: { time: new Date(now), intervalMs: watcher.intervalMs, reconcileCorrections: reconcile ? String(this.corrections) : undefined } }], now);
      if (this.watchers.get(sink) !== watcher) return;
      watcher.silentFrom = now;
      // The first due time after now in step with this one: never more than an interval away.
      watcher.dueAt += watcher.intervalMs * (Math.floor((now - watcher.dueAt) / watcher.intervalMs) + 1);
      this.armHeartbeat(sink, watcher);
    }, Math.max(0, watcher.dueAt - clock.now()));
  }

  private dropWatcher(sink: WatchSink): void {
    this.watchers.get(sink)?.timer?.cancel();
    this.watchers.delete(sink);
  }

  /** The engine as the monitor knows it now, whole. */
  snapshot(): Snapshot {
    const model = this.model;
    if (!model) throw new Error('no snapshot yet');
    return {
      engine: model.engine,
      containers: [...model.containers.values()],
      images: [...model.images.values()],
      networks: [...model.networks.values()],
      volumes: [...model.volumes.values()],
      more: false,
    };
  }

  /** The snapshot as Watch messages: one Snapshot, then SnapshotParts while it is over the message limit. */
  snapshotMessages(): WatchMessage[] {
    return snapshotMessages(this.snapshot(), {
      // Unreachable with the mapping's caps; if an item still is too large, it is left out, not sent.
      onOversized: (kind, key, bytes) => this.logger.warn('leaving an item too large for a Watch message out of the snapshot', { kind, key: key.slice(0, 100), bytes }),
    });
  }

  private broadcast(message: WatchMessage): void {
    this.broadcastAll([message]);
  }

  /** Sends messages to every watcher, each watcher's in one run, so a snapshot's parts stay together. */
  private broadcastAll(messages: WatchMessage[]): void {
    const now = this.options.clock.now();
    for (const sink of this.watchers.keys()) this.deliver(sink, messages, now);
  }

  private deliver(sink: WatchSink, messages: WatchMessage[], now = this.options.clock.now()): void {
    const watcher = this.watchers.get(sink);
    if (watcher) watcher.lastSentAt = now;
    try {
      for (const message of messages) sink.send(message);
    } catch (err) {
      // One broken watcher must not keep the others (or the monitor) from going on.
      this.logger.warn('a watcher failed to take a message; dropping it', { error: err });
      this.dropWatcher(sink);
    }
  }

  private setUnreachable(err: unknown): void {
    // Docker's error text is outside input too: keep it to a size a message can carry.
    const error = cutUtf8(err instanceof Error ? err.message : String(err), 4096);
    if (!this.state.reachable && this.state.error === error) return;
    this.logger.warn('Docker engine unreachable', { error });
    this.state = { reachable: false, error, since: new Date(this.options.clock.now()) };
    this.broadcast({ $case: 'state', value: { ...this.state } });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.options.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        timer.cancel();
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const ended = await this.connect();
        attempt = 0;
        const err = await ended;
        if (this.stopped) break;
        throw err ?? new Error(`Docker engine at ${this.backend.endpoint} closed its event stream`);
      } catch (err) {
        this.closeStream();
        if (this.stopped) break;
        this.setUnreachable(err);
        await this.sleep(backoffDelay(attempt++, this.options.reconnect ?? defaultReconnect, this.options.random));
      }
    }
  }

  /** Subscribes to events, then takes a snapshot; resolves with a promise of the stream's end. */
  private async connect(): Promise<Promise<Error | undefined>> {
    const api = await this.backend.connect();
    const since = this.lastEventNano ?? this.snapshotTimeNano();
    const stream = await this.backend.events(since === undefined ? undefined : sinceParameter(since));
    this.subscriptions++;
    const generation = ++this.generation;
    this.stream = stream;
    const ended = new Promise<Error | undefined>((resolve) => {
      stream.once('error', (err: Error) => resolve(err));
      stream.once('end', () => resolve(undefined));
      stream.once('close', () => resolve(undefined));
    });
    const splitter = new EventLineSplitter();
    let dropped = 0;
    const onLines = (lines: string[]) => {
      if (splitter.dropped > dropped) {
        // An event was lost to its size: only a fresh snapshot can tell what it changed.
        this.logger.warn('dropped a Docker event line over the length limit; taking a new snapshot', { dropped: splitter.dropped - dropped });
        dropped = splitter.dropped;
        this.requestResync(generation);
      }
      for (const line of lines) {
        const parsed = parseEventLine(line);
        if ('error' in parsed) {
          this.logger.warn('skipping a malformed Docker event', { error: parsed.error, line: parsed.line.slice(0, 500) });
          continue;
        }
        this.eventsReceived++;
        void this.enqueue(generation, () => this.apply(parsed.event));
      }
    };
    stream.on('data', (chunk: Buffer) => onLines(splitter.push(chunk)));
    stream.once('end', () => onLines(splitter.end()));
    // The snapshot is queued ahead of every event, so events from the subscription apply after it.
    await this.enqueue(generation, () => this.resync(api));
    return ended;
  }

  private snapshotTimeNano(): bigint | undefined {
    const time = this.model?.engine.systemTime;
    return time ? BigInt(time.getTime()) * 1_000_000n : undefined;
  }

  private closeStream(): void {
    this.generation++;
    this.stream?.destroy();
    this.stream = undefined;
  }

  private enqueue(generation: number, task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => (generation === this.generation ? task() : undefined));
    this.queue = run.catch((err: unknown) => this.logger.warn('engine update failed', { error: err }));
    return run;
  }

  private async pingEngine(): Promise<void> {
    if (!this.stream || !this.state.reachable || this.pinging) return;
    const stream = this.stream;
    this.pinging = true;
    try {
      await this.backend.ping(this.options.pingTimeoutMs ?? 2 * this.options.heartbeatIntervalMs);
    } catch (err) {
      // A frozen engine keeps its event stream open; dropping it makes the run loop report and retry.
      if (this.stream === stream) {
        this.setUnreachable(err);
        stream.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    } finally {
      this.pinging = false;
    }
  }

  private async resync(api: NegotiatedApi): Promise<void> {
    const concurrency = this.options.inspectConcurrency ?? 16;
    const now = this.options.clock.now();
    const [info, ids, images, networks, volumes] = await Promise.all([
      this.backend.info(),
      this.backend.listContainerIds(),
      this.backend.listImages(),
      this.backend.listNetworks(),
      this.backend.listVolumes(),
    ]);
    const containers = await mapLimit(Array.isArray(ids) ? ids : [], concurrency, async (id) => {
      try {
        return containerFrom(await this.backend.inspectContainer(id), now);
      } catch (err) {
        if (err instanceof NotFoundError) return null; // removed since the list
        if (err instanceof BadEngineReplyError) {
          // One unusable container must not cost the engine its snapshot.
          this.logger.warn('skipping a container the engine describes unusably', { id: typeof id === 'string' ? id.slice(0, 100) : typeof id, error: err.message });
          return null;
        }
        throw err;
      }
    });
    const list = <T>(items: T[]): T[] => (Array.isArray(items) ? items : []);
    this.model = {
      engine: engineInfoFrom(info, api),
      containers: byKey(containers, (c) => c.id),
      images: byKey(list(images).map(imageFrom), (i) => i.id),
      networks: byKey(list(networks).map(networkFrom), (n) => n.id),
      volumes: byKey(list(volumes).map(volumeFrom), (v) => v.name),
    };
    const cut = [...this.model.containers.values()].filter((c) => c.labels[truncatedLabel] !== undefined);
    if (cut.length) this.logger.warn('containers cut to the per-item caps', { count: cut.length, first: cut.slice(0, 5).map((c) => `${c.id.slice(0, 12)}: ${c.labels[truncatedLabel]}`) });
    this.snapshotPending = false;
    const wasReachable = this.state.reachable;
    this.state = { reachable: true, error: '', since: new Date(now) };
    this.broadcastAll(this.snapshotMessages());
    if (!wasReachable) {
      this.logger.info('Docker engine reachable', { engineId: this.model.engine.id, apiVersion: api.apiVersion, containers: this.model.containers.size });
      this.broadcast({ $case: 'state', value: { ...this.state } });
    }
  }

  /**
   * False for an event already applied: Docker's `since` replays from the last timestamp inclusive.
   * Judged by the event's identity, never by its time: under concurrent operations Docker delivers
   * events out of time order, and a late event is news. Applying one is safe, as container, network
   * and volume events are applied by asking the engine for the item as it is now.
   */
  private isNew(event: DockerEvent): boolean {
    if (!this.recent.add(event)) return false;
    const t = BigInt(event.timeNano);
    if (this.lastEventNano === undefined || t > this.lastEventNano) this.lastEventNano = t;
    return true;
  }

  private async apply(event: DockerEvent): Promise<void> {
    // Out of time order: a newer event was applied before it, perhaps for the same item.
    const late = this.lastEventNano !== undefined && BigInt(event.timeNano) < this.lastEventNano;
    if (!this.isNew(event)) return;
    const model = this.model;
    if (!model) return;
    try {
      await this.applyTo(model, event, late);
    } catch (err) {
      // The engine answered the event with something unusable; a fresh snapshot puts things right.
      this.logger.warn('could not apply a Docker event; taking a new snapshot', { type: event.type, action: event.action, actor: event.actorId.slice(0, 100), error: err });
      // Should the snapshot fail too, the next reconcile looks at this container again.
      if (event.type === 'container' && this.suspects.size < 10_000) this.suspects.add(event.actorId);
      this.requestResync(this.generation);
    }
  }

  /** Queues one fresh snapshot (at most one waits at a time). */
  private requestResync(generation: number): void {
    if (this.snapshotPending) return;
    this.snapshotPending = true;
    // Failed or skipped, it must not keep later requests out (the model would drift for good).
    const done = () => {
      this.snapshotPending = false;
    };
    this.enqueue(generation, async () => this.resync(await this.backend.connect())).then(done, done);
  }

  /** Queues one reconcile (at most one waits at a time); skipped while the engine is down or a snapshot is due. */
  private requestReconcile(): void {
    if (this.stopped || this.reconcilePending || this.snapshotPending || !this.state.reachable || !this.model) return;
    this.reconcilePending = true;
    const done = () => {
      this.reconcilePending = false;
    };
    void this.enqueue(this.generation, async () => {
      try {
        await this.reconcile();
        this.reconcileRuns++;
      } catch (err) {
        // Never for good: the interval tries again.
        this.reconcileFails++;
        this.logger.warn('reconcile with the Docker engine failed; trying again at the next interval', { error: err });
      }
    }).then(done, done);
  }

  /**
   * Compares the model with what the engine lists and sends a corrected delta for each difference.
   * Containers are compared by ID (plus those whose event failed to apply): only those are inspected.
   * Images, networks and volumes come whole in their lists and are compared item by item. Runs in
   * the queue, so no event applies meanwhile.
   */
  private async reconcile(): Promise<void> {
    const model = this.model;
    if (!model) return;
    const [ids, imageList, networkList, volumeList] = await Promise.all([
      this.backend.listContainerIds(),
      this.backend.listImages(),
      this.backend.listNetworks(),
      this.backend.listVolumes(),
    ]);
    if (!Array.isArray(ids) || !Array.isArray(imageList) || !Array.isArray(networkList) || !Array.isArray(volumeList)) {
      throw new BadEngineReplyError('a list the reconcile asked for is not an array');
    }
    const listed = new Set(ids.filter((id): id is string => typeof id === 'string'));
    const check = new Set<string>(this.suspects);
    for (const id of listed) if (!model.containers.has(id)) check.add(id);
    for (const id of model.containers.keys()) if (!listed.has(id)) check.add(id);
    const now = this.options.clock.now();
    const inspected = await mapLimit([...check], this.options.inspectConcurrency ?? 16, async (id) => {
      try {
        return { id, container: containerFrom(await this.backend.inspectContainer(id), now) };
      } catch (err) {
        if (err instanceof NotFoundError) return { id, container: undefined };
        if (err instanceof BadEngineReplyError) {
          this.logger.warn('reconcile: skipping a container the engine describes unusably', { id: id.slice(0, 100), error: err.message });
          return null;
        }
        throw err;
      }
    });
    if (this.model !== model) return; // replaced meanwhile: it is new, and was sent whole
    for (const item of inspected) {
      if (!item) continue;
      this.suspects.delete(item.id);
      const key = item.container?.id ?? item.id;
      const was = model.containers.get(key);
      if (!was && !item.container) continue;
      if (was && item.container && sameItem('container', was, item.container)) {
        if (was.status !== item.container.status) model.containers.set(key, item.container);
        continue;
      }
      const d: Difference<Container> = { key, was, now: item.container };
      if (d.now) model.containers.set(key, d.now);
      else model.containers.delete(key);
      this.correct('container', d, now, (event) => ({ $case: 'container', value: { event, container: d.now, removed: !d.now } }));
    }
    const images = differences('image', model.images, byKey(imageList.map(imageFrom), (i) => i.id));
    for (const d of images) {
      if (d.now) model.images.set(d.key, d.now);
      else model.images.delete(d.key);
      this.correct('image', d, now, (event) => ({ $case: 'image', value: { event, image: d.now, removed: !d.now } }));
    }
    const networks = differences('network', model.networks, byKey(networkList.map(networkFrom), (n) => n.id));
    for (const d of networks) {
      if (d.now) model.networks.set(d.key, d.now);
      else model.networks.delete(d.key);
      this.correct('network', d, now, (event) => ({ $case: 'network', value: { event, network: d.now, removed: !d.now } }));
    }
    const volumes = differences('volume', model.volumes, byKey(volumeList.map(volumeFrom), (v) => v.name));
    for (const d of volumes) {
      if (d.now) model.volumes.set(d.key, d.now);
      else model.volumes.delete(d.key);
      this.correct('volume', d, now, (event) => ({ $case: 'volume', value: { event, volume: d.now, removed: !d.now } }));
    }
  }

  /** Counts, logs and broadcasts one correction (the model is already corrected). */
  private correct<T>(kind: 'container' | 'image' | 'network' | 'volume', d: Difference<T>, now: number, message: (event: DockerEvent) => WatchMessage): void {
    const wrong = whatWasWrong(d);
    this.corrections++;
    this.logger.warn('reconcile corrected the model of the Docker engine', { kind, key: d.key.slice(0, 100), wrong, corrections: this.corrections });
    this.broadcast(message(reconcileEvent(kind, d.key, wrong, now)));
  }

  private async applyTo(model: EngineModel, event: DockerEvent, late: boolean): Promise<void> {
    // A removal is taken on its word, unless it came late: then the engine is asked, as for any
    // other event (a volume's name, say, may already be in use again).
    const removed = (event.action === 'destroy' || event.action === 'delete') && !late;
    const orMissing = async <T>(load: () => Promise<T>): Promise<T | null> => {
      try {
        return await load();
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    };
    switch (event.type) {
      case 'container': {
        const reply = removed ? null : await orMissing(() => this.backend.inspectContainer(event.actorId));
        const container = reply ? containerFrom(reply, this.options.clock.now()) : undefined;
        if (container) model.containers.set(container.id, container);
        else model.containers.delete(event.actorId);
        this.broadcast({ $case: 'container', value: { event, container, removed: !container } });
        return;
      }
      case 'image': {
        // Image events name a reference or an ID; the list tells what is there now.
        model.images = byKey((await this.backend.listImages()).map(imageFrom), (i) => i.id);
        const ref = event.actorId;
        const image = [...model.images.values()].find((i) => i.id === ref || i.repoTags.includes(ref) || i.repoTags.includes(`${ref}:latest`));
        this.broadcast({ $case: 'image', value: { event, image, removed: !image } });
        return;
      }
      case 'network': {
        const reply = removed ? null : await orMissing(() => this.backend.inspectNetwork(event.actorId));
        const network = reply ? (networkFrom(reply) ?? undefined) : undefined;
        if (network) model.networks.set(network.id, network);
        else model.networks.delete(event.actorId);
        this.broadcast({ $case: 'network', value: { event, network, removed: !network } });
        return;
      }
      case 'volume': {
        const reply = removed ? null : await orMissing(() => this.backend.inspectVolume(event.actorId));
        const volume = reply ? (volumeFrom(reply) ?? undefined) : undefined;
        if (volume) model.volumes.set(volume.name, volume);
        else model.volumes.delete(event.actorId);
        this.broadcast({ $case: 'volume', value: { event, volume, removed: !volume } });
        return;
      }
      case 'daemon': {
        this.broadcast({ $case: 'event', value: event });
        // A reload can change the engine's labels: send the engine again.
        if (event.action === 'reload') await this.resync(await this.backend.connect());
        return;
      }
      default:
        this.broadcast({ $case: 'event', value: event });
    }
  }
}
