import { isLoopbackHost } from './security';
import { isIPv6 } from 'node:net';
import { InvalidArgumentError } from '@flotilla/errors';

export interface HostPort {
  host: string;
  port: number;
}

const hostname = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Parses and normalises `host:port` (names, IPv4, IPv6 in brackets). `field` names the flag or
 * request field in the error.
 */
export function parseHostPort(field: string, value: string): HostPort {
  return parse(field, value, 1);
}

function parse(field: string, value: string, minPort: number): HostPort {
  const text = value.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) throw InvalidArgumentError.field(field, value, 'expected host:port, with IPv6 hosts in brackets ([::1]:2375)');
  const host = match[1].toLowerCase();
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < minPort || port > 65535) throw InvalidArgumentError.field(field, value, `port must be ${minPort} to 65535`);
  if (bracketed) {
    if (!isIPv6(host)) throw InvalidArgumentError.field(field, value, 'not an IPv6 address');
  } else if (/^[\d.]+$/.test(host)) {
    if (!ipv4.test(host)) throw InvalidArgumentError.field(field, value, 'not an IPv4 address');
  } else if (!hostname.test(host)) {
    throw InvalidArgumentError.field(field, value, 'not a valid host name');
  }
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Accepts host:port and also port 0 (pick a free one), for listen addresses. */
export function parseListenAddress(field: string, value: string): string {
  return formatHostPort(parse(field, value, 0));
}

/** Why a metrics address off loopback is refused (the flag's check and the endpoint's say the same). */
export const metricsLoopbackOnly =
  'the metrics endpoint is plain HTTP with no authentication: only a loopback address (127.0.0.0/8, ::1, localhost) is accepted, for a scraper or sidecar on the same host';

/** A listen address that must be on loopback (port 0 allowed), or INVALID_ARGUMENT naming the field, the value and `why`. */
export function parseLoopbackListenAddress(field: string, value: string, why: string): HostPort {
  const address = parse(field, value, 0);
  if (!isLoopbackHost(address.host)) throw InvalidArgumentError.field(field, value, why);
  return address;
}
