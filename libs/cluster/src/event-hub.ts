import { CancelledError, ResourceExhaustedError } from '@flotilla/errors';

/**
 * Events a subscriber may fall behind by default (--max-queued-events). The cluster's own bursts
 * must fit: one discovery push that replaces every engine of a cluster at --max-engines (20,000)
 * publishes a `removed` and a `pending` event per engine in one turn of the event loop, before any
 * reader can take one, and a reader that keeps up must not be cut off by it. A queued event is a
 * reference to the one event object every subscriber shares.
 */
export const defaultMaxQueuedEvents = 50_000;

/**
 * One subscriber's view of the cluster's events: a bounded queue read as an async iterator. A
 * subscriber that falls more than `maxQueued` events behind is ended with RESOURCE_EXHAUSTED, so a
 * slow reader never slows the cluster or the other subscribers.
 */
export class Subscription<E> implements AsyncIterableIterator<E> {
  private readonly queue: E[] = [];
  private head = 0;
  private waiter: ((result: IteratorResult<E>) => void) | undefined;
  private failWaiter: ((err: Error) => void) | undefined;
  private error: Error | undefined;
  private closed = false;
  private readonly failedSignal: Promise<Error>;
  private signalFailure!: (err: Error) => void;

  constructor(
    readonly matches: (event: E) => boolean,
    private readonly maxQueued: number,
    private readonly onClose: (s: Subscription<E>) => void,
  ) {
    this.failedSignal = new Promise((resolve) => (this.signalFailure = resolve));
  }

  /** Resolves with the error when the subscription fails (e.g. overflow), for callers that are busy elsewhere. */
  get failed(): Promise<Error> {
    return this.failedSignal;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  push(event: E): void {
    if (this.closed) return;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = this.failWaiter = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.queued >= this.maxQueued) {
      this.fail(new ResourceExhaustedError(`event subscriber fell ${this.queued} events behind; it was dropped so the cluster is not slowed`));
      return;
    }
    this.queue.push(event);
  }

  fail(error: Error): void {
    if (this.closed) return;
    this.error = error;
    this.finish();
    this.signalFailure(error);
    this.failWaiter?.(error);
    this.waiter = this.failWaiter = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.finish();
    this.waiter?.({ value: undefined, done: true });
    this.waiter = this.failWaiter = undefined;
  }

  private finish(): void {
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.onClose(this);
  }

  next(): Promise<IteratorResult<E>> {
    if (this.error) return Promise.reject(this.error);
    if (this.queued > 0) {
      const value = this.queue[this.head++];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  return(): Promise<IteratorResult<E>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Fans events out to subscribers, each with its own filter and queue. */
export class EventHub<E> {
  private readonly subscribers = new Set<Subscription<E>>();

  constructor(private readonly defaultMaxQueued = defaultMaxQueuedEvents) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  subscribe(matches: (event: E) => boolean = () => true, maxQueued = this.defaultMaxQueued): Subscription<E> {
    const s = new Subscription<E>(matches, maxQueued, (done) => this.subscribers.delete(done));
    this.subscribers.add(s);
    return s;
  }

  publish(event: E): void {
    for (const s of this.subscribers) if (s.matches(event)) s.push(event);
  }

  /** Ends every subscription, e.g. at shutdown. */
  closeAll(reason?: string): void {
    for (const s of [...this.subscribers]) {
      if (reason) s.fail(new CancelledError(reason));
      else s.close();
    }
  }
}
