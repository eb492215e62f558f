import type { Container, DockerEvent, EngineInfo, Image, Network, Volume } from '@flotilla/proto';
import type { Snapshot } from '@flotilla/proto/agent';
import { portKey, type PlacementEngine } from '@flotilla/scheduler';
import type { AgentStream } from './agent-connector';
import { containerProblem, deltaProblem, imageProblem, listOf, networkProblem, volumeProblem, type EngineDelta } from './agent-input';
import type { SnapshotAssembly } from './snapshot-assembly';
import { taggedReference } from '@flotilla/policy';
import type { ContainerNameIndex } from './container-names';
import { pooledContainer, type StringPool } from './string-pool';

export type EngineStatusName = 'pending' | 'healthy' | 'unhealthy' | 'disconnected';

/**
 * The one word placement goes by, shown the same by info, engine ls, explain and the engine
 * events: the status, or "flapping" for a healthy engine that failed --flap-threshold times
 * within --flap-window.
 */
export type EngineHealthState = EngineStatusName | 'flapping';

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

/**
 * Where an engine's connection to its agent stands, as its EngineStream (which alone changes it)
 * shows it: the engine reads it, nothing drives it through the engine.
 */
export interface EngineConnection {
  /** The agent stream open to the engine now. */
  readonly stream: AgentStream | undefined;
  /** A snapshot whose parts are arriving on the current stream. */
  readonly assembly: Readonly<Pick<SnapshotAssembly, 'containerCount' | 'parts' | 'bytes'>> | undefined;
  /** When the current stream opened or last said anything, by the cluster's clock. */
  readonly lastMessageAt: number;
  /** The heartbeat interval the agent announced; undefined until it does (or when it says none). */
  readonly heartbeatIntervalMs: number | undefined;
  /** Whether a reopen (a reconnect, or the next validation attempt) is scheduled. */
  readonly retrying: boolean;
  /** Whether the engine left the cluster: its stream never opens again. */
  readonly removed: boolean;
}

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
  /** A label only this container carries: it is known by it when the create's answer was lost. */
  label?: { key: string; value: string };
  /** Releases the reservation if the engine never reports the container; cancelled on release. */
  expiry?: { cancel(): void };
}

/** A caller waiting for the engine to show something (read-your-writes). */
interface Observer {
  /** The container it waits on; undefined for any container. */
  id: string | undefined;
  test(): boolean;
  done(seen: boolean): void;
}

/** A wait for the engine's stream: `settled` is true when it showed the effect, false when cancelled first. */
export interface Observation {
  settled: Promise<boolean>;
  cancel(): void;
}

/** How the engine's health indicator is computed; injected so it runs on the cluster's clock. */
export interface HealthPolicy {
  now(): number;
  /** Failures (times the engine became unhealthy) within this window count (--flap-window). */
  flapWindowMs: number;
  /** Failures within the window that make a healthy engine flapping (--flap-threshold). */
  flapThreshold: number;
}

export const defaultFlapPolicy = { flapWindowMs: 5 * 60_000, flapThreshold: 3 };

/**
 * A flapping engine's health: above 0, so it can still be placed on, and below any steadier
 * engine's, so the scheduler prefers every other engine that fits (a flap or two of the manager's
 * own network must not leave the cluster with nowhere to run a container for minutes).
 */
export const flappingHealth = 1;

function minutesText(ms: number): string {
  const minutes = ms / 60_000;
  return Number.isInteger(minutes) ? `${minutes}m` : `${Math.round(ms / 1000)}s`;
}

function tallyKey(c: Container): keyof ContainerTally {
  if (c.state === 'running' || c.state === 'restarting') return 'running';
  if (c.state === 'paused') return 'paused';
  return 'stopped';
}

/**
 * One Docker engine, as its agent's stream describes it: what it is, its containers and what
 * they reserve, and where it is in its lifecycle. It changes only from the stream (snapshot, then
 * deltas) and from the lifecycle decisions of its EngineStream.
 */
