import { CancelledError, ResourceExhaustedError } from '@flotilla/errors';
import { EventHub, type Subscription } from './event-hub';

/** Everything already queued, without waiting for more. */
async function drain<E>(s: Subscription<E>): Promise<E[]> {
  const out: E[] = [];
  while (s.queued > 0) {
    const r = await s.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('EventHub', () => {
  it('gives a reader that waits every event in order', async () => {
    const hub = new EventHub<number>(4);
    const s = hub.subscribe();
    const got: number[] = [];
    const reader = (async () => {
      for await (const n of s) {
        got.push(n);
        if (n === 99) break;
      }
    })();
    for (let i = 0; i < 100; i++) {
      hub.publish(i);
      // Let the reader take it, so it is waiting again before the next one.
      await Promise.resolve();
      await Promise.resolve();
    }
    await reader;
    expect(got).toEqual([...Array(100).keys()]);
    // Leaving the loop closed the subscription.
    expect(hub.subscriberCount).toBe(0);
  });

  it('queues up to maxQueued for a reader that comes back later, in order', async () => {
    const hub = new EventHub<number>(5000);
    const s = hub.subscribe();
    for (let i = 0; i < 5000; i++) hub.publish(i);
    expect(s.queued).toBe(5000);
    const got = await drain(s);
    expect(got).toEqual([...Array(5000).keys()]);
    hub.publish(5000);
    expect(await s.next()).toEqual({ value: 5000, done: false });
  });

  it('keeps order across reads and writes interleaved past the queue compaction point', async () => {
    const hub = new EventHub<number>(3000);
    const s = hub.subscribe();
    const got: number[] = [];
    let n = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 1500; i++) hub.publish(n++);
      for (let i = 0; i < 1400; i++) got.push((await s.next()).value as number);
    }
    got.push(...(await drain(s)));
    expect(got).toEqual([...Array(n).keys()]);
  });

  it('filters per subscriber', async () => {
    const hub = new EventHub<number>();
    const even = hub.subscribe((n) => n % 2 === 0);
    const all = hub.subscribe();
    for (let i = 0; i < 6; i++) hub.publish(i);
    expect(await drain(even)).toEqual([0, 2, 4]);
    expect(await drain(all)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('ends a subscriber that falls more than maxQueued behind with RESOURCE_EXHAUSTED, and only that one', async () => {
    const hub = new EventHub<number>(3);
    const slow = hub.subscribe();
    const fast = hub.subscribe(() => true, 100);
    const fastGot: number[] = [];
    const failed = jest.fn();
    void slow.failed.then(failed);
    for (let i = 0; i < 3; i++) hub.publish(i);
    expect(slow.queued).toBe(3);
    expect(hub.subscriberCount).toBe(2);
    hub.publish(3);
    const err = await slow.failed;
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toMatch(/fell 3 events behind/);
    expect(failed).toHaveBeenCalledTimes(1);
    expect(hub.subscriberCount).toBe(1);
    await expect(slow.next()).rejects.toBe(err);
    await expect(slow.next()).rejects.toBe(err);
    // Nothing more reaches it; the other one has everything.
    hub.publish(4);
    expect(slow.queued).toBe(0);
    fastGot.push(...(await drain(fast)));
    expect(fastGot).toEqual([0, 1, 2, 3, 4]);
  });

  it('a subscriber with a reader waiting never overflows, even with maxQueued 0', async () => {
    const hub = new EventHub<number>(0);
    const s = hub.subscribe();
    const pending = s.next();
    hub.publish(1);
    expect(await pending).toEqual({ value: 1, done: false });
    hub.publish(2);
    await expect(s.failed).resolves.toBeInstanceOf(ResourceExhaustedError);
  });

  it('closeAll with a reason fails every subscriber, waiting or not, with CANCELLED', async () => {
    const hub = new EventHub<number>();
    const waiting = hub.subscribe();
    const idle = hub.subscribe();
    hub.publish(1);
    await waiting.next();
    const next = waiting.next();
    hub.closeAll('shutting down');
    await expect(next).rejects.toBeInstanceOf(CancelledError);
    await expect(next).rejects.toThrow('shutting down');
    await expect(idle.next()).rejects.toBeInstanceOf(CancelledError);
    await expect(idle.failed).resolves.toBeInstanceOf(CancelledError);
    expect(hub.subscriberCount).toBe(0);
  });

  it('closeAll without a reason ends every subscriber cleanly', async () => {
    const hub = new EventHub<number>();
    const waiting = hub.subscribe();
    const idle = hub.subscribe();
    const next = waiting.next();
    hub.closeAll();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
    await expect(idle.next()).resolves.toEqual({ value: undefined, done: true });
    expect(hub.subscriberCount).toBe(0);
    hub.publish(1);
    expect(idle.queued).toBe(0);
  });

  it('return() unsubscribes; a closed or failed subscription ignores later closes and failures', async () => {
    const hub = new EventHub<number>();
    const s = hub.subscribe();
    expect(hub.subscriberCount).toBe(1);
    await expect(s.return()).resolves.toEqual({ value: undefined, done: true });
    expect(hub.subscriberCount).toBe(0);
    s.fail(new Error('late'));
    await expect(s.next()).resolves.toEqual({ value: undefined, done: true });

    const f = hub.subscribe(() => true, 0);
    hub.publish(1);
    const first = await f.failed;
    f.fail(new Error('second'));
    f.close();
    await expect(f.next()).rejects.toBe(first);
  });
});
