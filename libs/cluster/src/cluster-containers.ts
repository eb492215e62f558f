import { randomHex, silentLogger, type Logger } from '@flotilla/grpc';
import { AlreadyExistsError, CancelledError, FailedPreconditionError, FlotillaError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, UnavailableError, UnknownError } from '@flotilla/errors';
import type { Role } from '@flotilla/pki';
import { checkContainer, checkContainerOptions, containerNamePattern, defaultPolicy, namedVolumes, predefinedNetworks, type ContainerPolicy } from '@flotilla/policy';
import { requestIdLabel, type Container, type PullProgress, type RegistryAuth } from '@flotilla/proto';
import type { ContainerLogsRequest, ContainerLogsResponse, CreateContainerRequest } from '@flotilla/proto/agent';
import { PlacementExplanation, placementExplanationType, type ClusterContainer, type ClusterEvent, type ClusterNode, type ContainerSpec, type EngineRef } from '@flotilla/proto/cluster';
import { addressIp, affinitiesLabel, constraintsLabel, labelList, placementRequestFrom, portKey, reschedulePoliciesLabel, resourceFit, type Placement, type PlacementFromSpec, type PlacementRequest, type Scheduler } from '@flotilla/scheduler';
import type { Clock, Timer } from '@flotilla/time';
import type { AgentConnector, AgentOperations } from './agent-connector';
import type { Cluster } from './cluster';
import type { Engine, Reservation } from './engine';
import { labelsMatch } from './label-filter';
import { StreamWaits } from './stream-waits';
import { engineRef, engineStatusOf } from './engine-view';
import { requestLimits } from './request-limits';

/** The label that carries a container's cluster-wide ID, as on classic Swarm. */
export const clusterIdLabel = 'com.docker.swarm.id';
/** The label that carries the request ID (idempotency key) of the create that made a container. */
/** "true" on a container whose create asked to start it (see `sweepOrphans`). */
export const startRequestedLabel = 'com.flotilla.start-requested';
/** A request ID: at most 128 characters of [A-Za-z0-9._-]. */
const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;
/** The status of a container whose engine is unhealthy (classic Swarm's words). */
export const hostDownStatus = 'Host Down';

export interface ClusterContainersOptions {
  cluster: Cluster;
  connector: AgentConnector;
  scheduler: Scheduler;
  clock: Clock;
  logger?: Logger;
  /** How long a created container's reservation waits for the engine to report it. */
  reservationTimeoutMs?: number;
  /** How long an operation waits for its engine to report the effect before answering that it has not (`unsettled`). */
  settleTimeoutMs?: number;
  /** How long a never-started container of a create that asked to start it may stay before it is removed (--orphan-grace); 0: never. Default 10 minutes. */
  orphanGraceMs?: number;
  /** Publishes events such as pull progress on the cluster's stream. */
  publish?: (event: ClusterEvent) => void;
  /** What a container may take of its host, per caller role; default: nothing for anyone. */
  containerPolicy?: ContainerPolicy;
  /** Hears how long each placement decision took (the scheduler's work alone), for metrics. */
  onPlacement?: (seconds: number, placed: boolean) => void;
  /** A monotonic clock in milliseconds for those durations; default performance.now. */
  monotonicNow?: () => number;
}

export interface CreateResult {
  id: string;
  name: string;
  engine: EngineRef;
  warnings: string[];
  retries: string[];
  pulled: boolean;
  started: boolean;
  /** The engine's stream had not shown the container (or its start) when the create answered. */
  unsettled: boolean;
  /** The request ID matched a container an earlier create made: nothing new was created. */
  foundByRequestId: boolean;
}

export interface CreateOptions {
  /** The create's idempotency key (CreateContainerRequest.request_id); empty for none. */
  requestId?: string;
  /** Aborts the create's work that can be aborted (pulling a missing image) when the caller goes. */
  signal?: AbortSignal;
  /** Credentials for a pull the create makes; passed to the engine, never logged or kept. */
  registryAuth?: RegistryAuth;
}

export interface ContainerFilter {
  all: boolean;
  engines: string[];
  states: string[];
  labels: Record<string, string>;
  names: string[];
}


/** The engine as classic Swarm's `Node` in inspect: ID, name, address, IP, CPUs, memory, labels. */
function nodeOf(engine: Engine): ClusterNode {
  return {
    id: engine.id,
    name: engine.name,
    address: engine.address,
    ip: addressIp(engine.address),
    cpus: String(engine.cpus),
    memoryBytes: String(engine.memoryBytes),
    labels: { ...engine.labels },
  };
}


/** The user-defined network a network mode names; none for Docker's own modes and networks. */
function userNetworkOf(networkMode: string): string | undefined {
  const mode = networkMode.trim();
  if (!mode || mode === 'default' || mode.includes(':') || predefinedNetworks.includes(mode)) return undefined;
  return mode;
}

/** The create's pull was cancelled: the create itself was never sent. */
class PullCancelled extends CancelledError {}

