import { ResourceExhaustedError } from '@flotilla/errors';

/**
 * Per caller: how many streams it may hold open at once, and how fast it may call methods that
 * change the cluster (a token bucket). Bounded itself: it forgets idle callers first.
 */
export interface CallerLimitsOptions {
  /** Server streams one caller may hold open at once. */
  maxStreams: number;
  /** Sustained mutating calls per second per caller; 0 turns the rate limit off. */
  mutatingPerSecond: number;
  /** Mutating calls a caller may make in a burst. */
  mutatingBurst: number;
  /** Callers remembered at once; the idlest are forgotten past it. */
  maxCallers?: number;
  now?: () => number;
}

export const defaultCallerLimits: CallerLimitsOptions = { maxStreams: 256, mutatingPerSecond: 2000, mutatingBurst: 4000 };

interface CallerState {
  streams: number;
  tokens: number;
  refilledAt: number;
}

export class CallerLimits {
  private readonly callers = new Map<string, CallerState>();
  private readonly now: () => number;
  private readonly maxCallers: number;

  constructor(private readonly options: CallerLimitsOptions = defaultCallerLimits) {
    this.now = options.now ?? Date.now;
    this.maxCallers = options.maxCallers ?? 10_000;
  }

  private state(key: string): CallerState {
    let state = this.callers.get(key);
    if (state) {
      // Map order is recency order: move it to the back.
      this.callers.delete(key);
    } else {
      state = { streams: 0, tokens: this.options.mutatingBurst, refilledAt: this.now() };
      this.evict();
    }
    this.callers.set(key, state);
    return state;
  }

  private evict(): void {
    if (this.callers.size < this.maxCallers) return;
    for (const [key, state] of this.callers) {
      if (state.streams === 0) {
        this.callers.delete(key);
        if (this.callers.size < this.maxCallers) return;
      }
    }
  }

  /** Takes one mutating call from the caller's budget, or throws RESOURCE_EXHAUSTED. */
  takeMutating(key: string, method: string): void {
    if (this.options.mutatingPerSecond <= 0) return;
    const state = this.state(key);
    const now = this.now();
    state.tokens = Math.min(this.options.mutatingBurst, state.tokens + ((now - state.refilledAt) / 1000) * this.options.mutatingPerSecond);
    state.refilledAt = now;
    if (state.tokens < 1) {
      throw new ResourceExhaustedError(`${method}: rate limit: at most ${this.options.mutatingPerSecond} changing calls a second per caller (burst ${this.options.mutatingBurst}); retry later`);
    }
    state.tokens -= 1;
  }

  /** Counts a stream for the caller, or throws RESOURCE_EXHAUSTED; returns the release. */
  openStream(key: string, method: string): () => void {
    const state = this.state(key);
    if (state.streams >= this.options.maxStreams) {
      throw new ResourceExhaustedError(`${method}: at most ${this.options.maxStreams} open streams per caller; close some first`);
    }
    state.streams++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.streams--;
    };
  }

  get size(): number {
    return this.callers.size;
  }
}
