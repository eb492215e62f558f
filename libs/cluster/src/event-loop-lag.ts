/** The manager's event-loop lag over the last minute, in milliseconds. */
export interface EventLoopLagFigures {
  p99Ms: number;
  maxMs: number;
}

/**
 * How late the manager's own timer ran, over a sliding window: the heartbeat sweep adds how late
 * each of its runs was (one sample per sweep, on the cluster's clock, so tests drive it with a
 * fake one). A timer runs late exactly when the event loop was busy when it came due.
 */
export class LagWindow {
  private readonly samples: Array<{ at: number; lagMs: number }> = [];

  constructor(private readonly windowMs = 60_000) {}

  add(at: number, lagMs: number): void {
    this.samples.push({ at, lagMs });
    this.prune(at);
  }

  /** p99 (nearest rank) and max of the samples in the window; 0 when there are none. */
  figures(now: number): EventLoopLagFigures {
    this.prune(now);
    if (this.samples.length === 0) return { p99Ms: 0, maxMs: 0 };
    const sorted = this.samples.map((s) => s.lagMs).sort((a, b) => a - b);
    return { p99Ms: sorted[Math.ceil(0.99 * sorted.length) - 1], maxMs: sorted[sorted.length - 1] };
  }

  private prune(now: number): void {
    let old = 0;
    while (old < this.samples.length && this.samples[old].at <= now - this.windowMs) old++;
    if (old) this.samples.splice(0, old);
  }
}