/**
 * The create-retry rule: a failed create is tried on another engine only when the failure proves
 * the engine created nothing. The agent refused it before Docker made anything (NOT_FOUND, e.g. an
 * image it could not pull; FAILED_PRECONDITION; RESOURCE_EXHAUSTED) or said the request itself is
 * wrong (INVALID_ARGUMENT, ALREADY_EXISTS, PERMISSION_DENIED: proof too, but never retried, as
 * another engine would say the same). Anything else (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED,
 * INTERNAL, ...) may come after Docker created the container, with only the answer lost: such a
 * create is never retried elsewhere, so one name never ends up on two engines. The engine's stream
 * can prove such a create happened (the container shows up with the create's label) but never that
 * it did not (the agent may still be creating it), so the manager waits a while for it there and
 * answers with it, or fails saying the create is in doubt.
 */
function createdNothing(err: unknown): boolean {
  return (
    err instanceof PullCancelled ||
    err instanceof NotFoundError ||
    err instanceof FailedPreconditionError ||
    err instanceof ResourceExhaustedError ||
    err instanceof InvalidArgumentError ||
    err instanceof AlreadyExistsError ||
    err instanceof PermissionDeniedError
  );
}

/** Failures about the request itself: another engine would refuse it alike. */
function aboutTheRequest(err: unknown): boolean {
  return err instanceof InvalidArgumentError || err instanceof AlreadyExistsError || err instanceof PermissionDeniedError;
}

type ErrorKind = new (message: string, options?: { cause?: unknown }) => FlotillaError;

