import type { SourceState } from '@flotilla/discovery';
import type { MetricsRegistry } from '@flotilla/metrics';

/** What discovery tells its metrics as it goes; the rest is read from the source when scraped. */
export interface DiscoveryMetrics {
  /** A push to `manager` ended: went through (`ok`) or failed (an error, or an answer discovery cannot use). */
  pushed(manager: string, ok: boolean): void;
}

export function registerDiscoveryMetrics(metrics: MetricsRegistry, source: SourceState, managers: readonly string[]): DiscoveryMetrics {
  const pushes = metrics.counter({
    name: 'flotilla_discovery_pushes_total',
    help: 'SyncEngines pushes to cluster-managers, by manager address and outcome (ok, failed); a count of pushes.',
    labelNames: ['manager', 'outcome'],
  });
  // Every series from the start, so rate() sees the first push.
  for (const manager of managers) for (const outcome of ['ok', 'failed']) pushes.inc({ manager, outcome }, 0);
  metrics.gaugeFrom({ name: 'flotilla_discovery_engines', help: 'Engine addresses the source lists now (its last good set), by source; a count of engines.', labelNames: ['source'] }, () => {
    const s = source.snapshot();
    return [[{ source: s.source }, s.addresses.length]];
  });
  metrics.gaugeFrom({ name: 'flotilla_discovery_source_readable', help: 'Whether the last read of the source worked (1) or failed, the last good set being kept (0), by source.', labelNames: ['source'] }, () => {
    const s = source.snapshot();
    return [[{ source: s.source }, s.sourceError ? 0 : 1]];
  });
  return {
    pushed(manager, ok) {
      pushes.inc({ manager, outcome: ok ? 'ok' : 'failed' });
    },
  };
}
