import { formatHostPort, parseHostPort } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';

const wildcards = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/**
 * The address the agent registers in discovery: `--advertise` when given, else the listen
 * address with the port actually bound (so `--listen 127.0.0.1:0` works). A wildcard listen
 * address names no host the manager could dial, so it needs `--advertise`.
 */
export function advertiseAddress(listen: string, boundPort: number, advertise?: string): string {
  if (advertise) return formatHostPort(parseHostPort('--advertise', advertise));
  // `listen` is already normalised (parseListenAddress): HOST:PORT, IPv6 in brackets.
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  if (wildcards.has(host)) throw InvalidArgumentError.field('--advertise', '', `is required with --discovery when --listen is a wildcard address (${listen}): give the HOST:PORT managers dial`);
  return formatHostPort({ host, port: boundPort });
}
