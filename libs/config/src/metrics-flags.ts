import { formatHostPort, metricsLoopbackOnly, parseLoopbackListenAddress } from '@flotilla/grpc';
import { flag } from './flags';

/**
 * The Prometheus endpoint of a service (GET /metrics, GET /healthz), the same for every service.
 * `prefix` names the environment variable, e.g. FLOTILLA_MANAGER.
 */
export function metricsFlags(prefix: string) {
  return {
    'metrics-address': flag('string', {
      env: `${prefix}_METRICS_ADDRESS`,
      default: '',
      placeholder: 'HOST:PORT',
      description:
        'Serve Prometheus metrics (GET /metrics) and GET /healthz over plain HTTP here, for a local scraper or sidecar: loopback only (127.0.0.0/8, ::1, localhost); port 0 picks a free port (printed in the "metrics listening" log line). Empty: no metrics endpoint.',
    }),
  };
}

/** The metrics address from the parsed flags: undefined when empty, else a loopback `host:port`. */
export function metricsAddressFrom(values: { 'metrics-address': string }): string | undefined {
  const text = values['metrics-address'].trim();
  if (text === '') return undefined;
  return formatHostPort(parseLoopbackListenAddress('--metrics-address', values['metrics-address'], metricsLoopbackOnly));
}
