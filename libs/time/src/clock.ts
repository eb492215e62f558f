/** A timer that can be cancelled; cancelling twice or after it fired does nothing. */
export interface Timer {
  cancel(): void;
}

/** Time and timers, injected so domain code runs on fake time in tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    return { cancel: () => clearInterval(handle) };
  },
};

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

/** A clock that moves only when told to, for unit tests. */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms, Math.max(1, ms));
  }

  /** Timers that are still waiting. */
  get pending(): number {
    return this.queue.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward, firing due timers in order; awaits between them so promise chains settle. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      await flushPromises();
      const next = this.nextDue(until);
      if (!next) break;
      // A timer that came due during a stall fires late, at the current time.
      this.time = Math.max(this.time, next.at);
      // An interval goes on from when it fired, as Node's do (no burst of missed runs).
      if (next.every !== undefined) next.at = this.time + next.every;
      else next.cancelled = true;
      this.queue = this.queue.filter((t) => !t.cancelled);
      next.fn();
    }
    this.time = until;
    await flushPromises();
  }

  /**
   * Moves time forward without running any timer, as a blocked event loop does: the timers that
   * came due run on the next `advance`, late and once each.
   */
  stall(ms: number): void {
    this.time += Math.max(0, ms);
  }

  private nextDue(until: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const t of this.queue) {
      if (t.cancelled || t.at > until) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private schedule(fn: () => void, ms: number, every?: number): Timer {
    const entry: Scheduled = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.queue.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }
}

/** Lets pending promise callbacks run. */
export async function flushPromises(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
