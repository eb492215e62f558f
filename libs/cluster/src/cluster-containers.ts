import { randomBytes } from 'node:crypto';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  FlotillaError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  silentLogger,
  type Logger,
} from '@flotilla/grpc';
import type { Role } from '@flotilla/pki';
import { checkContainer, defaultPolicy, type ContainerPolicy } from '@flotilla/policy';
import {
  PlacementExplanation,
  type ClusterContainer,
  type ClusterEvent,
  type Container,
  type ContainerLogsRequest,
  type ContainerLogsResponse,
  type ContainerSpec,
  type CreateContainerRequest,
  type EngineRef,
  type PullImageResponse,
} from '@flotilla/proto';
import { placementRequestFrom, portKey, type Placement, type PlacementRequest, type Scheduler } from '@flotilla/scheduler';
import type { Clock } from '@flotilla/time';
import type { AgentConnector } from './agent-connector';
import type { Cluster } from './cluster';
import type { Engine, Reservation } from './engine';
import { engineStatusOf } from './engine-view';

/** The label that carries a container's cluster-wide ID, as on classic Swarm. */
export const clusterIdLabel = 'com.docker.swarm.id';
/** Metadata key of the binary PlacementExplanation on a failed create. */
export const placementDetailsKey = 'flotilla-placement-bin';

export interface ClusterContainersOptions {
  cluster: Cluster;
  connector: AgentConnector;
  scheduler: Scheduler;
  clock: Clock;
  logger?: Logger;
  /** How long a created container's reservation waits for the engine to report it. */
  reservationTimeoutMs?: number;
  /** How long an operation waits for its engine to report the effect before answering anyway. */
  settleTimeoutMs?: number;
  /** Publishes events such as pull progress on the cluster's stream. */
  publish?: (event: ClusterEvent) => void;
  /** What a container may take of its host, per caller role; default: nothing for anyone. */
  containerPolicy?: ContainerPolicy;
}

export interface CreateResult {
  id: string;
  name: string;
  engine: EngineRef;
  warnings: string[];
  retries: string[];
  pulled: boolean;
  started: boolean;
}

export interface ContainerFilter {
  all: boolean;
  engines: string[];
  states: string[];
  labels: Record<string, string>;
  names: string[];
}

function ref(engine: Engine): EngineRef {
  return { id: engine.id, name: engine.name, address: engine.address };
}

