import type { Cluster } from '@flotilla/cluster';
import type { MetricsRegistry } from '@flotilla/metrics';

/** What the manager's containers report to the metrics as they happen. */
export interface ClusterMetricsHooks {
  /** A placement decision took `seconds` (the scheduler's work) and chose an engine or none. */
  placementDecided(seconds: number, placed: boolean): void;
}

/** Map entries as labelled values of one label. */
function byLabel<L extends string>(label: L, totals: ReadonlyMap<string, number>): Array<[Partial<Record<L, string>>, number]> {
  return [...totals].map(([key, value]) => [{ [label]: key } as Partial<Record<L, string>>, value]);
}

/**
 * The cluster-manager's own series, read from the Cluster's public API when Prometheus scrapes
 * (GetInfo's summary, which is one pass over the engines, its activity totals, and a few
 * getters): nothing in the cluster keeps them in step. Placement latency alone is observed as it
 * happens, through the hooks returned.
 */
export function registerClusterMetrics(metrics: MetricsRegistry, cluster: Cluster): ClusterMetricsHooks {
  // One GetInfo summary per scrape, shared by the series below.
  let cached: { at: number; info: ReturnType<Cluster['info']> } | undefined;
  const info = () => {
    const now = Date.now();
    if (!cached || now - cached.at > 100) cached = { at: now, info: cluster.info() };
    return cached.info;
  };
  metrics.gaugeFrom(
    {
      name: 'flotilla_engines',
      help: 'Engines in the cluster by health state (healthy, flapping, unhealthy, pending, disconnected: the word of info and engine ls); a count of engines.',
      labelNames: ['state'],
    },
    () => {
      const { engineCounts, flappingEngines } = info();
      const counts = engineCounts ?? { healthy: 0, pending: 0, unhealthy: 0, disconnected: 0 };
      return [
        [{ state: 'healthy' }, counts.healthy - flappingEngines],
        [{ state: 'flapping' }, flappingEngines],
        [{ state: 'unhealthy' }, counts.unhealthy],
        [{ state: 'pending' }, counts.pending],
        [{ state: 'disconnected' }, counts.disconnected],
      ];
    },
  );
  metrics.gaugeFrom({ name: 'flotilla_pending_engines', help: 'Engines added or pushed by discovery and not yet validated (pending); a count of engines.' }, () => info().engineCounts?.pending ?? 0);
  metrics.gaugeFrom({ name: 'flotilla_containers', help: 'Containers on engines that are not pending, by state (running, paused, stopped); a count of containers.', labelNames: ['state'] }, () => {
    const c = info().containers ?? { running: 0, paused: 0, stopped: 0 };
    return [
      [{ state: 'running' }, c.running],
      [{ state: 'paused' }, c.paused],
      [{ state: 'stopped' }, c.stopped],
    ];
  });
  metrics.gaugeFrom(
    { name: 'flotilla_event_loop_lag_seconds', help: "The manager's event-loop lag over the last minute as GetInfo reports it (how late the heartbeat sweep's timer ran), p99 and max, in seconds.", labelNames: ['quantile'] },
    () => {
      const i = info();
      return [
        [{ quantile: '0.99' }, i.eventLoopLagP99Ms / 1000],
        [{ quantile: '1' }, i.eventLoopLagMaxMs / 1000],
      ];
    },
  );
  metrics.counterFrom(
    { name: 'flotilla_late_heartbeat_sweeps_total', help: 'Heartbeat sweeps that ran late enough to mean the manager itself stalled (they marked no engine unhealthy); a count of sweeps since start.' },
    () => info().lateHeartbeatSweeps,
  );
  metrics.gaugeFrom({ name: 'flotilla_watch_events_subscribers', help: 'Open WatchEvents streams (readers of the merged event stream); a count of streams.' }, () => cluster.subscriberCount);
  metrics.gaugeFrom({ name: 'flotilla_queued_dials', help: 'Engines pushed by discovery waiting in the dial queue for their first connection; a count of engines.' }, () => cluster.queuedDials);

  const activity = cluster.activity;
  metrics.counterFrom(
    { name: 'flotilla_cluster_events_total', help: 'Events the manager published on its event stream (WatchEvents), by type (engine, container, image, network, volume, daemon, ..., other); a count of events.', labelNames: ['type'] },
    () => byLabel('type', activity.eventsByType),
  );
  metrics.counterFrom(
    { name: 'flotilla_engine_events_total', help: 'Engine lifecycle events by action (pending, connect, disconnect, reconnect, removed, error); reconnects are action="reconnect"; a count of events.', labelNames: ['action'] },
    () => byLabel('action', activity.engineEventsByAction),
  );
  metrics.counterFrom(
    { name: 'flotilla_engine_stream_resyncs_total', help: "Engine streams the manager closed and reopened for a fresh snapshot (a sequence gap or a broken stream rule); a count of resyncs." },
    () => activity.streamResyncs,
  );
  metrics.counterFrom(
    { name: 'flotilla_placements_total', help: 'Placement decisions of creates, by outcome (placed: an engine was chosen; refused: no engine fits); a count of decisions.', labelNames: ['outcome'] },
    () => [
      [{ outcome: 'placed' }, activity.placed],
      [{ outcome: 'refused' }, activity.refused],
    ],
  );
  metrics.counterFrom(
    { name: 'flotilla_placement_refusals_by_filter_total', help: 'Refused placements, counted once under each filter that rejected at least one engine (health, port, containerslots, dependency, volume, network, affinity, constraint, whitelist, resources); a count of refusals.', labelNames: ['filter'] },
    () => byLabel('filter', activity.refusalsByFilter),
  );
  const placementSeconds = metrics.histogram({
    name: 'flotilla_placement_duration_seconds',
    help: "How long the scheduler took to decide a create's placement, by outcome; in seconds.",
    labelNames: ['outcome'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  });
  return { placementDecided: (seconds, placed) => placementSeconds.observe({ outcome: placed ? 'placed' : 'refused' }, seconds) };
}
