import { InvalidArgumentError } from '@flotilla/errors';
import type { Logger } from '@flotilla/grpc';
import type { BackoffOptions, Clock } from '@flotilla/time';
import type { AgentConnector } from './agent-connector';
import { defaultFlapPolicy } from './engine';
import { defaultEngineLimits } from './engine-limits';
import { defaultMaxQueuedEvents } from './event-hub';
import { defaultHeartbeatRate } from './heartbeat-budget';
import { defaultSnapshotLimits } from './snapshot-assembly';

export interface ClusterOptions {
  connector: AgentConnector;
  clock: Clock;
  logger?: Logger;
  /** Usable capacity is total · (1 + ratio). Default 0.05. */
  overcommitRatio?: number;
  /** How many other engines a failed create is retried on (used by the scheduler). Default 0. */
  createRetry?: number;
  /** Heartbeat intervals an engine may miss before it is unhealthy. Default 3. */
  heartbeatTolerance?: number;
  /** The interval assumed until an agent's first heartbeat says its own. Default 1 s. */
  defaultHeartbeatIntervalMs?: number;
  /**
   * Heartbeats a second the manager takes from all its engines together (--heartbeat-rate): past
   * this many engines, each stream asks its agent for a longer interval (see heartbeatIntervalToAsk).
   * 0: the agents' own intervals. Default 1,400 (defaultHeartbeatRate).
   */
  heartbeatRate?: number;
  /** Back-off between reconnects to an unhealthy engine. */
  reconnect?: BackoffOptions;
  /** Back-off between validation attempts of a pending engine. */
  pendingRetry?: BackoffOptions;
  /** Failures (times an engine became unhealthy) within this window lower its health (--flap-window). Default 5 minutes. */
  flapWindowMs?: number;
  /**
   * Failures within the window that make a healthy engine "flapping" (--flap-threshold): health 1,
   * placed only when no steadier engine fits. Each failure below it takes 100/threshold off. Default 3.
   */
  flapThreshold?: number;
  /**
   * A heartbeat sweep that runs more than this late (ms past its time) means the manager's own
   * event loop stalled: it blames no engine and gives every engine a fresh grace. Default 1 s.
   */
  lateSweepMs?: number;
  /**
   * A discovery identity that has not pushed for longer than this loses its sources (--discovery-grace):
   * the engines only they listed, and not added by hand, are removed. Discovery re-pushes every
   * 30 s (its --push-interval) even when nothing changed. Default 5 minutes.
   */
  discoveryGraceMs?: number;
  /** Streams opened per tick for the engines a discovery push added (see syncEngines). Default 64. */
  dialsPerTick?: number;
  /** Shown by GetInfo; the scheduler uses them. */
  strategy?: string;
  filters?: string[];
  /** Events a WatchEvents subscriber may fall behind before it is ended (--max-queued-events). Default 50,000: see defaultMaxQueuedEvents. */
  maxQueuedEvents?: number;
  /** Engines the cluster may hold, pending or not, however added (--max-engines). Default 20,000. */
  maxEngines?: number;
  /** Pending engines added by hand the cluster may hold; discovery's do not count (--max-pending-engines). Default 1,000. */
  maxPendingEngines?: number;
  random?: () => number;
  version?: string;
  /** Containers one engine's snapshot may hold; past it the engine is refused. Default 100,000. */
  maxSnapshotContainers?: number;
  /** Estimated bytes one engine's snapshot may hold across its parts; past it the engine is refused. Default 256 MiB. */
  maxSnapshotBytes?: number;
}

const defaults = {
  overcommitRatio: 0.05,
  createRetry: 0,
  heartbeatTolerance: 3,
  defaultHeartbeatIntervalMs: 1000,
  heartbeatRate: defaultHeartbeatRate,
  reconnect: { initialMs: 200, maxMs: 10_000 } as BackoffOptions,
  pendingRetry: { initialMs: 1000, maxMs: 30_000 } as BackoffOptions,
  flapWindowMs: defaultFlapPolicy.flapWindowMs,
  flapThreshold: defaultFlapPolicy.flapThreshold,
  lateSweepMs: 1000,
  dialsPerTick: 64,
  discoveryGraceMs: 5 * 60_000,
  maxSnapshotContainers: defaultSnapshotLimits.maxContainers,
  maxSnapshotBytes: defaultSnapshotLimits.maxBytes,
  maxEngines: defaultEngineLimits.maxEngines,
  maxPendingEngines: defaultEngineLimits.maxPendingEngines,
  maxQueuedEvents: defaultMaxQueuedEvents,
};

/** The options with their defaults filled in: what the cluster and its parts run by. */
export type ClusterSettings = Required<Omit<ClusterOptions, 'logger' | 'random' | 'strategy' | 'filters' | 'version'>> & Pick<ClusterOptions, 'random' | 'strategy' | 'filters' | 'version'>;

export function clusterSettings(options: ClusterOptions): ClusterSettings {
  const settings = { ...defaults, ...options };
  if (!(settings.overcommitRatio >= -1)) throw InvalidArgumentError.field('overcommit', settings.overcommitRatio, 'must be at least -1');
  return settings;
}

/** A timer this long fires on the next turn of the event loop (Node makes 0 ms 1 ms anyway). */
export const nextTickMs = 1;

/** How many skipped items a log line names; the rest are counted. */
export const loggedProblems = 5;
