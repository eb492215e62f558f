import type { Container, DockerEvent, EngineInfo, Image, Network, Snapshot, Volume, WatchResponse } from '@flotilla/proto';
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
export class Engine {
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
  reservedNanoCpus = 0;
  reservedMemoryBytes = 0;
  readonly tally: ContainerTally = { running: 0, paused: 0, stopped: 0 };
  /** Unhealthy episodes, as times, for the health indicator. */
  readonly flaps: number[] = [];

  // Stream bookkeeping, owned by the Cluster.
  stream: AgentStream | undefined;
  session = 0;
  lastSequence = 0;
  lastMessageAt = 0;
  heartbeatIntervalMs: number | undefined;
  attempt = 0;
  retry: { cancel(): void } | undefined;
  removed = false;

  private handler: EngineEventHandler | undefined;

  constructor(
    readonly address: string,
    now: number,
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

  /** Replaces everything the engine knew with a snapshot. */
  applySnapshot(snapshot: Snapshot): void {
    this.info = snapshot.engine;
    this.id = snapshot.engine?.id ?? this.id;
    this.name = snapshot.engine?.name ?? this.name;
    this.containers.clear();
    this.reservedNanoCpus = 0;
    this.reservedMemoryBytes = 0;
    this.tally.running = this.tally.paused = this.tally.stopped = 0;
    for (const c of snapshot.containers) this.putContainer(c);
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
    this.reservedNanoCpus += r.cpu;
    this.reservedMemoryBytes += r.memory;
    this.tally[tallyKey(c)]++;
  }

  private dropContainer(id: string): void {
    const old = this.containers.get(id);
    if (!old) return;
    this.containers.delete(id);
    const r = reservation(old);
    this.reservedNanoCpus -= r.cpu;
    this.reservedMemoryBytes -= r.memory;
    this.tally[tallyKey(old)]--;
  }

  /** Applies a delta from the stream and tells the handler about the Docker event in it. */
  applyDelta(message: Exclude<Message, { $case: 'snapshot' | 'heartbeat' | 'state' }>): void {
    switch (message.$case) {
      case 'container': {
        const { event, container } = message.value;
        if (container && !message.value.removed) this.putContainer(container);
        else if (event) this.dropContainer(event.actorId);
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
