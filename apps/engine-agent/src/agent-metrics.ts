import type { MetricsRegistry } from '@flotilla/metrics';
import type { EngineMonitor } from './monitor/engine-monitor';

/** The engine-agent's own series, read from its EngineMonitor when Prometheus scrapes. */
export function registerAgentMetrics(metrics: MetricsRegistry, monitor: EngineMonitor): void {
  metrics.gaugeFrom({ name: 'flotilla_watch_streams', help: 'Open Watch streams (managers following this engine); a count of streams.' }, () => monitor.watcherCount);
  metrics.gaugeFrom({ name: 'flotilla_docker_engine_reachable', help: 'Whether the Docker engine answers (1) or not (0).' }, () => (monitor.engineState.reachable ? 1 : 0));
  metrics.counterFrom(
    { name: 'flotilla_docker_events_received_total', help: "Docker events read from the engine's event stream (repeats Docker sends again after a resubscribe included); a count of events." },
    () => monitor.dockerEventsReceived,
  );
  metrics.counterFrom({ name: 'flotilla_docker_event_subscriptions_total', help: "Docker event subscriptions opened (the first, then one per reconnect to the engine); a count of subscriptions." }, () => monitor.eventSubscriptions);
  metrics.counterFrom(
    { name: 'flotilla_reconcile_corrections_total', help: "Differences between the agent's model and the engine that the periodic reconcile corrected (lost events); a count of corrections." },
    () => monitor.reconcileCorrections,
  );
  metrics.counterFrom({ name: 'flotilla_reconciles_total', help: 'Periodic reconciles by outcome (completed, failed); a count of reconciles.', labelNames: ['outcome'] }, () => [
    [{ outcome: 'completed' }, monitor.reconcilesCompleted],
    [{ outcome: 'failed' }, monitor.reconcileFailures],
  ]);
}