export class Engine implements PlacementEngine {
  id = '';
  name = '';
  private description: EngineInfo | undefined;
  // Read on every placement: converted once per snapshot, not once per engine per decision.
  private totals = { cpus: 0, memoryBytes: 0 };
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
  private readonly observers = new Set<Observer>();
  /** Unhealthy episodes, as times, for the health indicator. */
  readonly flaps: number[] = [];

  private handler: EngineEventHandler | undefined;
  private connection: EngineConnection | undefined;

  constructor(
    readonly address: string,
    now: number,
    private readonly healthPolicy?: HealthPolicy,
    /** The cluster's index of container names, told as names come and go here. */
    private readonly nameIndex?: ContainerNameIndex<Engine>,
    /** The cluster's strings that containers repeat: a container taken in shares them (see pooledContainer). */
    private readonly strings?: StringPool,
  ) {
    this.updatedAt = now;
  }

  /** An engine accepts exactly one event handler. */
  registerEventHandler(handler: EngineEventHandler): void {
    if (this.handler) throw new Error('event handler already set');
    this.handler = handler;
  }

  /** An engine has exactly one connection, its EngineStream, attached when the cluster takes the engine. */
  attachConnection(connection: EngineConnection): void {
    if (this.connection) throw new Error('connection already attached');
    this.connection = connection;
  }

  // ---- its connection, read-only (see EngineConnection) ----

  get stream(): AgentStream | undefined {
    return this.connection?.stream;
  }

  get assembly(): EngineConnection['assembly'] {
    return this.connection?.assembly;
  }

  get lastMessageAt(): number {
    return this.connection?.lastMessageAt ?? 0;
  }

  get heartbeatIntervalMs(): number | undefined {
    return this.connection?.heartbeatIntervalMs;
  }

  /** Whether a reopen is scheduled. */
  get retry(): boolean {
    return this.connection?.retrying ?? false;
  }

  get removed(): boolean {
    return this.connection?.removed ?? false;
  }

  /** What the engine said of itself in its last snapshot. */
  get info(): EngineInfo | undefined {
    return this.description;
  }

  set info(info: EngineInfo | undefined) {
    this.description = info;
    this.totals = { cpus: Number(info?.cpus ?? 0), memoryBytes: Number(info?.memoryBytes ?? 0) };
  }

  get cpus(): number {
    return this.totals.cpus;
  }

  get memoryBytes(): number {
    return this.totals.memoryBytes;
  }

  get labels(): Record<string, string> {
    return this.info?.labels ?? {};
  }

  // ---- what the scheduler reads ----

  get totalNanoCpus(): number {
    return this.totals.cpus * 1e9;
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
    return this.health(this.healthPolicy.now(), this.healthPolicy.flapWindowMs, this.healthPolicy.flapThreshold);
  }

  /** Failures (times the engine became unhealthy) within the flap window, as of now. */
  recentFailures(): number {
    if (this.flaps.length === 0 || !this.healthPolicy) return 0;
    return this.pruneFlaps(this.healthPolicy.now(), this.healthPolicy.flapWindowMs);
  }

  /** The one word placement goes by (see EngineHealthState). */
  healthState(): EngineHealthState {
    if (this.status !== 'healthy') return this.status;
    return this.flappingUntil() === undefined ? 'healthy' : 'flapping';
  }

  /** While the engine is flapping: when it stops, unless it fails again. */
  flappingUntil(): number | undefined {
    if (this.status !== 'healthy' || !this.healthPolicy) return undefined;
    const threshold = Math.max(1, this.healthPolicy.flapThreshold);
    const failures = this.recentFailures();
    // It stops when fewer than `threshold` failures are left in the window.
    return failures >= threshold ? this.flaps[failures - threshold] + this.healthPolicy.flapWindowMs : undefined;
  }

