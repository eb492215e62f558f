import type { Clock } from '@flotilla/time';
import type { Observation } from './engine';

/**
 * Bounded waits until an engine's stream shows a change the cluster asked its agent for
 * (read-your-writes): each answers true once the stream shows it, false after `timeoutMs` or once
 * `shutdown` has run, and the caller's answer then says `unsettled`.
 */
export class StreamWaits {
  private readonly pending = new Set<Observation>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  async wait(observation: Observation): Promise<boolean> {
    if (this.stopped) {
      observation.cancel();
      return observation.settled;
    }
    this.pending.add(observation);
    const timer = this.clock.setTimeout(() => observation.cancel(), this.timeoutMs);
    try {
      return await observation.settled;
    } finally {
      timer.cancel();
      this.pending.delete(observation);
    }
  }

  /** Ends every wait (false) and every later one at once. */
  shutdown(): void {
    this.stopped = true;
    for (const observation of [...this.pending]) observation.cancel();
  }
}
