import type { Logger } from '@flotilla/grpc';
import type { Clock, Timer } from '@flotilla/time';
import type { EngineStream } from './engine-stream';
import { LagWindow, type EventLoopLagFigures } from './event-loop-lag';

export interface HeartbeatSweepOptions {
  clock: Clock;
  logger: Logger;
  /** Heartbeat intervals an engine may miss before it is unhealthy. */
  heartbeatTolerance: number;
  /** The interval assumed until an agent's first heartbeat says its own. */
  defaultHeartbeatIntervalMs: number;
  /** A sweep more than this late (ms past its time) means the manager itself stalled. */
  lateSweepMs: number;
}

/** The engines a sweep looks at. */
export interface SweptEngines {
  readonly size: number;
  allStreams(): Iterable<EngineStream>;
}

/**
 * Fails the stream of every engine whose agent has been silent for more heartbeat intervals than
 * tolerated. A sweep that runs late is the manager's own stall, not the agents': it blames no
 * engine and gives every one a fresh grace. How late each sweep ran is the manager's event-loop lag.
 */
export class HeartbeatSweep {
  private timer: Timer | undefined;
  private everyMs = 0;
  private lastRunAt = 0;
  /** Silence before this time is held against no engine: the manager itself had stalled. */
  private graceFrom = -Infinity;
  private late = 0;
  /** How late the sweep ran, over the last minute: the manager's event-loop lag. */
  private readonly lag = new LagWindow(60_000);

  constructor(
    private readonly o: HeartbeatSweepOptions,
    private readonly engines: SweptEngines,
  ) {}

  /** Starts sweeping, four times per default heartbeat interval (every 10 to 250 ms). */
  start(): void {
    if (this.timer) return;
    this.everyMs = Math.max(10, Math.min(250, Math.floor(this.o.defaultHeartbeatIntervalMs / 4)));
    this.lastRunAt = this.o.clock.now();
    this.timer = this.o.clock.setInterval(() => this.sweep(), this.everyMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Sweeps that ran late because the manager was stalled, since it started. */
  get lateSweeps(): number {
    return this.late;
  }

  /** The manager's event-loop lag over the last minute, as the sweep measured it. */
  eventLoopLag(now: number): EventLoopLagFigures {
    return this.lag.figures(now);
  }

  private sweep(): void {
    const now = this.o.clock.now();
    // How late this run is, is how long the manager's own event loop was held up.
    const lateBy = Math.max(0, now - this.lastRunAt - this.everyMs);
    this.lastRunAt = now;
    this.lag.add(now, lateBy);
    if (lateBy > this.o.lateSweepMs) {
      // The manager stalled, not the agents: timers run before sockets are read, so their
      // heartbeats may be sitting unread. Count every engine's silence afresh from now.
      this.graceFrom = now;
      this.late++;
      this.o.logger.warn('heartbeat sweep ran late: the manager was stalled; every engine gets a fresh grace', { lateByMs: lateBy, engines: this.engines.size, lateSweeps: this.late });
      return;
    }
    for (const stream of this.engines.allStreams()) {
      if (!stream.stream) continue;
      const interval = stream.heartbeatIntervalMs ?? this.o.defaultHeartbeatIntervalMs;
      const silentFor = now - Math.max(stream.lastMessageAt, this.graceFrom);
      if (silentFor > this.o.heartbeatTolerance * interval) {
        stream.fail(`no heartbeat from the agent for ${silentFor} ms (${this.o.heartbeatTolerance} intervals of ${interval} ms)`);
      }
    }
  }
}
