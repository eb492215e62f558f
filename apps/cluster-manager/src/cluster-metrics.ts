import type { Cluster } from '@flotilla/cluster';
import type { MetricsRegistry } from '@flotilla/metrics';

/**
 * The cluster-manager's own series, read from the Cluster's public API when Prometheus scrapes
 * (GetInfo's summary, which is one pass over the engines, and a few getters): nothing in the
 * cluster keeps them in step.
 */
export function registerClusterMetrics(metrics: MetricsRegistry, cluster: Cluster): void {
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
}
