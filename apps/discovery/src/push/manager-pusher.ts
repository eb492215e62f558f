import { call, type Logger } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import type { ClusterServiceClient, SyncEnginesResponse } from '@flotilla/proto/cluster';
import { backoffDelay, type BackoffOptions, type Clock, type Timer } from '@flotilla/time';
import { connectivityState, status as grpcStatus } from '@grpc/grpc-js';
import { readAnswer } from './push-answer';

/** What is pushed: the whole set of one source, with its generation. */
export interface PushPayload {
  source: string;
  generation: bigint;
  addresses: string[];
}

/** How pushes to one manager went, as DiscoveryState.managers shows it. */
export interface PushStatus {
  address: string;
  /** The generation the manager holds for the source after the last push; 0n before the first. */
  generation: bigint;
  pushedAt: Date | undefined;
  lastError: string;
}

export interface ManagerPusherOptions {
  address: string;
  client: ClusterServiceClient;
  /** The set to push now; undefined until the source was read once. */
  current: () => PushPayload | undefined;
  clock: Clock;
  logger: Logger;
  retry: BackoffOptions;
  pushIntervalMs: number;
  pushTimeoutMs: number;
  /** The status changed (for WatchEntries). */
  onStatus: () => void;
  /** The manager holds a newer generation for our source than ours (an earlier run's). */
  onNewerGeneration: (held: bigint) => void;
  random?: () => number;
}

/**
 * Pushes the source's whole set to one cluster-manager and keeps it there:
 * - on every change of the set;
 * - after a broken connection or a manager restart, as soon as the channel is ready again (the
 *   channel reconnects with back-off between retry.initialMs and retry.maxMs meanwhile);
 * - after a failed push, with back-off;
 * - every pushIntervalMs, as a safety net (the manager answers "unchanged").
 * Pushes to one manager never overlap: a change during a push leads to one more push after it.
 */
export class ManagerPusher {
  readonly address: string;
  private readonly o: ManagerPusherOptions;
  private readonly random: () => number;
  private status: PushStatus;
  /** A push is due: the set changed, the connection came back, or the last push failed. */
  private due = true;
  private inFlight = false;
  private failures = 0;
  private timer: Timer | undefined;
  private backingOff = false;
  private wasReady = false;
  private lostConnection = false;
  private closed = false;
  /** Newer generations followed since the manager last simply took our push (see readAnswer). */
  private follows = 0;

  constructor(options: ManagerPusherOptions) {
    this.o = options;
    this.address = options.address;
    this.random = options.random ?? Math.random;
    this.status = { address: options.address, generation: 0n, pushedAt: undefined, lastError: '' };
  }

  get pushStatus(): PushStatus {
    return { ...this.status };
  }

  start(): void {
    this.watchChannel();
    this.run();
  }

  /** The set changed: push it (now, unless the manager is away and a retry is already waiting). */
  changed(): void {
    this.due = true;
    if (!this.backingOff) this.run();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.o.client.close();
  }

  /**
   * Follows the channel's state: leaving READY means the connection broke (or the manager went
   * away), so a push is due once it is back; READY again means it is back, so push at once
   * rather than waiting out a back-off. While not ready the channel is asked to keep connecting.
   */
  private watchChannel(): void {
    if (this.closed) return;
    const channel = this.o.client.getChannel();
    let state: connectivityState;
    try {
      state = channel.getConnectivityState(false);
    } catch {
      return;
    }
    if (state === connectivityState.SHUTDOWN) return;
    if (state === connectivityState.READY) {
      if (this.lostConnection) {
        this.lostConnection = false;
        this.o.logger.info('manager reachable again; pushing the set', { manager: this.address });
        this.due = true;
        this.timer?.cancel();
        this.backingOff = false;
        this.run();
      }
      this.wasReady = true;
    } else {
      if (this.wasReady) {
        this.wasReady = false;
        this.lostConnection = true;
        this.due = true;
        this.o.logger.warn('connection to the manager lost; pushing again once it is back', { manager: this.address, state: connectivityState[state] });
      }
      // An idle channel does not reconnect by itself; a manager that is back must be seen.
      if (state === connectivityState.IDLE && this.lostConnection) channel.getConnectivityState(true);
    }
    try {
      channel.watchConnectivityState(state, Infinity, () => this.watchChannel());
    } catch {
      // The channel was closed.
    }
  }

  private schedule(ms: number, backingOff: boolean): void {
    this.timer?.cancel();
    this.backingOff = backingOff;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.backingOff = false;
      if (!backingOff) this.due = true;
      this.run();
    }, ms);
  }

  private run(): void {
    if (this.closed || this.inFlight || !this.due) return;
    const payload = this.o.current();
    if (!payload) return;
    this.due = false;
    this.inFlight = true;
    void this.push(payload).finally(() => {
      this.inFlight = false;
      if (this.due && !this.backingOff) this.run();
    });
  }

  private async push(payload: PushPayload): Promise<void> {
    const { client } = this.o;
    let res: SyncEnginesResponse;
    try {
      res = await call(client, client.syncEngines, { source: payload.source, generation: payload.generation.toString(), addresses: payload.addresses }, { deadlineMs: this.o.pushTimeoutMs });
    } catch (err) {
      if (!this.closed) this.failed(describeFailure(err));
      return;
    }
    if (this.closed) return;
    // Whatever the manager answers, discovery goes on: an answer it cannot use is a failed push.
    const answer = readAnswer(res, payload.generation, this.o.clock.now(), this.follows);
    if (answer.kind === 'unexpected') {
      this.failed(answer.problem);
      return;
    }
    const held = answer.held;
    if (this.failures > 0 || this.status.lastError) this.o.logger.info('push to the manager went through again', { manager: this.address, failures: this.failures });
    this.failures = 0;
    this.status = { address: this.address, generation: held, pushedAt: new Date(this.o.clock.now()), lastError: '' };
    if (res.added.length > 0 || res.removed.length > 0) {
      this.o.logger.info('manager applied the set', { manager: this.address, generation: held, added: res.added, removed: res.removed });
    } else {
      this.o.logger.debug('manager has the set', { manager: this.address, generation: held, unchanged: res.unchanged });
    }
    this.schedule(this.o.pushIntervalMs, false);
    this.o.onStatus();
    if (answer.kind === 'newer') {
      this.follows++;
      this.o.logger.warn('the manager holds a newer generation for this source (an earlier run with a clock ahead); moving past it', { manager: this.address, held, ours: payload.generation });
      this.o.onNewerGeneration(held);
    } else {
      this.follows = 0;
    }
  }

  /** A push that did not go through, or an answer discovery cannot use: shown, logged, retried with back-off. */
  private failed(message: string): void {
    const delay = backoffDelay(this.failures, this.o.retry, this.random);
    const fields = { manager: this.address, error: message, retryInMs: delay, failures: this.failures + 1 };
    // Warn on the first failure and whenever the reason changes; repeats of one reason are debug.
    if (this.failures === 0 || message !== this.status.lastError) this.o.logger.warn('push to the manager failed; retrying', fields);
    else this.o.logger.debug('push to the manager failed; retrying', fields);
    this.failures++;
    this.due = true;
    this.status = { ...this.status, lastError: message };
    this.schedule(delay, true);
    this.o.onStatus();
  }
}

/** A failed call as ListEntries shows it: the status's name, then the manager's message. */
function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof FlotillaError) return `${grpcStatus[err.code] ?? err.code}: ${message}`;
  return message;
}
