import type { Logger } from '@flotilla/grpc';
import type { Snapshot, WatchResponse } from '@flotilla/proto/agent';
import { backoffDelay, type BackoffOptions, type Clock, type Timer } from '@flotilla/time';
import type { AgentConnector, AgentStream } from './agent-connector';
import { engineInfoProblem } from './agent-input';
import { loggedProblems } from './cluster-options';
import type { Engine, EngineConnection } from './engine';
import { SnapshotAssembly, type SnapshotLimits } from './snapshot-assembly';

/** What every engine's stream runs by; one for the whole cluster. */
export interface EngineStreamOptions {
  connector: AgentConnector;
  clock: Clock;
  logger: Logger;
  /** Back-off between reconnects to an unhealthy engine. */
  reconnect: BackoffOptions;
  /** Back-off between validation attempts of a pending engine. */
  pendingRetry: BackoffOptions;
  snapshotLimits: SnapshotLimits;
  random?: () => number;
}

/**
 * What an engine's stream tells the cluster that holds the engine. Membership (which engine holds
 * which ID, the label index, the pending engines) stays the cluster's; the stream decides when.
 */
export interface EngineStreamHost {
  /** The validated engine that holds this engine ID. */
  holderOf(id: string): Engine | undefined;
  /** Another Docker engine answers at the engine's address: its old ID no longer finds it. */
  releaseId(engine: Engine): void;
  /** The engine's snapshot is applied: it is validated, by its ID and its labels. */
  admit(engine: Engine): void;
  /** A validated engine failed validation: it is pending again. */
  demote(engine: Engine): void;
  /** Tells subscribers of a step in the engine's lifecycle (connect, reconnect, disconnect, error). */
  announce(engine: Engine, action: string, error?: string): void;
  /** The stream was closed and reopened for a fresh snapshot. */
  resynced(): void;
  /** The heartbeat interval to ask of the agent when a stream opens (ms); undefined: the agent's own. */
  heartbeatIntervalToAsk(): number | undefined;
}

type Message = NonNullable<WatchResponse['message']>;

/**
 * One engine's connection to its agent and the lifecycle it drives, as classic Swarm's engine
 * refresh loop did: open the Watch stream, validate the engine by its snapshot, apply deltas in
 * sequence, hear its heartbeats, and on a break mark it unhealthy (or keep it pending) and reopen
 * with back-off. Each open starts a session; anything a stale session hears is ignored, so
 * removal and reconnects interleave safely with late messages.
 */
export class EngineStream implements EngineConnection {
  private current: AgentStream | undefined;
  private parts: SnapshotAssembly | undefined;
  private session = 0;
  private lastSequence = 0;
  private lastHeardAt = 0;
  private agentIntervalMs: number | undefined;
  private attempt = 0;
  private lastResyncAt = -Infinity;
  private retry: Timer | undefined;
  /** Watches the agent's address while a retry waits; aborted when the stream opens or closes. */
  private probe: AbortController | undefined;
  private gone = false;

  constructor(
    readonly engine: Engine,
    private readonly o: EngineStreamOptions,
    private readonly host: EngineStreamHost,
  ) {
    engine.attachConnection(this);
  }

  // ---- what the engine shows of it (EngineConnection) ----

  get stream(): AgentStream | undefined {
    return this.current;
  }

  get assembly(): EngineConnection['assembly'] {
    return this.parts;
  }

  get lastMessageAt(): number {
    return this.lastHeardAt;
  }

  get retrying(): boolean {
    return this.retry !== undefined;
  }

  get removed(): boolean {
    return this.gone;
  }

  get heartbeatIntervalMs(): number | undefined {
    return this.agentIntervalMs;
  }

  // ---- what the cluster does with it ----

