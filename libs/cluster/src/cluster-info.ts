import type { GetInfoResponse } from '@flotilla/proto/cluster';
import type { Engine } from './engine';
import type { EventLoopLagFigures } from './event-loop-lag';

/** What GetInfo shows besides the engines: the cluster's settings and the manager's own health. */
export interface ClusterInfoContext {
  strategy?: string;
  filters?: string[];
  overcommitRatio: number;
  version?: string;
  eventLoopLag: EventLoopLagFigures;
  lateHeartbeatSweeps: number;
}

/**
 * The cluster's summary: one pass over the engines, nothing sorted, no engine rendered
 * (ListEngines pages the engines).
 */
export function clusterInfo(engines: Iterable<Engine>, context: ClusterInfoContext): GetInfoResponse {
  const counts = { pending: 0, healthy: 0, unhealthy: 0, disconnected: 0 };
  let flapping = 0;
  const containers = { running: 0, paused: 0, stopped: 0, total: 0 };
  let images = 0;
  let cpus = 0;
  let memory = 0;
  let reservedCpus = 0;
  let reservedMemory = 0;
  for (const e of engines) {
    counts[e.status]++;
    if (e.status === 'pending') continue;
    if (e.flaps.length && e.healthState() === 'flapping') flapping++;
    containers.running += e.tally.running;
    containers.paused += e.tally.paused;
    containers.stopped += e.tally.stopped;
    images += e.images.size;
    cpus += e.cpus * 1e9;
    memory += e.memoryBytes;
    reservedCpus += e.reservedNanoCpus;
    reservedMemory += e.reservedMemoryBytes;
  }
  containers.total = containers.running + containers.paused + containers.stopped;
  return {
    strategy: context.strategy ?? 'spread',
    filters: context.filters ?? [],
    overcommitRatio: context.overcommitRatio,
    engineCounts: counts,
    engines: [],
    containers,
    images,
    totalNanoCpus: String(cpus),
    totalMemoryBytes: String(memory),
    reservedNanoCpus: String(reservedCpus),
    reservedMemoryBytes: String(reservedMemory),
    managerVersion: context.version ?? '',
    eventLoopLagP99Ms: context.eventLoopLag.p99Ms,
    eventLoopLagMaxMs: context.eventLoopLag.maxMs,
    lateHeartbeatSweeps: context.lateHeartbeatSweeps,
    flappingEngines: flapping,
  };
}