  /** The health state with what lowered it, for placement explanations (explain, a failed create). */
  healthText(): string {
    const state = this.healthState();
    if (state !== 'healthy' && state !== 'flapping') return this.lastError ? `${state}: ${this.lastError}` : state;
    const failures = this.recentFailures();
    if (failures === 0) return state;
    const recent = `${failures} failure${failures === 1 ? '' : 's'} in the last ${minutesText(this.healthPolicy!.flapWindowMs)}`;
    const until = this.flappingUntil();
    if (until === undefined) return `healthy, ${recent} (health ${this.healthScore()})`;
    return `flapping: ${recent}; placed only when no steadier engine fits, until ${new Date(until).toISOString()}`;
  }

  hostPortUsers(key: string): readonly string[] | undefined {
    return this.hostPorts.get(key);
  }

  /** The container with exactly this ID. */
  containerById(id: string): Container | undefined {
    return this.containers.get(id);
  }

  /** The container with exactly this name (with or without Docker's leading slash). */
  containerByName(name: string): Container | undefined {
    const id = this.names.get(name.replace(/^\//, ''));
    return id === undefined ? undefined : this.containers.get(id);
  }

  /** Containers whose ID starts with `prefix` (hex only: a name is never read as a prefix). */
  containersByIdPrefix(prefix: string): Container[] {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    return [...this.containers.values()].filter((c) => c.id.startsWith(prefix));
  }

  /** Whether a container here, or one being created, has this exact name. */
  hasName(name: string): boolean {
    if (this.names.has(name)) return true;
    for (const r of this.reservations) if (r.name === name) return true;
    return false;
  }

  /** Every name its containers, and the containers being created on it, hold. */
  *heldNames(): Iterable<string> {
    yield* this.names.keys();
    for (const r of this.reservations) if (r.name) yield r.name;
  }

  /** The container carrying label `key=value`, if any (the label index answers "none" without a scan). */
  containerWithLabel(key: string, value: string): Container | undefined {
    if (!this.labelValues.get(key)?.has(value)) return undefined;
    for (const c of this.containers.values()) if (c.labels[key] === value) return c;
    return undefined;
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

  hasVolume(name: string): boolean {
    return this.volumes.has(name);
  }

  /** The network with this name, ID, or unique ID prefix of 12 or more characters. */
  findNetwork(ref: string): Network | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    let found: Network | undefined;
    for (const network of this.networks.values()) {
      if (network.name === ref) return network;
      if (ref.length >= 12 && network.id.startsWith(ref)) found = found ? undefined : network;
    }
    return found;
  }

  hasNetwork(ref: string): boolean {
    return this.findNetwork(ref) !== undefined;
  }

  hasContainer(ref: string): boolean {
    if (this.containers.has(ref) || this.names.has(ref)) return true;
    return ref.length >= 12 && this.findContainer(ref) !== undefined;
  }

  hasImage(ref: string): boolean {
    return this.findImage(ref) !== undefined;
  }

  /** The image `ref` names on this engine, resolved as Docker does: ID (or a prefix of 12 or more), NAME[:TAG] (default latest), NAME@DIGEST. */
  findImage(ref: string): Image | undefined {
    const tagged = taggedReference(ref);
    for (const image of this.images.values()) {
      if (image.id === ref || (ref.length >= 12 && image.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, '')))) return image;
      if (image.repoTags.includes(tagged) || image.repoDigests.includes(ref)) return image;
    }
    return undefined;
  }

