import { backoffDelay, FakeClock } from './index';

describe('FakeClock', () => {
  it('fires timeouts in order and intervals repeatedly, and not after cancel', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    const tick = clock.setInterval(() => fired.push(`tick@${clock.now()}`), 15);
    const never = clock.setTimeout(() => fired.push('never'), 5);
    never.cancel();
    await clock.advance(31);
    expect(fired).toEqual(['a@10', 'tick@15', 'b@20', 'tick@30']);
    tick.cancel();
    await clock.advance(100);
    expect(fired).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });
});

describe('FakeClock.stall', () => {
  it('moves time without firing timers; what came due fires once, late, and an interval goes on from then', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setInterval(() => fired.push(`tick@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`once@${clock.now()}`), 150);
    clock.stall(1000);
    expect(fired).toEqual([]);
    expect(clock.now()).toBe(1000);
    await clock.advance(0);
    expect(fired).toEqual(['tick@1000', 'once@1000']);
    await clock.advance(100);
    expect(fired).toEqual(['tick@1000', 'once@1000', 'tick@1100']);
  });
});

describe('backoffDelay', () => {
  it('grows by the factor up to the limit, within the jitter', () => {
    const opts = { initialMs: 100, maxMs: 1000, jitter: 0.2 };
    expect(backoffDelay(0, opts, () => 0.5)).toBe(100);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(800);
    expect(backoffDelay(10, opts, () => 0.5)).toBe(1000);
    expect(backoffDelay(10, opts, () => 0)).toBe(800);
    expect(backoffDelay(10, opts, () => 1)).toBe(1200);
  });
});
