import { InvalidArgumentError } from '@flotilla/errors';
import { isLoopbackHost, parseListenAddress } from '@flotilla/grpc';
import { flag } from './flags';

/** Why a metrics address off loopback is refused; the endpoint says the same at start. */
export const metricsLoopbackOnly =
  'the metrics endpoint is plain HTTP with no authentication: only a loopback address (127.0.0.0/8, ::1, localhost) is accepted, for a scraper or sidecar on the same host';

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
  const address = parseListenAddress('--metrics-address', text);
  const host = address.startsWith('[') ? address.slice(1, address.lastIndexOf(']')) : address.slice(0, address.lastIndexOf(':'));
  if (!isLoopbackHost(host)) throw InvalidArgumentError.field('--metrics-address', values['metrics-address'], metricsLoopbackOnly);
  return address;
}
