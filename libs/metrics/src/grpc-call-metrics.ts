import type { CallObserver } from '@flotilla/grpc';
import { status } from '@grpc/grpc-js';
import type { MetricsRegistry } from './metrics-registry';

/** Call durations from 1 ms to 10 min: unary calls sit low, streams (Watch, WatchEvents) high. */
export const grpcDurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/**
 * The gRPC series every service has, as a CallObserver for `startServer({ observeCall })`:
 * `flotilla_grpc_calls_total{method,code}`, `flotilla_grpc_call_duration_seconds{method}` and
 * `flotilla_grpc_active_calls{method}`. `method` is the full path
 * (`/flotilla.cluster.v1.ClusterService/AddEngine`), `code` the status name (`OK`, `NOT_FOUND`, ...).
 */
export function grpcCallMetrics(metrics: MetricsRegistry): CallObserver {
  const calls = metrics.counter({
    name: 'flotilla_grpc_calls_total',
    help: 'gRPC calls answered, by method (full path) and final status code (OK, CANCELLED, ...); a count of calls.',
    labelNames: ['method', 'code'],
  });
  const duration = metrics.histogram({
    name: 'flotilla_grpc_call_duration_seconds',
    help: 'How long gRPC calls took from start to final status, in seconds, by method (for streams: how long they were open).',
    labelNames: ['method'],
    buckets: grpcDurationBuckets,
  });
  const active = metrics.gauge({
    name: 'flotilla_grpc_active_calls',
    help: 'gRPC calls (and open streams) in progress, by method; a count of calls.',
    labelNames: ['method'],
  });
  return {
    start(method) {
      active.inc({ method });
      const stopTimer = duration.startTimer({ method });
      return (code) => {
        active.dec({ method });
        stopTimer();
        calls.inc({ method, code: status[code] ?? String(code) });
      };
    },
  };
}