  /** Resolves once `test` holds for this engine's images (a tag made, a reference gone). */
  observeImages(test: () => boolean): Observation {
    return this.watchFor(undefined, test);
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
  observe(id: string, test: (c: Container | undefined) => boolean): Observation {
    return this.watchFor(id, () => test(this.containers.get(id)));
  }

  /** Resolves once the engine reports a container carrying label `key=value`. */
  observeLabel(key: string, value: string): Observation {
    return this.watchFor(undefined, () => this.containerWithLabel(key, value) !== undefined);
  }

  /** Resolves once the engine reports volume `name` present (or, with `present` false, gone). */
  observeNetwork(ref: string, present: boolean): Observation {
    return this.watchFor(undefined, () => this.hasNetwork(ref) === present);
  }

  observeVolume(name: string, present: boolean): Observation {
    return this.watchFor(undefined, () => this.volumes.has(name) === present);
  }

  private watchFor(id: string | undefined, test: () => boolean): Observation {
    let resolve!: (seen: boolean) => void;
    const settled = new Promise<boolean>((r) => (resolve = r));
    const observer: Observer = { id, test, done: resolve };
    if (test()) resolve(true);
    else this.observers.add(observer);
    return {
      settled,
      cancel: () => {
        if (this.observers.delete(observer)) resolve(false);
      },
    };
  }

  private notify(id: string | undefined): void {
    for (const o of this.observers) {
      if (id !== undefined && o.id !== undefined && o.id !== id) continue;
      if (o.test()) {
        this.observers.delete(o);
        o.done(true);
      }
    }
  }

  /** Holds capacity, ports and a container slot for a container being created. */
  reserve(reservation: Reservation): Reservation {
    this.reservations.add(reservation);
    this.pendingNanoCpus += reservation.nanoCpus;
    this.pendingMemoryBytes += reservation.memoryBytes;
    for (const p of reservation.ports) this.addPort(p.key, p.hostIp);
    if (reservation.name) this.nameIndex?.held(reservation.name, this);
    return reservation;
  }

  /** Gives back what a reservation held, and cancels its expiry; safe to call twice. */
  release(reservation: Reservation): void {
    reservation.expiry?.cancel();
    reservation.expiry = undefined;
    if (!this.reservations.delete(reservation)) return;
    this.pendingNanoCpus -= reservation.nanoCpus;
    this.pendingMemoryBytes -= reservation.memoryBytes;
    for (const p of reservation.ports) this.dropPort(p.key, p.hostIp);
    if (reservation.name) this.nameIndex?.released(reservation.name, this);
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
      if (delta > 0) {
        this.names.set(name, c.id);
        this.nameIndex?.held(name, this);
      } else if (this.names.get(name) === c.id) {
        this.names.delete(name);
        this.nameIndex?.released(name, this);
      }
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

  /**
   * Replaces everything the engine knew with a snapshot whose engine description its stream has
   * validated. Items that fail their checks are skipped; a container listed twice counts once, as
   * its last listing. Answers what was skipped, for the log.
   */
  applySnapshot(snapshot: Snapshot): string[] {
    const skipped: string[] = [];
    const usable = <T>(items: T[], problem: (item: T) => string | undefined, key: (item: T) => string): T[] => {
      const byKey = new Map<string, T>();
      for (const item of listOf(items)) {
        const why = problem(item);
        if (why) skipped.push(why);
        else {
          if (byKey.has(key(item))) skipped.push(`duplicate ${key(item).slice(0, 80)}: the last listing stands`);
          byKey.delete(key(item));
          byKey.set(key(item), item);
        }
      }
      return [...byKey.values()];
    };
    const containers = usable(snapshot.containers, containerProblem, (c) => c.id);
    const images = usable(snapshot.images, imageProblem, (i) => i.id);
    const networks = usable(snapshot.networks, networkProblem, (n) => n.id);
    const volumes = usable(snapshot.volumes, volumeProblem, (v) => v.name);
    this.info = snapshot.engine;
    this.id = snapshot.engine?.id ?? this.id;
    this.name = snapshot.engine?.name ?? this.name;
    for (const c of [...this.containers.values()]) this.dropContainer(c.id);
    for (const c of containers) this.putContainer(c);
    this.replace(this.images, images, (i) => i.id);
    this.replace(this.networks, networks, (n) => n.id);
    this.replace(this.volumes, volumes, (v) => v.name);
    // After every kind is replaced: a wait for a volume or an image sees the snapshot's too.
    if (this.observers.size) this.notify(undefined);
    return skipped;
  }

  private replace<T>(map: Map<string, T>, items: T[], key: (item: T) => string): void {
    map.clear();
    for (const item of items) map.set(key(item), item);
  }

  /** Takes in a container the agent reported (checked by containerProblem); answers the one kept. */
  private putContainer(reported: Container): Container {
    const c = this.strings ? pooledContainer(reported, this.strings) : reported;
    this.dropContainer(c.id);
    this.containers.set(c.id, c);
    const r = reservation(c);
    this.containerNanoCpus += r.cpu;
    this.containerMemoryBytes += r.memory;
    this.tally[tallyKey(c)]++;
    this.index(c, 1);
    // The engine now reports the container: its reservation has done its job.
    for (const pending of this.reservations) {
      if (pending.containerId === c.id || (pending.label && c.labels[pending.label.key] === pending.label.value)) this.release(pending);
    }
    return c;
  }

  private dropContainer(id: string): void {
    const old = this.containers.get(id);
    if (!old) return;
    this.containers.delete(id);
    const r = reservation(old);
    this.containerNanoCpus -= r.cpu;
    this.containerMemoryBytes -= r.memory;
    // Sums of large values drift in floating point; an empty engine reserves exactly nothing.
    if (this.containers.size === 0) this.containerNanoCpus = this.containerMemoryBytes = 0;
    this.tally[tallyKey(old)]--;
    this.index(old, -1);
  }

  /**
   * Applies a delta from the stream and tells the handler about the Docker event in it. A delta
   * that fails its checks changes nothing: the answer says why, for the log.
   */
  applyDelta(message: EngineDelta): string | undefined {
    const problem = deltaProblem(message);
    if (problem) return problem;
    switch (message.$case) {
      case 'container': {
        const { event, removed } = message.value;
        let container = message.value.container;
        if (container && !removed) container = this.putContainer(container);
        else this.dropContainer(container?.id ?? event?.actorId ?? '');
        if (this.observers.size) this.notify(container?.id ?? event?.actorId);
        if (event) this.handler?.handleEngineEvent(this, { docker: event, container });
        return;
      }
      case 'image': {
        const { event, image } = message.value;
        if (image && !message.value.removed) this.images.set(image.id, image);
        else if (event) this.images.delete(event.actorId);
        if (this.observers.size) this.notify(undefined);
        if (event) this.handler?.handleEngineEvent(this, { docker: event });
        return;
      }
      case 'network': {
        const { event, network } = message.value;
        if (network && !message.value.removed) this.networks.set(network.id, network);
        else if (event) this.networks.delete(event.actorId);
        if (this.observers.size) this.notify(undefined);
        if (event) this.handler?.handleEngineEvent(this, { docker: event });
        return;
      }
      case 'volume': {
        const { event, volume } = message.value;
        if (volume && !message.value.removed) this.volumes.set(volume.name, volume);
        else if (event) this.volumes.delete(event.actorId);
        if (this.observers.size) this.notify(undefined);
        if (event) this.handler?.handleEngineEvent(this, { docker: event });
        return;
      }
      case 'event':
        this.handler?.handleEngineEvent(this, { docker: message.value });
        return;
    }
    return undefined;
  }

  /**
   * 100 when healthy and stable; 100/threshold less for each failure in the window; `flappingHealth`
   * (1) from `threshold` failures on, until they age out; 0 unless healthy (never placed).
   */
  health(now: number, windowMs: number, threshold: number): number {
    if (this.status !== 'healthy') return 0;
    const failures = this.pruneFlaps(now, windowMs);
    const t = Math.max(1, threshold);
    if (failures >= t) return flappingHealth;
    return Math.max(flappingHealth + 1, Math.round(100 - (failures * 100) / t));
  }

  /** Forgets failures older than the window; answers how many are left. */
  private pruneFlaps(now: number, windowMs: number): number {
    while (this.flaps.length && this.flaps[0] < now - windowMs) this.flaps.shift();
    return this.flaps.length;
  }
}