/** The same status with a longer message, so a client still sees what the engine answered. */
function restated(err: unknown, message: string): FlotillaError {
  const Kind: ErrorKind = err instanceof FlotillaError ? (err.constructor as ErrorKind) : UnknownError;
  return new Kind(message, { cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Engine addresses for a message: the first few, and how many more. */
function someAddresses(engines: Iterable<Engine>, shown = 5): string {
  const out: string[] = [];
  let more = 0;
  for (const e of engines) {
    if (out.length < shown) out.push(e.address);
    else more++;
  }
  return more ? `${out.join(', ')} and ${more} more` : out.join(', ');
}

/**
 * Containers through the cluster: placement, reservations held from the decision until the engine
 * reports the container (so concurrent creates never double-book a port, a slot or memory, and
 * never wait on each other's network calls), create-retry on other engines, pulling a missing
 * image, creates made safe to retry by a request ID, removal of orphans, and routing every later
 * operation to the container's engine.
 */
export class ClusterContainers {
  private readonly logger: Logger;
  /** Names of containers being created, cluster-wide. */
  private readonly pendingNames = new Set<string>();
  /** Work under way per request ID (a create, a retried one, an orphan's removal): the next with that ID waits for it. */
  private readonly requests = new Map<string, Promise<unknown>>();
  private readonly policy: ContainerPolicy;
  /** Reservations waiting for their engine to report the container, with their expiry. */
  private readonly held = new Map<Reservation, Engine>();
  /** Waits for engines' streams under way, ended by `shutdown`. */
  private readonly waits: StreamWaits;
  /** Aborts pulls of creates under way when the manager stops. */
  private readonly closing = new AbortController();
  /** Orphans seen, by engine ID and container ID, and when this manager first saw each. */
  private readonly orphansSeen = new Map<string, number>();
  private sweep: Timer | undefined;
  private sweeping = false;
  private stopped = false;

  constructor(private readonly o: ClusterContainersOptions) {
    this.logger = o.logger ?? silentLogger;
    this.policy = o.containerPolicy ?? defaultPolicy('cluster-manager');
    this.waits = new StreamWaits(o.clock, o.settleTimeoutMs ?? 5_000);
  }

  private get orphanGraceMs(): number {
    return this.o.orphanGraceMs ?? 10 * 60_000;
  }

  /** Starts the orphan sweep (see `sweepOrphans`); nothing to start with --orphan-grace 0. */
  startSweeping(): void {
    if (this.stopped || this.orphanGraceMs <= 0) return;
    // A few sweeps per grace: an orphan goes between one and one and a quarter graces after it is first seen.
    const every = Math.max(1000, Math.min(60_000, Math.floor(this.orphanGraceMs / 4)));
    this.sweep ??= this.o.clock.setInterval(() => {
      this.sweepOrphans().catch((err: unknown) => this.logger.error('the orphan sweep failed', { error: messageOf(err) }));
    }, every);
  }

  /**
   * Stops every timer and wait of its own: the sweep, reservation expiries (their reservations are
   * released), waits for engines' streams (they answer `unsettled`), and pulls of creates under way.
   */
  shutdown(): void {
    this.stopped = true;
    this.sweep?.cancel();
    this.sweep = undefined;
    this.closing.abort();
    this.waits.shutdown();
    for (const [reservation, engine] of [...this.held]) engine.release(reservation);
    this.orphansSeen.clear();
  }

  /**
   * What placement makes of a spec. Every constraint, affinity and reschedule policy ends up in
   * the container's labels as classic Swarm kept them, so they survive a manager restart and show
   * in inspect; a reschedule policy "on-node-failure" is refused (FAILED_PRECONDITION) before
   * anything is placed or created.
   */
  private request(spec: ContainerSpec): PlacementFromSpec {
    if (!spec.image.trim()) throw InvalidArgumentError.field('spec.image', spec.image, 'an image is required');
    if (spec.name && !containerNamePattern.test(spec.name)) throw InvalidArgumentError.field('spec.name', spec.name, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
    const placement = placementRequestFrom({ ...spec, name: spec.name.replace(/^\//, '') });
    checkContainerOptions(spec, 'spec.');
    // A named volume lives on one engine: one that exists places the container with it.
    const volumes = namedVolumes(spec);
    if (volumes.length) {
      const engines = [...this.o.cluster.all()];
      placement.request.volumes = volumes.filter((name) => engines.some((e) => e.hasVolume(name)));
    }
    // So does a user-defined network: the container joins it where it exists.
    const network = userNetworkOf(spec.networkMode);
    if (network && [...this.o.cluster.all()].some((e) => e.hasNetwork(network))) placement.request.networks = [network];
    // The expressions of every source together, as JSON: each is within its limit, but the
    // written label must be within a label's too (and the agent's cap on a container's labels).
    for (const key of [constraintsLabel, affinitiesLabel, reschedulePoliciesLabel]) {
      const value = placement.labels[key];
      const bytes = value === undefined ? 0 : Buffer.byteLength(value);
      if (bytes > requestLimits.labelValueBytes) {
        throw InvalidArgumentError.field(`spec.labels[${JSON.stringify(key)}]`, `${bytes} bytes`, `the expressions of every source written as this label take ${bytes} bytes; at most ${requestLimits.labelValueBytes}`);
      }
    }
    return placement;
  }

  /**
   * Where the container would go. A spec the container policy refuses for `role` is refused
   * here too, as create would refuse it.
   */
  explain(spec: ContainerSpec, role?: Role): { chosen: EngineRef | undefined; explanation: PlacementExplanation } {
    const { request } = this.request(spec);
    checkContainer(spec, role, this.policy);
    const placement = this.o.scheduler.explain(request, this.o.cluster);
    return { chosen: placement.engine ? engineRef(placement.engine as Engine) : undefined, explanation: this.explanation(request, placement) };
  }

  private explanation(request: PlacementRequest, placement: Placement): PlacementExplanation {
    const active = (list: PlacementRequest['constraints']) => list.filter((e) => !(placement.softDropped && e.soft)).map((e) => e.text);
    return {
      strategy: placement.strategy,
      constraints: active(request.constraints),
      affinities: active(request.affinities),
      softDropped: placement.softDropped,
      engines: (placement.verdicts ?? []).map((v) => ({
        engine: engineRef(v.engine as Engine),
        chosen: Boolean(v.chosen),
        filter: v.filter ?? '',
        reason: v.reason ?? '',
        score: v.weight ?? 0,
      })),
      summary: placement.summary,
    };
  }

  /** One placement decision, timed and counted. */
  private decide(request: PlacementRequest): Engine | undefined {
    const now = this.o.monotonicNow ?? (() => performance.now());
    const started = now();
    const engine = this.o.scheduler.place(request, this.o.cluster).engine as Engine | undefined;
    this.o.onPlacement?.((now() - started) / 1000, engine !== undefined);
    if (engine) this.o.cluster.activity.placementDecided({ placed: true, rejectedBy: [] });
    return engine;
  }

  private noEngine(request: PlacementRequest, retries: string[]): FailedPreconditionError {
    const placement = this.o.scheduler.explain(request, this.o.cluster);
    const explanation = this.explanation(request, placement);
    this.o.cluster.activity.placementDecided({ placed: false, rejectedBy: explanation.engines.map((e) => e.filter).filter((f) => f !== '') });
    const tried = retries.length ? ` (after trying: ${retries.join('; ')})` : '';
    return new FailedPreconditionError(`${placement.summary}${tried}`, { reason: 'NO_ENGINE_FITS', details: [{ type: placementExplanationType, value: PlacementExplanation.encode(explanation).finish() }] });
  }

  /**
   * The container with this ID, name or unique ID prefix, anywhere in the cluster, in Docker's
   * order: an exact ID first, then an exact name, then an ID prefix (a name made of hex digits is
   * a name before it is a prefix). More than one match at the first step that has any is refused.
   */
  find(reference: string, field = 'container'): { engine: Engine; container: Container } {
    const text = reference.trim().replace(/^\//, '');
    if (!text) throw InvalidArgumentError.field(field, reference, 'a container ID, ID prefix or name is required');
    const engines = [...this.o.cluster.all()];
    const steps: Array<(e: Engine) => Container[]> = [
      (e) => [e.containerById(text)].filter((c) => c !== undefined),
      (e) => [e.containerByName(text)].filter((c) => c !== undefined),
      (e) => e.containersByIdPrefix(text),
    ];
    for (const step of steps) {
      const matches = engines.flatMap((engine) => step(engine).map((container) => ({ engine, container })));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) {
        throw InvalidArgumentError.field(field, reference, `matches ${matches.length} containers (${matches.map((m) => `${m.container.id.slice(0, 12)} on ${m.engine.address}`).join(', ')}); give more of the ID`);
      }
    }
    throw new NotFoundError(`no container ${JSON.stringify(reference)} in the cluster`);
  }

  /** A name in use: by a container, one being created, or one whose create is in doubt. Names only: never an ID prefix. */
  private nameTaken(name: string): boolean {
    return this.pendingNames.has(name) || this.o.cluster.nameTaken(name);
  }

  /**
   * Names and request IDs are checked against every engine's containers, so they can be checked
   * only while every engine's containers are known: refused (UNAVAILABLE, worth a retry) while a
   * pending engine's first attempt is still under way, e.g. right after a manager restart, before
   * the engines' snapshots are in. A pending engine whose attempt already failed (an agent that is
   * down, an address that leads nowhere) does not block the cluster: it may never come, and its
   * containers could not be checked anyway, as on classic Swarm. An unhealthy engine's last known
   * containers count: the manager places nothing on it meanwhile.
   */
  private checkEnginesKnown(what: string): void {
    const pending = [...this.o.cluster.pendingEngines.values()].filter((e) => e.failureCount === 0);
    if (pending.length === 0) return;
    throw new UnavailableError(
      `cannot check that the ${what} is unique in the cluster while engines ${someAddresses(pending.values())} are being reached for the first time (their containers are not known yet); retry once they are healthy, or remove an engine that will not come back`,
    );
  }

  /**
   * Creates (and with `start`, starts) a container for a caller with `role` (its effective role;
   * none: nothing of the host). The spec is checked against the container policy before
   * placement, and the role goes to the agent, which checks it against its own policy.
   *
   * With a request ID the create is safe to retry: the container carries the ID as a label, and a
   * create with an ID some container already carries answers with that container (starting it if
   * asked to and it never started: one that ran and exited did start, and is not run twice).
   * Creates with the same ID one after another: the later waits for the earlier.
   */
  async create(spec: ContainerSpec, start: boolean, role?: Role, options: CreateOptions = {}): Promise<CreateResult> {
    const { request, env, labels } = this.request(spec);
    try {
      checkContainer(spec, role, this.policy);
    } catch (err) {
      // Someone asked for the host: worth a line in the log whatever the caller does next.
      if (err instanceof PermissionDeniedError) this.logger.warn('create refused by the container policy', { role: role ?? null, error: err.message });
      throw err;
    }
    const requestId = options.requestId ?? '';
    if (requestId && !requestIdPattern.test(requestId)) throw InvalidArgumentError.field('request_id', requestId, 'only [A-Za-z0-9._-] are allowed, at most 128 characters');
    for (let underway = this.requests.get(requestId); requestId && underway; underway = this.requests.get(requestId)) await underway.catch(() => undefined);
    // From here to the registration below nothing awaits, so no other create with this ID or name gets in between.
    const name = request.name;
    if (name || requestId) this.checkEnginesKnown(name ? 'name' : 'request ID');
    let work: Promise<CreateResult>;
    const found = requestId ? this.findByRequestId(requestId) : undefined;
    if (found) work = this.resume(found.engine, found.container, name, start, requestId);
    else {
      if (requestId) this.checkNotInDoubt(requestId);
      if (name && this.nameTaken(name)) throw new AlreadyExistsError(`a container named ${JSON.stringify(name)} already exists in the cluster (or is being created)`);
      work = this.place({ ...spec, labels }, request, env, start, role, requestId, options.signal, options.registryAuth);
    }
    if (!requestId) return work;
    this.requests.set(requestId, work);
    try {
      return await work;
    } finally {
      if (this.requests.get(requestId) === work) this.requests.delete(requestId);
    }
  }

  /** The container a create with this request ID made, on any engine. */
  private findByRequestId(requestId: string): { engine: Engine; container: Container } | undefined {
    const found: Array<{ engine: Engine; container: Container }> = [];
    for (const engine of this.o.cluster.all()) {
      const container = engine.containerWithLabel(requestIdLabel, requestId);
      if (container) found.push({ engine, container });
    }
    if (found.length > 1) this.logger.warn('several containers carry one request ID; answering with the first', { requestId, containers: found.map((f) => `${f.container.id.slice(0, 12)}@${f.engine.address}`) });
    return found[0];
  }

  /** A create with this ID whose answer was lost may still show up: a retry now could make a second container. */
  private checkNotInDoubt(requestId: string): void {
    for (const engine of this.o.cluster.all()) {
      for (const r of engine.reservations) {
        if (r.label?.key !== requestIdLabel || r.label.value !== requestId) continue;
        throw new UnavailableError(
          `a create with request_id ${JSON.stringify(requestId)} may have made its container on engine ${engine.address}, whose stream has not shown it yet; retry later with the same request_id`,
        );
      }
    }
  }

  /** Answers a retried create with the container the first made. */
  private async resume(engine: Engine, container: Container, name: string, start: boolean, requestId: string): Promise<CreateResult> {
    if (name && !container.names.includes(name)) {
      throw InvalidArgumentError.field('request_id', requestId, `already made container ${container.id.slice(0, 12)} named ${JSON.stringify(container.names[0] ?? '')}, not ${JSON.stringify(name)}; a retry must send the same spec`);
    }
    let started = container.state !== 'created';
    let unsettled = false;
    if (start && !started) {
      if (engine.status !== 'healthy') throw new UnavailableError(`container ${container.id.slice(0, 12)} of request_id ${JSON.stringify(requestId)} is on engine ${engine.address}, which is ${engine.status}: ${engine.lastError}`);
      await this.o.connector.operations(engine.address).startContainer(container.id);
      unsettled = !(await this.settle(engine, container.id, (c) => c !== undefined && c.state !== 'created'));
      started = true;
    }
    this.logger.info('create answered with the container of its request ID', { id: container.id, requestId, engine: engine.address, started });
    return { id: container.id, name: container.names[0] ?? '', engine: engineRef(engine), warnings: [], retries: [], pulled: false, started, unsettled, foundByRequestId: true };
  }

  /** Places and creates a new container, trying other engines as the create-retry rule allows (see `createdNothing`). */
  private async place(spec: ContainerSpec, request: PlacementRequest, env: string[], start: boolean, role: Role | undefined, requestId: string, callerSignal: AbortSignal | undefined, registryAuth: RegistryAuth | undefined): Promise<CreateResult> {
    const name = request.name;
    if (name) this.pendingNames.add(name);
    const clusterId = randomHex(32);
    const body = this.agentRequest(spec, env, clusterId, requestId, start);
    // A create's own label finds its container when the agent's answer is lost.
    const label = requestId ? { key: requestIdLabel, value: requestId } : { key: clusterIdLabel, value: clusterId };
    const signal = callerSignal ? AbortSignal.any([callerSignal, this.closing.signal]) : this.closing.signal;
    const excluded = new Map<string, string>();
    const retries: string[] = [];
    try {
      for (let attempt = 0; ; attempt++) {
        if (signal.aborted) throw new CancelledError('the create was cancelled');
        const engine = this.decide({ ...request, excluded });
        if (!engine) throw this.noEngine({ ...request, excluded }, retries);
        // Reserved in the same tick as the decision, before any network call.
        const reservation = engine.reserve({
          name,
          nanoCpus: request.nanoCpus,
          memoryBytes: request.memoryBytes,
          ports: request.ports.map((p) => ({ key: portKey(p.hostPort, p.protocol), hostIp: p.hostIp })),
          label,
        });
        let created: { id: string; warnings: string[]; pulled: boolean };
        let earlier = false;
        try {
          created = await this.createOn(engine, body, role, signal, registryAuth);
        } catch (err) {
          const why = messageOf(err);
          // The name may be taken by this request's own container: made by a create still under
          // way on the agent when an earlier manager stopped, and not in the snapshot this one got.
          const own = requestId && err instanceof AlreadyExistsError ? await this.shownWithLabel(engine, label) : undefined;
          if (own) {
            this.logger.warn('the engine already held the container of this request ID', { engine: engine.address, id: own.id, requestId });
            created = { id: own.id, warnings: [`engine ${engine.address} already held the container of this request_id (${why})`], pulled: false };
            earlier = true;
          } else if (createdNothing(err)) {
            engine.release(reservation);
            if (aboutTheRequest(err) || signal.aborted) throw err;
            this.logger.warn('create failed on an engine', { engine: engine.address, error: why, attempt });
            if (attempt >= this.o.cluster.createRetry) throw err;
            excluded.set(engine.id, why);
            retries.push(`${engine.address}: ${why}`);
            continue;
          } else {
            const lost = await this.lookForLostCreate(engine, reservation, why);
            if (!lost) throw restated(err, `${why}; the create may still have happened on engine ${engine.address}, so it is not retried on another engine${requestId ? '; a create with the same request_id answers with the container once the engine shows it' : ''}`);
            created = { id: lost.id, warnings: [`the engine's answer to the create was lost (${why}); the container was found on its stream`], pulled: false };
          }
        }
        this.hold(engine, reservation, created.id);
        let unsettled = !(await this.settle(engine, created.id, (c) => c !== undefined));
        let started = false;
        if (start) {
          await this.o.connector.operations(engine.address).startContainer(created.id);
          // Not shown created: its start will not be shown sooner.
          if (!unsettled) unsettled = !(await this.settle(engine, created.id, (c) => c !== undefined && c.state !== 'created'));
          started = true;
        }
        this.logger.info('container created', { id: created.id, name, engine: engine.address, attempt, started, unsettled, requestId });
        return { id: created.id, name, engine: engineRef(engine), warnings: created.warnings, retries, pulled: created.pulled, started, unsettled, foundByRequestId: earlier };
      }
    } finally {
      if (name) this.pendingNames.delete(name);
    }
  }

  /**
   * After a failure that does not prove the engine created nothing: waits (as long as a settle)
   * for the engine's stream to show a container with the create's label. When it does not, the
   * reservation is held until it does or it expires, keeping the name taken and a retry with the
   * same request ID from making a second container meanwhile.
   */
  private async lookForLostCreate(engine: Engine, reservation: Reservation, why: string): Promise<Container | undefined> {
    const label = reservation.label!;
    const found = await this.shownWithLabel(engine, label);
    if (found) {
      this.logger.warn('the answer to a create was lost, but the engine shows its container', { engine: engine.address, id: found.id, error: why });
      return found;
    }
    this.hold(engine, reservation);
    this.logger.warn('a create is in doubt: it failed without proof that nothing was created, and the engine has not shown it', { engine: engine.address, error: why, [label.key]: label.value });
    return undefined;
  }

  private agentRequest(spec: ContainerSpec, env: string[], clusterId: string, requestId: string, start: boolean): CreateContainerRequest {
    const labels: Record<string, string> = { ...spec.labels, [clusterIdLabel]: clusterId };
    if (requestId) labels[requestIdLabel] = requestId;
    else delete labels[requestIdLabel];
    // Only a create that asked to start can leave an orphan: the label tells them apart after a restart.
    if (start) labels[startRequestedLabel] = 'true';
    else delete labels[startRequestedLabel];
    return {
      name: spec.name.replace(/^\//, ''),
      image: spec.image,
      command: spec.command,
      entrypoint: spec.entrypoint,
      env,
      labels,
      nanoCpus: spec.nanoCpus,
      cpuShares: spec.cpuShares,
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
      mounts: spec.mounts,
      tmpfs: spec.tmpfs,
      user: spec.user,
      workingDir: spec.workingDir,
      tty: spec.tty,
      openStdin: spec.openStdin,
      stdinOnce: spec.stdinOnce,
      hostname: spec.hostname,
      dns: spec.dns,
      extraHosts: spec.extraHosts,
      healthCheck: spec.healthCheck,
      logConfig: spec.logConfig,
      ulimits: spec.ulimits,
      stopSignal: spec.stopSignal,
      stopTimeoutSeconds: spec.stopTimeoutSeconds,
      autoRemove: spec.autoRemove,
      cpuQuota: spec.cpuQuota,
      cpuPeriod: spec.cpuPeriod,
      cpusetCpus: spec.cpusetCpus,
      memoryReservationBytes: spec.memoryReservationBytes,
      memorySwapBytes: spec.memorySwapBytes,
      pidsLimit: spec.pidsLimit,
    };
  }

  /** The container carrying `label` once the engine's stream shows one (waiting as long as a settle), or undefined. */
  private async shownWithLabel(engine: Engine, label: { key: string; value: string }): Promise<Container | undefined> {
    if (!(await this.waits.wait(engine.observeLabel(label.key, label.value)))) return undefined;
    return engine.containerWithLabel(label.key, label.value);
  }

  /**
   * Keeps a created container's reservation until its engine reports it (by ID, or by the
   * reservation's label when the ID is not known), or a timeout; the engine's release cancels the
   * timer, and so does `shutdown`.
   */
  private hold(engine: Engine, reservation: Reservation, containerId?: string): void {
    if (containerId) reservation.containerId = containerId;
    const label = reservation.label;
    const reported = containerId ? engine.containers.has(containerId) : label !== undefined && engine.containerWithLabel(label.key, label.value) !== undefined;
    if (reported || this.stopped) {
      engine.release(reservation);
      return;
    }
    reservation.expiry?.cancel();
    const timer = this.o.clock.setTimeout(() => engine.release(reservation), this.o.reservationTimeoutMs ?? 60_000);
    reservation.expiry = {
      cancel: () => {
        timer.cancel();
        this.held.delete(reservation);
      },
    };
    this.held.set(reservation, engine);
  }

  /** Creates on one engine, pulling the image there first when the engine lacks it. */
  private async createOn(engine: Engine, body: CreateContainerRequest, actingRole: Role | undefined, signal: AbortSignal, registryAuth: RegistryAuth | undefined): Promise<{ id: string; warnings: string[]; pulled: boolean }> {
    const agent = this.o.connector.operations(engine.address);
    try {
      return { ...(await agent.createContainer(body, { actingRole })), pulled: false };
    } catch (err) {
      if (!(err instanceof NotFoundError) || !/no such image/i.test(err.message)) throw err;
    }
    try {
      for await (const progress of agent.pullImage(body.image, signal, registryAuth)) {
        if (signal.aborted) break;
        this.publishPull(engine, body.image, progress);
      }
    } catch (err) {
      const why = messageOf(err);
      if (signal.aborted) throw new PullCancelled(`the create was cancelled while engine ${engine.address} pulled ${body.image}`, { cause: err });
      throw new FailedPreconditionError(`image ${body.image} is not on engine ${engine.address} and could not be pulled: ${why}`, { cause: err });
    }
    if (signal.aborted) throw new PullCancelled(`the create was cancelled while engine ${engine.address} pulled ${body.image}`);
    return { ...(await agent.createContainer(body, { actingRole })), pulled: true };
  }

  private publishPull(engine: Engine, image: string, progress: PullProgress): void {
    this.o.publish?.({
      type: 'image',
      action: 'pull-progress',
      engine: engineRef(engine),
      time: new Date(this.o.clock.now()),
      docker: { type: 'image', action: 'pull-progress', actorId: image, actorAttributes: { status: progress.status, layer: progress.layerId, progress: progress.progress }, scope: 'local', timeNano: String(BigInt(this.o.clock.now()) * 1_000_000n) },
      container: undefined,
      engineState: undefined,
      error: '',
      classicAction: '',
    });
  }

  /**
   * Waits (bounded) until the engine's stream shows the container as `test` expects, so a client
   * that creates then lists, or removes then creates the same name, sees its own change. Answers
   * whether it did: false after the settle timeout (or `shutdown`), which the caller's answer says
   * (`unsettled`) rather than claim an effect the cluster does not show yet.
   */
  /**
   * Holds `nanoCpus` and `memoryBytes` more on the engine for a change under way (an update that
   * raises a limit) when they fit as a placement would (with the overcommit ratio); else
   * FAILED_PRECONDITION saying what is free. The caller releases it once the engine shows the change.
   */
  holdMore(engine: Engine, nanoCpus: number, memoryBytes: number, what: string): Reservation {
    const fit = resourceFit(engine, nanoCpus, memoryBytes, this.o.scheduler.overcommitRatio);
    if ('reason' in fit) throw new FailedPreconditionError(`engine ${engine.address} cannot take ${what}: it ${fit.reason}`);
    return engine.reserve({ name: what, nanoCpus, memoryBytes, ports: [] });
  }

  settle(engine: Engine, id: string, test: (c: Container | undefined) => boolean): Promise<boolean> {
    return this.waits.wait(engine.observe(id, test));
  }


  // ---- orphans ----

  /**
   * Orphans are containers whose create never completed: made by a create that carried a request
   * ID and asked to start them (label com.flotilla.start-requested), yet still "created", i.e.
   * never started (Docker never puts a started container back in that state). The manager died
   * or lost the agent between create and start, or the start failed. Once this manager has seen
   * one so for --orphan-grace (by its own clock, from when it first saw it: a restart starts the
   * count again), with no create of its request ID under way here, it is removed, which frees its
   * name, and logged and published as a "container" event with action "orphan-remove". A retry
   * with the request ID before then answers with the container (and starts it) instead. A
   * container created without start is a finished create in state "created", and is left alone;
   * so is every container without a request ID, as nothing says its create is not finished.
   */
  async sweepOrphans(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      const now = this.o.clock.now();
      const seen = new Set<string>();
      const due: Array<{ engine: Engine; container: Container; requestId: string }> = [];
      for (const engine of this.o.cluster.all()) {
        // The label index skips engines without any such container at no cost.
        if (engine.status !== 'healthy' || !engine.containerWithLabel(startRequestedLabel, 'true')) continue;
        for (const container of engine.containers.values()) {
          const requestId = container.labels[requestIdLabel];
          if (container.state !== 'created' || container.labels[startRequestedLabel] !== 'true' || !requestId || this.requests.has(requestId)) continue;
          const key = `${engine.id}/${container.id}`;
          seen.add(key);
          const since = this.orphansSeen.get(key) ?? now;
          this.orphansSeen.set(key, since);
          if (now - since >= this.orphanGraceMs) due.push({ engine, container, requestId });
        }
      }
      for (const key of this.orphansSeen.keys()) if (!seen.has(key)) this.orphansSeen.delete(key);
      for (const orphan of due) await this.removeOrphan(orphan.engine, orphan.container, orphan.requestId);
    } finally {
      this.sweeping = false;
    }
  }

  private async removeOrphan(engine: Engine, container: Container, requestId: string): Promise<void> {
    // Looked at again: an earlier removal awaited, and a retry of its request may have come meanwhile.
    if (this.stopped || this.requests.has(requestId) || engine.status !== 'healthy' || engine.containers.get(container.id)?.state !== 'created') return;
    const name = container.names[0] ?? '';
    // A retry with the request ID waits for the removal, then creates anew.
    const removal = (async () => {
      await this.o.connector.operations(engine.address).removeContainer(container.id, true, true);
      await this.settle(engine, container.id, (c) => c === undefined);
    })();
    this.requests.set(requestId, removal);
    try {
      await removal;
      this.orphansSeen.delete(`${engine.id}/${container.id}`);
      const why = `created by request ${requestId} to be started, never started within --orphan-grace (${Math.round(this.orphanGraceMs / 1000)} s)`;
      this.logger.warn('removed an orphan container', { id: container.id, name, engine: engine.address, requestId, reason: why });
      this.o.publish?.({
        type: 'container',
        action: 'orphan-remove',
        engine: engineRef(engine),
        time: new Date(this.o.clock.now()),
        docker: { type: 'container', action: 'orphan-remove', actorId: container.id, actorAttributes: { name, image: container.image, [requestIdLabel]: requestId, reason: why }, scope: 'local', timeNano: String(BigInt(this.o.clock.now()) * 1_000_000n) },
        container,
        engineState: undefined,
        error: '',
        classicAction: '',
      });
    } catch (err) {
      this.logger.warn('could not remove an orphan container; trying again on the next sweep', { id: container.id, name, engine: engine.address, requestId, error: messageOf(err) });
    } finally {
      if (this.requests.get(requestId) === removal) this.requests.delete(requestId);
    }
  }

  // ---- operations routed to the container's engine ----

  /**
   * Runs `work` for the container found by `reference` (see `find`) on its engine, which must be
   * healthy, with that engine's agent; the answer gets the engine.
   */
  async on<T>(reference: string, work: (engine: Engine, id: string, agent: AgentOperations, container: Container) => Promise<T>): Promise<T & { engine: EngineRef }> {
    const { engine, container, agent } = this.onHealthyEngine(reference);
    return { ...(await work(engine, container.id, agent, container)), engine: engineRef(engine) };
  }

  /** The container found by `reference` (see `find`) and its engine's agent; FAILED_PRECONDITION when that engine is not healthy. */
  onHealthyEngine(reference: string): { engine: Engine; container: Container; agent: AgentOperations } {
    const { engine, container } = this.find(reference);
    if (engine.status !== 'healthy') throw new FailedPreconditionError(`container ${container.id.slice(0, 12)} is on engine ${engine.address}, which is ${engine.status}: ${engine.lastError}`);
    return { engine, container, agent: this.o.connector.operations(engine.address) };
  }

  /**
   * Holds a name cluster-wide for a change that gives it to a container (a rename), as a create
   * holds its own: refused while engines' names are not known yet (UNAVAILABLE), or when a
   * container has it or is being created with it (ALREADY_EXISTS). Answers the release.
   */
  claimName(name: string): () => void {
    this.checkEnginesKnown('name');
    if (this.nameTaken(name)) throw new AlreadyExistsError(`a container named ${JSON.stringify(name)} already exists in the cluster (or is being created)`);
    this.pendingNames.add(name);
    return () => this.pendingNames.delete(name);
  }

  start(reference: string) {
    return this.on(reference, async (e, id) => {
      const startedAt = (c: Container | undefined) => c?.startedAt?.getTime() ?? 0;
      const before = startedAt(e.containers.get(id));
      const answer = await this.o.connector.operations(e.address).startContainer(id);
      // Running, or started since (a short-lived container may have exited already), or gone.
      const seen = await this.settle(e, id, (c) => c === undefined || c.state === 'running' || c.state === 'restarting' || c.state === 'paused' || startedAt(c) > before);
      return { ...answer, unsettled: !seen };
    });
  }

  stop(reference: string, timeoutSeconds: number | undefined) {
    return this.on(reference, async (e, id) => {
      const answer = await this.o.connector.operations(e.address).stopContainer(id, timeoutSeconds);
      const seen = await this.settle(e, id, (c) => c?.state !== 'running');
      return { ...answer, unsettled: !seen };
    });
  }

  kill(reference: string, signal: string) {
    return this.on(reference, async (e, id) => {
      await this.o.connector.operations(e.address).killContainer(id, signal);
      // Signals other than KILL may leave the container running on purpose.
      if (signal && !/^(SIG)?KILL$|^9$/i.test(signal)) return { unsettled: false };
      return { unsettled: !(await this.settle(e, id, (c) => c?.state !== 'running')) };
    });
  }

  remove(reference: string, force: boolean, volumes: boolean) {
    return this.on(reference, async (e, id) => {
      await this.o.connector.operations(e.address).removeContainer(id, force, volumes);
      return { unsettled: !(await this.settle(e, id, (c) => c === undefined)) };
    });
  }

  /** The container, Docker's inspect document (empty when its engine is not healthy) and its engine as classic Swarm's `Node`. */
  async inspect(reference: string): Promise<{ container: ClusterContainer; rawJson: string; node: ClusterNode }> {
    const { engine, container } = this.find(reference);
    if (engine.status !== 'healthy') return { container: this.clusterContainer(engine, container), rawJson: '', node: nodeOf(engine) };
    const answer = await this.o.connector.operations(engine.address).inspectContainer(container.id);
    return { container: this.clusterContainer(engine, answer.container ?? container), rawJson: answer.rawJson, node: nodeOf(engine) };
  }

  logs(request: Omit<ContainerLogsRequest, 'id'> & { container: string }, signal: AbortSignal): AsyncIterable<ContainerLogsResponse> {
    const { container, agent } = this.onHealthyEngine(request.container);
    const { container: _ref, ...rest } = request;
    return agent.containerLogs({ ...rest, id: container.id }, signal);
  }

  /** The container as the cluster shows it, with its placement read from its labels (also of containers made before a restart). */
  clusterContainer(engine: Engine, container: Container): ClusterContainer {
    const labels = container.labels ?? {};
    return {
      // As classic Swarm showed it: on an engine that is down, the state is only the last one known.
      container: engine.status === 'unhealthy' ? { ...container, status: hostDownStatus } : container,
      engine: engineRef(engine),
      engineStatus: engineStatusOf(engine.status),
      constraints: labelList(labels, constraintsLabel),
      affinities: labelList(labels, affinitiesLabel),
      reschedulePolicies: labelList(labels, reschedulePoliciesLabel),
    };
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
        if (!labelsMatch(c.labels, labels)) continue;
        if (filter.names.length && !filter.names.some((n) => c.names.some((cn) => cn.includes(n)))) continue;
        out.push(this.clusterContainer(engine, c));
      }
    }
    return out;
  }

  /** Pulls an image on engines (every healthy one by default), each reporting its progress. */
  async *pull(image: string, engineRefs: string[], signal: AbortSignal, auth?: RegistryAuth): AsyncGenerator<{ engine: EngineRef; progress?: PullProgress; done: boolean; error: string }> {
    if (!image.trim()) throw InvalidArgumentError.field('image', image, 'an image is required');
    const engines = engineRefs.length ? engineRefs.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`)) : [...this.o.cluster.all()].filter((e) => e.status === 'healthy');
    // Every engine pulls at once; their progress lines are merged as they come.
    type Item = { engine: EngineRef; progress?: PullProgress; done: boolean; error: string };
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
          for await (const progress of this.o.connector.operations(engine.address).pullImage(image, signal, auth)) push({ engine: engineRef(engine), progress, done: false, error: '' });
          push({ engine: engineRef(engine), done: true, error: '' });
        } catch (err) {
          push({ engine: engineRef(engine), done: true, error: err instanceof FlotillaError || err instanceof Error ? err.message : String(err) });
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
