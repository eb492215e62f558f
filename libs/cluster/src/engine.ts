import type { Container, DockerEvent, EngineInfo, Image, Network, Snapshot, Volume, WatchResponse } from '@flotilla/proto';
import { portKey, type PlacementEngine } from '@flotilla/scheduler';
import type { AgentStream } from './agent-connector';

export type EngineStatusName = 'pending' | 'healthy' | 'unhealthy' | 'disconnected';

/** A Docker event of an engine, with the object it changed. */
export interface EngineDockerEvent {
  docker: DockerEvent;
  container?: Container;
}

/** Receives an engine's Docker events; the Cluster is that handler for all its engines. */
export interface EngineEventHandler {
  handleEngineEvent(engine: Engine, event: EngineDockerEvent): void;
}

export interface ContainerTally {
  running: number;
  paused: number;
  stopped: number;
}

type Message = NonNullable<WatchResponse['message']>;

function reservation(c: Container): { cpu: number; memory: number } {
  return { cpu: Number(c.nanoCpus) || 0, memory: Number(c.memoryBytes) || 0 };
}

/** What a container being created holds on its engine until the engine reports the container. */
export interface Reservation {
  name: string;
  nanoCpus: number;
  memoryBytes: number;
  ports: Array<{ key: string; hostIp: string }>;
  /** The container's ID once the engine created it. */
  containerId?: string;
}

/** How the engine's health indicator is computed; injected so it runs on the cluster's clock. */
export interface HealthPolicy {
  now(): number;
  windowMs: number;
  failuresToZero: number;
}

function tallyKey(c: Container): keyof ContainerTally {
  if (c.state === 'running' || c.state === 'restarting') return 'running';
  if (c.state === 'paused') return 'paused';
  return 'stopped';
}

/**
 * One Docker engine, as its agent's stream describes it: what it is, its containers and what
 * they reserve, and where it is in its lifecycle. It changes only from the stream (snapshot, then
 * deltas) and from the Cluster's lifecycle decisions.
 */
export class Engine implements PlacementEngine {
  id = '';
  name = '';
  info: EngineInfo | undefined;
  status: EngineStatusName = 'pending';
  failureCount = 0;
  lastError = '';
  updatedAt: number;
  readonly containers = new Map<string, Container>();
  readonly images = new Map<string, Image>();
  readonly networks = new Map<string, Network>();
  readonly volumes = new Map<string, Volume>();
  /** What the engine's containers reserve, stopped ones included. */
  containerNanoCpus = 0;
  containerMemoryBytes = 0;
  readonly tally: ContainerTally = { running: 0, paused: 0, stopped: 0 };
  /** Containers being created on the engine. */
  readonly reservations = new Set<Reservation>();
  private pendingNanoCpus = 0;
  private pendingMemoryBytes = 0;
  // Indexes the scheduler reads, kept as containers come and go.
  private readonly names = new Map<string, string>();
  private readonly hostPorts = new Map<string, string[]>();
  private readonly labelValues = new Map<string, Map<string, number>>();
  /** Callers waiting for the engine to report a container in some state (read-your-writes). */
  private readonly observers = new Set<{ id: string; test: (c: Container | undefined) => boolean; done: () => void }>();
  /** Unhealthy episodes, as times, for the health indicator. */
  readonly flaps: number[] = [];

  // Stream bookkeeping, owned by the Cluster.
  stream: AgentStream | undefined;
  session = 0;
  lastSequence = 0;
  lastMessageAt = 0;
  heartbeatIntervalMs: number | undefined;
  attempt = 0;
  lastResyncAt = -Infinity;
  retry: { cancel(): void } | undefined;
  removed = false;

  private handler: EngineEventHandler | undefined;

  constructor(
    readonly address: string,
    now: number,
    private readonly healthPolicy?: HealthPolicy,
  ) {
    this.updatedAt = now;
  }

  /** An engine accepts exactly one event handler. */
  registerEventHandler(handler: EngineEventHandler): void {
    if (this.handler) throw new Error('event handler already set');
    this.handler = handler;
  }

  get cpus(): number {
    return Number(this.info?.cpus ?? 0);
  }

  get memoryBytes(): number {
    return Number(this.info?.memoryBytes ?? 0);
  }

  get labels(): Record<string, string> {
    return this.info?.labels ?? {};
  }

  // ---- what the scheduler reads ----

  get totalNanoCpus(): number {
    return this.cpus * 1e9;
  }

