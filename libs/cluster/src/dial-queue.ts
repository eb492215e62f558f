import type { Clock, Timer } from '@flotilla/time';
import { nextTickMs } from './cluster-options';
import type { EngineStream } from './engine-stream';

/**
 * Engines a discovery push added, waiting for their first stream, in push order. It opens up to
 * `dialsPerTick` of them, then yields to the event loop (a timer for the next tick) before the
 * next batch, so heartbeats, snapshots and calls are served between batches: one dial costs about
 * a millisecond of CPU.
 */
export class DialQueue {
  private readonly waiting = new Set<EngineStream>();
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly dialsPerTick: number,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  add(stream: EngineStream): void {
    this.waiting.add(stream);
    this.timer ??= this.clock.setTimeout(() => this.dialBatch(), nextTickMs);
  }

  /** The engine left before its turn. */
  delete(stream: EngineStream): void {
    this.waiting.delete(stream);
  }

  /** Forgets every waiting engine and the next batch. */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.waiting.clear();
  }

  private dialBatch(): void {
    this.timer = undefined;
    let opened = 0;
    for (const stream of this.waiting) {
      if (opened++ >= this.dialsPerTick) break;
      this.waiting.delete(stream);
      if (!stream.removed) stream.open();
    }
    if (this.waiting.size) this.timer = this.clock.setTimeout(() => this.dialBatch(), nextTickMs);
  }
}