  /** Opens a new stream (its first message is a snapshot), in place of any current one. */
  open(): void {
    const engine = this.engine;
    this.current?.close();
    this.cancelRetry();
    const session = ++this.session;
    this.lastSequence = 0;
    this.parts = undefined;
    this.lastHeardAt = this.o.clock.now();
    const heartbeatIntervalMs = this.host.heartbeatIntervalToAsk();
    // The agent heartbeats at the longer of this and its own interval: until its first heartbeat
    // says which, its silence is judged by the longest it may be.
    if (heartbeatIntervalMs !== undefined) this.agentIntervalMs = Math.max(heartbeatIntervalMs, this.agentIntervalMs ?? 0);
    const end = (err: Error | undefined) => {
      if (this.session === session && !this.gone) {
        this.current = undefined;
        this.fail(err?.message ?? 'the agent ended its Watch stream');
      }
    };
    let stream: AgentStream;
    try {
      stream = this.o.connector.watch(
        engine.address,
        {
          message: (m) => {
            if (this.session === session && !this.gone) this.onMessage(m);
          },
          end,
        },
        { heartbeatIntervalMs },
      );
    } catch (err) {
      // E.g. TLS files that cannot be read: a failed attempt like any other, retried with back-off.
      end(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    // A connector may answer inside watch() itself (a refused connection, a rejected snapshot):
    // if that already ended this session, the stream is not the engine's current one.
    if (this.session === session) this.current = stream;
    else stream.close();
  }

  /** Closes the stream and cancels any retry; the engine stays as it is. */
  close(): void {
    this.session++;
    this.parts = undefined;
    this.current?.close();
    this.current = undefined;
    this.cancelRetry();
  }

  /**
   * A sign that the agent is back (discovery listed its address again, or its address accepts
   * connections): a waiting retry runs now, and the back-off starts over. Without one the
   * reconnect back-off, grown to its cap while the agent was down, delays the engine's return.
   */
  retryNow(why: string): void {
    if (!this.retry || this.gone) return;
    this.o.logger.debug('retrying an engine now', { address: this.engine.address, why });
    this.attempt = 0;
    this.open();
  }

  /** The engine left the cluster: its stream closes for good and it is disconnected. */
  remove(): void {
    this.close();
    this.gone = true;
    this.engine.status = 'disconnected';
    this.engine.updatedAt = this.o.clock.now();
  }

  /** The stream broke or went silent: the engine is unhealthy (or stays pending), and is retried. */
  fail(reason: string): void {
    const engine = this.engine;
    this.close();
    engine.failureCount++;
    if (engine.status === 'healthy') this.markUnhealthy(reason);
    else engine.lastError = reason;
    engine.updatedAt = this.o.clock.now();
    this.scheduleRetry(engine.status === 'pending' ? this.o.pendingRetry : this.o.reconnect);
  }

  // ---- what the agent sends ----

  /** Handles one message of the stream. Nothing an agent sends may throw out of here. */
  private onMessage(response: WatchResponse): void {
    try {
      this.handleMessage(response);
    } catch (err) {
      // A bug, not the agent's doing (its input is checked): a fresh stream and snapshot put the
      // engine's state right again.
      this.o.logger.error('failed to handle a message from an agent; resyncing', { address: this.engine.address, error: err });
      if (!this.gone) this.resync();
    }
  }

  private handleMessage(response: WatchResponse): void {
    const engine = this.engine;
    const now = this.o.clock.now();
    this.lastHeardAt = now;
    engine.updatedAt = now;
    const sequence = Number(response.sequence);
    if (sequence !== this.lastSequence + 1) {
      // A message was lost: a new stream starts with a fresh snapshot.
      this.o.logger.warn('sequence gap on an engine stream; resyncing', { address: engine.address, expected: this.lastSequence + 1, got: sequence });
      this.resync();
      return;
    }
    this.lastSequence = sequence;
    const message: Message | undefined = response.message;
    const assembly = this.parts;
    if (assembly) {
      // Nothing comes between a snapshot's parts (see Snapshot in engine_agent.proto).
      if (message?.$case !== 'snapshotPart') return this.protocolError(`a ${message?.$case ?? 'empty'} message came between the parts of a snapshot`);
      return this.addSnapshotPart(assembly, message.value, message.value.more === true);
    }
    if (!message) return;
    switch (message.$case) {
      case 'snapshot': {
        // Every snapshot, in one message or many, is taken through an assembly and its limits.
        const started = new SnapshotAssembly(message.value, this.o.snapshotLimits);
        this.parts = started;
        return this.addSnapshotPart(started, message.value, message.value.more === true);
      }
      case 'snapshotPart':
        return this.protocolError('a snapshot part came without a snapshot before it');
      case 'heartbeat': {
        const interval = message.value.intervalMs;
        if (!interval) this.agentIntervalMs = undefined;
        // An interval no agent would use would make the engine never (or always) look silent.
        else if (Number.isInteger(interval) && interval > 0 && interval <= 3_600_000) this.agentIntervalMs = interval;
        else this.o.logger.warn('ignoring an absurd heartbeat interval', { address: engine.address, intervalMs: interval });
        return;
      }
      case 'state':
        if (!message.value.reachable) this.onDockerUnreachable(typeof message.value.error === 'string' ? message.value.error.slice(0, 4096) : '');
        return;
      default: {
        if (engine.status === 'pending') return;
        const problem = engine.applyDelta(message);
        if (problem) this.o.logger.warn('skipping a malformed delta from an agent', { address: engine.address, id: engine.id, problem });
      }
    }
  }

  /** Adds a snapshot's head or a part; applies the snapshot after its last part. */
  private addSnapshotPart(assembly: SnapshotAssembly, part: Parameters<SnapshotAssembly['add']>[0], more: boolean): void {
    const refused = assembly.add(part);
    if (refused) {
      // Past a limit the engine fails validation: nothing more of it is held.
      this.parts = undefined;
      return this.reject(refused);
    }
    if (more) return;
    this.parts = undefined;
    if (assembly.parts > 1) this.o.logger.debug('snapshot assembled', { address: this.engine.address, parts: assembly.parts, containers: assembly.containerCount });
    this.onSnapshot(assembly.snapshot());
  }

  /** The agent broke the stream's rules: log it and start over with a fresh stream and snapshot. */
  private protocolError(problem: string): void {
    this.o.logger.warn('protocol error on an engine stream; resyncing', { address: this.engine.address, id: this.engine.id, problem });
    this.resync();
  }

  /**
   * Reopens the stream, whose first message is a fresh snapshot. Not a failure of the engine:
   * reopen at once, and back off only when resyncs repeat.
   */
  private resync(): void {
    const now = this.o.clock.now();
    const repeated = now - this.lastResyncAt < 1000;
    this.lastResyncAt = now;
    this.host.resynced();
    this.close();
    if (repeated) this.scheduleRetry(this.o.reconnect);
    else this.open();
  }

  private onDockerUnreachable(error: string): void {
    const reason = `Docker engine unreachable: ${error}`;
    if (this.engine.status === 'healthy') this.markUnhealthy(reason);
    else {
      this.engine.lastError = reason;
    }
  }

  // ---- the engine's lifecycle ----

  /** A whole snapshot: the engine is validated (or refused) by it, and takes its state. */
  private onSnapshot(snapshot: Snapshot): void {
    const engine = this.engine;
    const info = snapshot.engine;
    const problem = engineInfoProblem(info);
    if (problem) return this.reject(problem);
    const id = info!.id;
    const holder = this.host.holderOf(id);
    if (holder && holder !== engine) {
      return this.reject(`ID duplicated: ${id} shared by ${holder.address} and ${engine.address}`);
    }
    if (engine.status !== 'pending' && engine.id && engine.id !== id) {
      // Another Docker engine now answers at this address: re-key it.
      this.host.releaseId(engine);
    }
    const skipped = engine.applySnapshot(snapshot);
    if (skipped.length) {
      this.o.logger.warn('skipped malformed items in a snapshot', { address: engine.address, id, skipped: skipped.length, first: skipped.slice(0, loggedProblems) });
    }
    const was = engine.status;
    this.host.admit(engine);
    engine.status = 'healthy';
    engine.failureCount = 0;
    this.attempt = 0;
    engine.lastError = '';
    if (was === 'pending') {
      this.o.logger.info('engine connected', { address: engine.address, id, name: engine.name, containers: engine.containers.size });
      this.host.announce(engine, 'connect');
    } else if (was === 'unhealthy') {
      this.o.logger.info('engine reconnected', { address: engine.address, id });
      this.host.announce(engine, 'reconnect');
    }
  }

  /** Validation failed: the engine stays (or goes back to) pending and is retried later. */
  private reject(reason: string): void {
    const engine = this.engine;
    this.o.logger.warn('engine not validated', { address: engine.address, error: reason });
    this.close();
    if (engine.status !== 'pending') {
      this.host.demote(engine);
      engine.status = 'pending';
    }
    engine.failureCount++;
    engine.lastError = reason;
    engine.updatedAt = this.o.clock.now();
    this.host.announce(engine, 'error', reason);
    this.scheduleRetry(this.o.pendingRetry);
  }

  private markUnhealthy(reason: string): void {
    const engine = this.engine;
    engine.status = 'unhealthy';
    engine.lastError = reason;
    engine.updatedAt = this.o.clock.now();
    engine.flaps.push(engine.updatedAt);
    this.o.logger.warn('engine unhealthy', { address: engine.address, id: engine.id, error: reason });
    this.host.announce(engine, 'disconnect', reason);
  }

  private scheduleRetry(backoff: BackoffOptions): void {
    this.cancelRetry();
    const delay = backoffDelay(this.attempt++, backoff, this.o.random);
    this.retry = this.o.clock.setTimeout(() => {
      this.retry = undefined;
      if (!this.gone) this.open();
    }, delay);
    const probe = new AbortController();
    this.probe = probe;
    this.o.connector.backAgain?.(this.engine.address, probe.signal).then(
      () => {
        if (this.probe === probe && !probe.signal.aborted) this.retryNow('its address accepts connections again');
      },
      () => undefined,
    );
  }

  private cancelRetry(): void {
    this.retry?.cancel();
    this.retry = undefined;
    this.probe?.abort();
    this.probe = undefined;
  }
}