  get totalMemoryBytes(): number {
    return this.memoryBytes;
  }

  /** Containers' reservations plus those of containers being created. */
  get reservedNanoCpus(): number {
    return this.containerNanoCpus + this.pendingNanoCpus;
  }

  get reservedMemoryBytes(): number {
    return this.containerMemoryBytes + this.pendingMemoryBytes;
  }

  get containerCount(): number {
    return this.containers.size + this.reservations.size;
  }

  healthScore(): number {
    if (this.status !== 'healthy') return 0;
    // The hot path (every placement): a stable engine needs no clock.
    if (this.flaps.length === 0 || !this.healthPolicy) return 100;
    return this.health(this.healthPolicy.now(), this.healthPolicy.windowMs, this.healthPolicy.failuresToZero);
  }

  hostPortUsers(key: string): readonly string[] | undefined {
    return this.hostPorts.get(key);
  }

  /** The container with this ID, unique ID prefix or name. */
  findContainer(ref: string): Container | undefined {
    const direct = this.containers.get(ref) ?? this.containers.get(this.names.get(ref.replace(/^\//, '')) ?? '');
    if (direct || ref.length < 1 || !/^[0-9a-f]+$/.test(ref)) return direct;
    let found: Container | undefined;
    for (const [id, c] of this.containers) {
      if (!id.startsWith(ref)) continue;
      if (found) return undefined; // ambiguous on this engine
      found = c;
    }
    return found;
  }

  hasContainer(ref: string): boolean {
    if (this.containers.has(ref) || this.names.has(ref)) return true;
    return ref.length >= 12 && this.findContainer(ref) !== undefined;
  }

  hasImage(ref: string): boolean {
    const tagged = ref.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
    for (const image of this.images.values()) {
      if (image.id === ref || (ref.length >= 12 && image.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, '')))) return true;
      if (image.repoTags.includes(tagged) || image.repoDigests.includes(ref)) return true;
    }
    return false;
  }

  *imageRefs(): Iterable<string> {
    for (const image of this.images.values()) {
      yield image.id;
      yield* image.repoTags;
    }
  }

  containerLabelValues(key: string): Iterable<string> {
    return this.labelValues.get(key)?.keys() ?? [];
  }

  *containerRefs(): Iterable<string> {
    yield* this.names.keys();
    yield* this.containers.keys();
  }

  /**
   * Resolves once the engine reports container `id` in a state that passes `test` (checked now
   * and after every change), so an API call can answer only when the cluster shows its effect.
   */
  observe(id: string, test: (c: Container | undefined) => boolean): { settled: Promise<void>; cancel(): void } {
    let observer: { id: string; test: (c: Container | undefined) => boolean; done: () => void } | undefined;
    const settled = new Promise<void>((resolve) => {
      observer = { id, test, done: resolve };
    });
    if (test(this.containers.get(id))) observer!.done();
    else this.observers.add(observer!);
    return {
      settled,
      cancel: () => {
        this.observers.delete(observer!);
        observer!.done();
      },
    };
  }

  private notify(id: string | undefined): void {
    for (const o of this.observers) {
      if (id !== undefined && o.id !== id) continue;
      if (o.test(this.containers.get(o.id))) {
        this.observers.delete(o);
        o.done();
      }
    }
  }

  /** Holds capacity, ports and a container slot for a container being created. */
  reserve(reservation: Reservation): Reservation {
    this.reservations.add(reservation);
    this.pendingNanoCpus += reservation.nanoCpus;
    this.pendingMemoryBytes += reservation.memoryBytes;
    for (const p of reservation.ports) this.addPort(p.key, p.hostIp);
    return reservation;
  }

  /** Gives back what a reservation held; safe to call twice. */
  release(reservation: Reservation): void {
    if (!this.reservations.delete(reservation)) return;
    this.pendingNanoCpus -= reservation.nanoCpus;
    this.pendingMemoryBytes -= reservation.memoryBytes;
    for (const p of reservation.ports) this.dropPort(p.key, p.hostIp);
  }

  private addPort(key: string, hostIp: string): void {
    const users = this.hostPorts.get(key);
    if (users) users.push(hostIp);
    else this.hostPorts.set(key, [hostIp]);
  }

  private dropPort(key: string, hostIp: string): void {
    const users = this.hostPorts.get(key);
    if (!users) return;
    const i = users.indexOf(hostIp);
    if (i >= 0) users.splice(i, 1);
    if (users.length === 0) this.hostPorts.delete(key);
  }

  private index(c: Container, delta: 1 | -1): void {
    for (const name of c.names) {
      if (delta > 0) this.names.set(name, c.id);
      else if (this.names.get(name) === c.id) this.names.delete(name);
    }
    for (const p of c.portBindings) {
      if (p.hostPort <= 0) continue;
      if (delta > 0) this.addPort(portKey(p.hostPort, p.protocol), p.hostIp);
      else this.dropPort(portKey(p.hostPort, p.protocol), p.hostIp);
    }
    for (const [k, v] of Object.entries(c.labels)) {
      let values = this.labelValues.get(k);
      if (!values) this.labelValues.set(k, (values = new Map()));
      const n = (values.get(v) ?? 0) + delta;
      if (n > 0) values.set(v, n);
      else values.delete(v);
      if (values.size === 0) this.labelValues.delete(k);
    }
  }

  /** Replaces everything the engine knew with a snapshot. */
  applySnapshot(snapshot: Snapshot): void {
    this.info = snapshot.engine;
    this.id = snapshot.engine?.id ?? this.id;
    this.name = snapshot.engine?.name ?? this.name;
    for (const c of [...this.containers.values()]) this.dropContainer(c.id);
    for (const c of snapshot.containers) this.putContainer(c);
    if (this.observers.size) this.notify(undefined);
    this.replace(this.images, snapshot.images, (i) => i.id);
    this.replace(this.networks, snapshot.networks, (n) => n.id);
    this.replace(this.volumes, snapshot.volumes, (v) => v.name);
  }

  private replace<T>(map: Map<string, T>, items: T[], key: (item: T) => string): void {
    map.clear();
    for (const item of items) map.set(key(item), item);
  }

  private putContainer(c: Container): void {
    this.dropContainer(c.id);
    this.containers.set(c.id, c);
    const r = reservation(c);
    this.containerNanoCpus += r.cpu;
    this.containerMemoryBytes += r.memory;
    this.tally[tallyKey(c)]++;
    this.index(c, 1);
    // The engine now reports the container: its reservation has done its job.
    for (const pending of this.reservations) if (pending.containerId === c.id) this.release(pending);
  }

  private dropContainer(id: string): void {
    const old = this.containers.get(id);
    if (!old) return;
    this.containers.delete(id);
    const r = reservation(old);
    this.containerNanoCpus -= r.cpu;
    this.containerMemoryBytes -= r.memory;
    this.tally[tallyKey(old)]--;
    this.index(old, -1);
  }

  /** Applies a delta from the stream and tells the handler about the Docker event in it. */
  applyDelta(message: Exclude<Message, { $case: 'snapshot' | 'heartbeat' | 'state' }>): void {
    switch (message.$case) {
      case 'container': {
        const { event, container } = message.value;
        if (container && !message.value.removed) this.putContainer(container);
        else this.dropContainer(container?.id ?? event?.actorId ?? '');
        if (this.observers.size) this.notify(container?.id ?? event?.actorId);
        if (event) this.handler?.handleEngineEvent(this, { docker: event, container });
        return;
      }
      case 'image': {
        const { event, image } = message.value;
        if (image && !message.value.removed) this.images.set(image.id, image);
        else if (event) this.images.delete(event.actorId);
        if (event) this.handler?.handleEngineEvent(this, { docker: event });
        return;
      }
      case 'network': {
        const { event, network } = message.value;
        if (network && !message.value.removed) this.networks.set(network.id, network);
        else if (event) this.networks.delete(event.actorId);
        if (event) this.handler?.handleEngineEvent(this, { docker: event });
        return;
      }
      case 'volume': {
        const { event, volume } = message.value;
        if (volume && !message.value.removed) this.volumes.set(volume.name, volume);
        else if (event) this.volumes.delete(event.actorId);
        if (event) this.handler?.handleEngineEvent(this, { docker: event });
        return;
      }
      case 'event':
        this.handler?.handleEngineEvent(this, { docker: message.value });
        return;
    }
  }

  /** 100 when healthy and stable; less for each unhealthy episode in the window; 0 unless healthy. */
  health(now: number, windowMs: number, failuresToZero: number): number {
    if (this.status !== 'healthy') return 0;
    while (this.flaps.length && this.flaps[0] < now - windowMs) this.flaps.shift();
    return Math.max(0, Math.round(100 - (this.flaps.length * 100) / Math.max(1, failuresToZero)));
  }
}
