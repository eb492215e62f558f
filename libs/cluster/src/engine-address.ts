import { formatHostPort, parseHostPort } from '@flotilla/grpc';

/** The one spelling of an engine-agent address, so one engine is not added twice. */
export function normaliseEngineAddress(value: string, field = 'address'): string {
  return formatHostPort(parseHostPort(field, value));
}
