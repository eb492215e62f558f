import { formatHostPort, parseHostPort } from '@flotilla/grpc';

/** The one spelling of an engine-agent address, so one engine is not added twice. */
export function normaliseEngineAddress(value: string, field = 'address'): string {
  const { host, port } = parseHostPort(field, value);
  // One spelling of an IPv6 address: [0:0:0:0:0:0:0:1] and [::1] are the same engine.
  const canonical = host.includes(':') ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host;
  return formatHostPort({ host: canonical, port });
}
