import type { ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { FlotillaError } from '@flotilla/errors';
import { fromServiceError, isServiceError } from '@flotilla/grpc';
import { withFailover, type TryPlan } from './failover';
import { cancelledByCaller, connectionLost, failureKind } from './failures';
import type { ManagerChannel, ManagerPool } from './managers';
import type { ResolvedOptions } from './options';

/** Messages read ahead of the consumer before the stream is paused (HTTP/2 flow control then holds the manager back). */
const highWater = 64;
const lowWater = 16;

export type OpenStream<T> = (channel: ManagerChannel, metadata: Metadata, deadline: number | undefined) => ClientReadableStream<T>;

/**
 * A server stream of the cluster API: an async iterable of its messages (one consumer), opened
 * at once when made.
 *
 * Opening fails over like a call: a manager that cannot be reached, or whose connection breaks
 * before the stream has answered, is followed by the next. Once open (the manager sent the
 * response headers or a message), the stream is never resumed by itself: WatchEvents has no
 * replay and no resume token, and ContainerLogs would repeat or lose lines, so only the caller
 * knows how to go on (re-list and watch again; logs `since` the last line). A broken stream fails
 * the iteration with its error (UnavailableError with reason MANAGER_CONNECTION_LOST when the
 * connection broke).
 *
 * Leaving the loop early, `cancel()`, the call's signal or the client's close() cancel it on the
 * manager too; cancel() and the signal make the iteration fail with CancelledError.
 */
export class ServerStream<T> implements AsyncIterable<T> {
  /**
   * Resolves once the manager answered the stream: for WatchEvents, once the subscription is
   * live, so events after it are not missed (list first, then apply what the stream brings).
   * Rejects with the error opening failed with (the iteration throws it too).
   */
  readonly opened: Promise<void>;
  private call: ClientReadableStream<T> | undefined;
  private readonly queue: T[] = [];
  private done = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private readonly stop = new AbortController();
  private consumed = false;
  private finished = false;
  /** The caller's signal joined with `stop`, and its listener, removed when the stream finishes. */
  private readonly signal: AbortSignal;
  private readonly onAbort = (): void => this.cancelNow();

  constructor(
    pool: ManagerPool,
    options: ResolvedOptions,
    plan: Omit<TryPlan, 'signal'> & { signal: AbortSignal | undefined },
    private readonly metadata: () => Metadata,
    open: OpenStream<T>,
    private readonly onFinish: (stream: ServerStream<T>) => void,
  ) {
    const signal = plan.signal ? AbortSignal.any([plan.signal, this.stop.signal]) : this.stop.signal;
    this.signal = signal;
    signal.addEventListener('abort', this.onAbort, { once: true });
    this.opened = withFailover(pool, options, { ...plan, signal, idempotent: true }, (channel) => this.attempt(channel, open, plan.deadline));
    this.opened.catch((err: unknown) => this.end(err));
  }

  /** Cancels the stream on the manager; the iteration then fails with CancelledError. */
  cancel(): void {
    this.stop.abort();
  }

  private cancelNow(): void {
    if (this.call) this.call.cancel();
    else this.end(cancelledByCaller());
  }

  /** One try: resolves once the stream answered (headers, a message or its end), rejects with its error before that. */
  private attempt(channel: ManagerChannel, open: OpenStream<T>, deadline: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let answered = false;
      const call = open(channel, this.metadata(), deadline);
      this.call = call;
      const answer = () => {
        if (!answered) {
          answered = true;
          resolve();
        }
      };
      call.on('metadata', answer);
      call.on('data', (message: T) => {
        answer();
        this.queue.push(message);
        if (this.queue.length >= highWater) call.pause();
        this.notify();
      });
      call.on('end', () => {
        answer();
        this.end(undefined);
      });
      call.on('error', (err: unknown) => {
        const error = isServiceError(err) ? fromServiceError(err) : err;
        if (!answered) {
          answered = true;
          this.call = undefined;
          // Cancelled by the caller: do not try another manager.
          if (this.stop.signal.aborted && error instanceof FlotillaError) return reject(cancelledByCaller());
          return reject(error);
        }
        // Messages the stream still holds (paused) come before the error.
        for (let message = call.read() as T | null; message !== null; message = call.read() as T | null) this.queue.push(message);
        this.end(failureKind(error) === 'lost' && error instanceof FlotillaError ? connectionLost(error, channel.address) : error);
      });
      if (this.stop.signal.aborted) call.cancel();
    });
  }

  private end(failure: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = failure;
    this.notify();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    // A joined signal with a listener lives as long as the caller's: a long-lived caller signal
    // would otherwise keep every finished stream, its queue and its call.
    this.signal.removeEventListener('abort', this.onAbort);
    this.onFinish(this);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    if (this.consumed) throw new Error('a ServerStream is read once');
    this.consumed = true;
    try {
      await this.opened;
      for (;;) {
        if (this.queue.length > 0) {
          const message = this.queue.shift() as T;
          if (this.queue.length <= lowWater && this.call?.isPaused()) this.call.resume();
          yield message;
          continue;
        }
        if (this.done) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // Left early (break, return, a throw in the loop): cancel it on the manager.
      if (!this.done) {
        this.done = true;
        this.call?.cancel();
        this.stop.abort();
      }
      this.finish();
    }
  }
}