const namePattern = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Containers through the cluster: placement, reservations held from the decision until the engine
 * reports the container (so concurrent creates never double-book a port, a slot or memory, and
 * never wait on each other's network calls), create-retry on other engines, pulling a missing
 * image, and routing every later operation to the container's engine.
 */
export class ClusterContainers {
  private readonly logger: Logger;
  /** Names of containers being created, cluster-wide. */
  private readonly pendingNames = new Set<string>();
  private readonly policy: ContainerPolicy;

  constructor(private readonly o: ClusterContainersOptions) {
    this.logger = o.logger ?? silentLogger;
    this.policy = o.containerPolicy ?? defaultPolicy('cluster-manager');
  }

  private request(spec: ContainerSpec): { request: PlacementRequest; env: string[] } {
    if (!spec.image.trim()) throw InvalidArgumentError.field('spec.image', spec.image, 'an image is required');
    if (spec.name && !namePattern.test(spec.name)) throw InvalidArgumentError.field('spec.name', spec.name, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
    return placementRequestFrom({ ...spec, name: spec.name.replace(/^\//, '') });
  }

  /**
   * Where the container would go. A spec the container policy refuses for `role` is refused
   * here too, as create would refuse it.
   */
  explain(spec: ContainerSpec, role?: Role): { chosen: EngineRef | undefined; explanation: PlacementExplanation } {
    const { request } = this.request(spec);
    checkContainer(spec, role, this.policy);
    const placement = this.o.scheduler.explain(request, this.o.cluster);
    return { chosen: placement.engine ? ref(placement.engine as Engine) : undefined, explanation: this.explanation(request, placement) };
  }

  private explanation(request: PlacementRequest, placement: Placement): PlacementExplanation {
    const active = (list: PlacementRequest['constraints']) => list.filter((e) => !(placement.softDropped && e.soft)).map((e) => e.text);
    return {
      strategy: placement.strategy,
      constraints: active(request.constraints),
      affinities: active(request.affinities),
      softDropped: placement.softDropped,
      engines: (placement.verdicts ?? []).map((v) => ({
        engine: ref(v.engine as Engine),
        chosen: Boolean(v.chosen),
        filter: v.filter ?? '',
        reason: v.reason ?? '',
        score: v.weight ?? 0,
      })),
      summary: placement.summary,
    };
  }

  private noEngine(request: PlacementRequest, retries: string[]): FailedPreconditionError {
    const placement = this.o.scheduler.explain(request, this.o.cluster);
    const explanation = this.explanation(request, placement);
    const tried = retries.length ? ` (after trying: ${retries.join('; ')})` : '';
    return new FailedPreconditionError(`${placement.summary}${tried}`, { details: { [placementDetailsKey]: Buffer.from(PlacementExplanation.encode(explanation).finish()) } });
  }

  /** The container with this ID, unique ID prefix or name, anywhere in the cluster. */
  find(reference: string, field = 'container'): { engine: Engine; container: Container } {
    const text = reference.trim().replace(/^\//, '');
    if (!text) throw InvalidArgumentError.field(field, reference, 'a container ID, ID prefix or name is required');
    const found: Array<{ engine: Engine; container: Container }> = [];
    for (const engine of this.o.cluster.all()) {
      const container = engine.findContainer(text);
      if (container) found.push({ engine, container });
    }
    const exact = found.filter((f) => f.container.id === text || f.container.names.includes(text));
    const matches = exact.length ? exact : found;
    if (matches.length === 0) throw new NotFoundError(`no container ${JSON.stringify(reference)} in the cluster`);
    if (matches.length > 1) {
      throw InvalidArgumentError.field(field, reference, `matches ${matches.length} containers (${matches.map((m) => `${m.container.id.slice(0, 12)} on ${m.engine.address}`).join(', ')}); give more of the ID`);
    }
    return matches[0];
  }

  private nameTaken(name: string): boolean {
    if (this.pendingNames.has(name)) return true;
    for (const engine of this.o.cluster.all()) if (engine.hasContainer(name)) return true;
    return false;
  }

  /**
   * Creates (and with `start`, starts) a container for a caller with `role` (its effective role;
   * none: nothing of the host). The spec is checked against the container policy before
   * placement, and the role goes to the agent, which checks it against its own policy.
   */
  async create(spec: ContainerSpec, start: boolean, role?: Role): Promise<CreateResult> {
    const { request, env } = this.request(spec);
    try {
      checkContainer(spec, role, this.policy);
    } catch (err) {
      // Someone asked for the host: worth a line in the log whatever the caller does next.
      if (err instanceof PermissionDeniedError) this.logger.warn('create refused by the container policy', { role: role ?? null, error: err.message });
      throw err;
    }
    const name = request.name;
    if (name && this.nameTaken(name)) throw new AlreadyExistsError(`a container named ${JSON.stringify(name)} already exists in the cluster (or is being created)`);
    if (name) this.pendingNames.add(name);
    const clusterId = randomBytes(32).toString('hex');
    const excluded = new Map<string, string>();
    const retries: string[] = [];
    try {
      for (let attempt = 0; ; attempt++) {
        const placement = this.o.scheduler.place({ ...request, excluded }, this.o.cluster);
        const engine = placement.engine as Engine | undefined;
        if (!engine) throw this.noEngine({ ...request, excluded }, retries);
        // Reserved in the same tick as the decision, before any network call.
        const reservation = engine.reserve({
          name,
          nanoCpus: request.nanoCpus,
          memoryBytes: request.memoryBytes,
          ports: request.ports.map((p) => ({ key: portKey(p.hostPort, p.protocol), hostIp: p.hostIp })),
        });
        try {
          const created = await this.createOn(engine, this.agentRequest(spec, env, clusterId), role);
          this.hold(engine, reservation, created.id);
          await this.settle(engine, created.id, (c) => c !== undefined);
          let started = false;
          if (start) {
            await this.o.connector.operations(engine.address).startContainer(created.id);
            await this.settle(engine, created.id, (c) => c !== undefined && c.state !== 'created');
            started = true;
          }
          this.logger.info('container created', { id: created.id, name, engine: engine.address, attempt, started });
          return { id: created.id, name, engine: ref(engine), warnings: created.warnings, retries, pulled: created.pulled, started };
        } catch (err) {
          if (!reservation.containerId) engine.release(reservation);
          // Errors about the request itself, or after the container exists, are not retried elsewhere.
          if (reservation.containerId || err instanceof InvalidArgumentError || err instanceof AlreadyExistsError || err instanceof PermissionDeniedError) throw err;
          const why = err instanceof Error ? err.message : String(err);
          this.logger.warn('create failed on an engine', { engine: engine.address, error: why, attempt });
          if (attempt >= this.o.cluster.createRetry) throw err;
          excluded.set(engine.id, why);
          retries.push(`${engine.address}: ${why}`);
        }
      }
    } finally {
      if (name) this.pendingNames.delete(name);
    }
  }

  private agentRequest(spec: ContainerSpec, env: string[], clusterId: string): CreateContainerRequest {
    return {
      name: spec.name.replace(/^\//, ''),
      image: spec.image,
      command: spec.command,
      entrypoint: spec.entrypoint,
      env,
      labels: { ...spec.labels, [clusterIdLabel]: clusterId },
      nanoCpus: spec.nanoCpus,
      cpuShares: '0',
      memoryBytes: spec.memoryBytes,
      portBindings: spec.portBindings,
      networkMode: spec.networkMode,
      restartPolicy: spec.restartPolicy,
      privileged: spec.privileged,
      pidMode: spec.pidMode,
      ipcMode: spec.ipcMode,
      utsMode: spec.utsMode,
      capAdd: spec.capAdd,
      devices: spec.devices,
      binds: spec.binds,
    };
  }

  /** Keeps a created container's reservation until its engine reports it, or a timeout. */
  private hold(engine: Engine, reservation: Reservation, containerId: string): void {
    reservation.containerId = containerId;
    if (engine.containers.has(containerId)) {
      engine.release(reservation);
      return;
    }
    this.o.clock.setTimeout(() => engine.release(reservation), this.o.reservationTimeoutMs ?? 60_000);
  }

  /** Creates on one engine, pulling the image there first when the engine lacks it. */
  private async createOn(engine: Engine, body: CreateContainerRequest, actingRole: Role | undefined): Promise<{ id: string; warnings: string[]; pulled: boolean }> {
    const agent = this.o.connector.operations(engine.address);
    try {
      return { ...(await agent.createContainer(body, { actingRole })), pulled: false };
    } catch (err) {
      if (!(err instanceof NotFoundError) || !/no such image/i.test(err.message)) throw err;
    }
    try {
      for await (const progress of agent.pullImage(body.image, new AbortController().signal)) this.publishPull(engine, body.image, progress);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new FailedPreconditionError(`image ${body.image} is not on engine ${engine.address} and could not be pulled: ${why}`, { cause: err });
    }
    return { ...(await agent.createContainer(body, { actingRole })), pulled: true };
  }

  private publishPull(engine: Engine, image: string, progress: PullImageResponse): void {
    this.o.publish?.({
      type: 'image',
      action: 'pull-progress',
      engine: ref(engine),
      time: new Date(this.o.clock.now()),
      docker: { type: 'image', action: 'pull-progress', actorId: image, actorAttributes: { status: progress.status, layer: progress.layerId, progress: progress.progress }, scope: 'local', timeNano: String(BigInt(this.o.clock.now()) * 1_000_000n) },
      container: undefined,
      engineState: undefined,
      error: '',
    });
  }

  /**
   * Waits (bounded) until the engine's stream shows the container as `test` expects, so a client
   * that creates then lists, or removes then creates the same name, sees its own change.
   */
  private async settle(engine: Engine, id: string, test: (c: Container | undefined) => boolean): Promise<void> {
    const observation = engine.observe(id, test);
    const timer = this.o.clock.setTimeout(() => observation.cancel(), this.o.settleTimeoutMs ?? 5_000);
    await observation.settled;
    timer.cancel();
  }

  // ---- operations routed to the container's engine ----

  private async on<T>(reference: string, work: (engine: Engine, id: string) => Promise<T>): Promise<T & { engine: EngineRef }> {
    const { engine, container } = this.find(reference);
    if (engine.status !== 'healthy') throw new FailedPreconditionError(`container ${container.id.slice(0, 12)} is on engine ${engine.address}, which is ${engine.status}: ${engine.lastError}`);
    return { ...(await work(engine, container.id)), engine: ref(engine) };
  }

  start(reference: string) {
    return this.on(reference, async (e, id) => {
      const answer = await this.o.connector.operations(e.address).startContainer(id);
      await this.settle(e, id, (c) => c?.state !== 'created');
      return answer;
    });
  }

  stop(reference: string, timeoutSeconds: number | undefined) {
    return this.on(reference, async (e, id) => {
      const answer = await this.o.connector.operations(e.address).stopContainer(id, timeoutSeconds);
      await this.settle(e, id, (c) => c?.state !== 'running');
      return answer;
    });
  }

  kill(reference: string, signal: string) {
    return this.on(reference, async (e, id) => {
      await this.o.connector.operations(e.address).killContainer(id, signal);
      // Signals other than KILL may leave the container running on purpose.
      if (!signal || /^(SIG)?KILL$|^9$/i.test(signal)) await this.settle(e, id, (c) => c?.state !== 'running');
      return {};
    });
  }

  remove(reference: string, force: boolean, volumes: boolean) {
    return this.on(reference, async (e, id) => {
      await this.o.connector.operations(e.address).removeContainer(id, force, volumes);
      await this.settle(e, id, (c) => c === undefined);
      return {};
    });
  }

  async inspect(reference: string): Promise<{ container: ClusterContainer; rawJson: string }> {
    const { engine, container } = this.find(reference);
    if (engine.status !== 'healthy') return { container: this.clusterContainer(engine, container), rawJson: '' };
    const answer = await this.o.connector.operations(engine.address).inspectContainer(container.id);
    return { container: this.clusterContainer(engine, answer.container ?? container), rawJson: answer.rawJson };
  }

  logs(request: Omit<ContainerLogsRequest, 'id'> & { container: string }, signal: AbortSignal): AsyncIterable<ContainerLogsResponse> {
    const { engine, container } = this.find(request.container);
    if (engine.status !== 'healthy') throw new FailedPreconditionError(`container ${container.id.slice(0, 12)} is on engine ${engine.address}, which is ${engine.status}`);
    const { container: _ref, ...rest } = request;
    return this.o.connector.operations(engine.address).containerLogs({ ...rest, id: container.id }, signal);
  }

  clusterContainer(engine: Engine, container: Container): ClusterContainer {
    return { container, engine: ref(engine), engineStatus: engineStatusOf(engine.status) };
  }

  list(filter: ContainerFilter): ClusterContainer[] {
    const engines = filter.engines.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`));
    const states = new Set(filter.states.map((s) => s.toLowerCase()));
    const labels = Object.entries(filter.labels);
    const out: ClusterContainer[] = [];
    for (const engine of engines.length ? engines : this.o.cluster.all()) {
      for (const c of engine.containers.values()) {
        if (!filter.all && !states.size && c.state !== 'running') continue;
        if (states.size && !states.has(c.state)) continue;
        if (labels.length && !labels.every(([k, v]) => (v === '*' ? k in c.labels : c.labels[k] === v))) continue;
        if (filter.names.length && !filter.names.some((n) => c.names.some((cn) => cn.includes(n)))) continue;
        out.push(this.clusterContainer(engine, c));
      }
    }
    return out;
  }

  /** Pulls an image on engines (every healthy one by default), each reporting its progress. */
  async *pull(image: string, engineRefs: string[], signal: AbortSignal): AsyncGenerator<{ engine: EngineRef; progress?: PullImageResponse; done: boolean; error: string }> {
    if (!image.trim()) throw InvalidArgumentError.field('image', image, 'an image is required');
    const engines = engineRefs.length ? engineRefs.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`)) : [...this.o.cluster.all()].filter((e) => e.status === 'healthy');
    // Every engine pulls at once; their progress lines are merged as they come.
    type Item = { engine: EngineRef; progress?: PullImageResponse; done: boolean; error: string };
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    const push = (item: Item) => {
      queue.push(item);
      wake?.();
    };
    let running = engines.length;
    for (const engine of engines) {
      void (async () => {
        try {
          for await (const progress of this.o.connector.operations(engine.address).pullImage(image, signal)) push({ engine: ref(engine), progress, done: false, error: '' });
          push({ engine: ref(engine), done: true, error: '' });
        } catch (err) {
          push({ engine: ref(engine), done: true, error: err instanceof FlotillaError || err instanceof Error ? err.message : String(err) });
        } finally {
          running--;
          wake?.();
        }
      })();
    }
    while (running > 0 || queue.length) {
      if (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      while (queue.length) yield queue.shift()!;
    }
  }
}
