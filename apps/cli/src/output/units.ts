import type { PortBinding } from '@flotilla/proto';
import { UsageError } from '../errors';
import { humanDuration } from '@flotilla/time';

const binary: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `64m`, `1g`, `512k`, `1.5g`, `64MiB`, `1024` (bytes) → bytes, as docker reads `-m`. */
export function parseMemory(text: string, flagName = '--memory'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${flagName} ${JSON.stringify(text)}: expected a size such as 64m, 512k, 1g or a number of bytes`);
  const bytes = Math.round(Number(match[1]) * binary[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`${flagName} ${JSON.stringify(text)}: must be more than 0 and less than 8 PiB`);
  if (bytes < 6 * 1024 * 1024) throw new UsageError(`${flagName} ${JSON.stringify(text)}: Docker's minimum is 6m`);
  return bytes;
}

/** `0.5`, `2` CPUs → units of 1e-9 CPUs (Docker's NanoCpus). */
export function parseCpus(text: string, flagName = '--cpus'): string {
  const trimmed = text.trim();
  if (!/^\d*\.?\d+$/.test(trimmed)) throw new UsageError(`${flagName} ${JSON.stringify(text)}: expected a number of CPUs such as 0.5 or 2`);
  const [whole, fraction = ''] = trimmed.split('.');
  if (fraction.length > 9) throw new UsageError(`${flagName} ${JSON.stringify(text)}: at most 9 decimals`);
  const nano = BigInt(whole || '0') * 1_000_000_000n + BigInt(fraction.padEnd(9, '0') || '0');
  if (nano <= 0n) throw new UsageError(`${flagName} ${JSON.stringify(text)}: must be more than 0`);
  return nano.toString();
}

/**
 * `-p` as docker reads it: `CONTAINER`, `HOST:CONTAINER`, `IP:HOST:CONTAINER`, `IP::CONTAINER`,
 * each with an optional `/tcp`, `/udp` or `/sctp`. IPv6 addresses go in brackets.
 */
export function parsePort(text: string): PortBinding {
  const bad = (why: string) => new UsageError(`--publish ${JSON.stringify(text)}: ${why}; expected [[IP:]HOST:]CONTAINER[/tcp|udp|sctp]`);
  let rest = text.trim();
  let protocol = '';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(protocol)) throw bad(`unknown protocol ${JSON.stringify(protocol)}`);
  }
  let hostIp = '';
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  let parts: string[];
  if (v6) {
    hostIp = v6[1];
    parts = v6[2].split(':');
    if (parts.length !== 2) throw bad('after [IP] give HOST:CONTAINER');
    parts = [hostIp, ...parts];
  } else {
    parts = rest.split(':');
  }
  const port = (value: string, what: string, allowEmpty: boolean): number => {
    if (value === '' && allowEmpty) return 0;
    if (!/^\d+$/.test(value)) throw bad(`${what} ${JSON.stringify(value)} is not a port number${value.includes('-') ? ' (ranges are not supported)' : ''}`);
    const n = Number(value);
    if (n < 1 || n > 65535) throw bad(`${what} ${n} must be 1 to 65535`);
    return n;
  };
  if (parts.length === 1) return { containerPort: port(parts[0], 'container port', false), protocol, hostIp: '', hostPort: 0 };
  if (parts.length === 2) return { containerPort: port(parts[1], 'container port', false), protocol, hostIp: '', hostPort: port(parts[0], 'host port', false) };
  if (parts.length === 3) {
    if (!v6 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(parts[0])) throw bad(`${JSON.stringify(parts[0])} is not an IPv4 address (IPv6 goes in brackets)`);
    return { containerPort: port(parts[2], 'container port', false), protocol, hostIp: parts[0], hostPort: port(parts[1], 'host port', true) };
  }
  throw bad('too many colons');
}

export function formatPort(p: PortBinding): string {
  const proto = p.protocol || 'tcp';
  if (!p.hostPort && !p.hostIp) return `${p.containerPort}/${proto}`;
  const ip = p.hostIp && p.hostIp !== '0.0.0.0' ? `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:` : '';
  return `${ip}${p.hostPort || ''}->${p.containerPort}/${proto}`;
}

/** `--restart no|always|unless-stopped|on-failure[:N]`. */
export function parseRestart(text: string): { name: string; maximumRetryCount: number } {
  const match = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text.trim());
  if (!match || (match[2] !== undefined && match[1] !== 'on-failure')) {
    throw new UsageError(`--restart ${JSON.stringify(text)}: expected no, always, unless-stopped or on-failure[:MAX-RETRIES]`);
  }
  return { name: match[1], maximumRetryCount: match[2] ? Number(match[2]) : 0 };
}

const sizeUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes as `64 MiB`, `1.5 GiB`. */
export function formatBytes(value: number | string | bigint): string {
  let n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  let unit = 0;
  while (n >= 1024 && unit < sizeUnits.length - 1) {
    n /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(n) : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
  return `${text.replace(/\.0+$|(\.\d*?)0+$/, '$1')} ${sizeUnits[unit]}`;
}

/** 1e-9 CPUs as `0.5`, `2`. */
export function formatCpus(nano: number | string | bigint): string {
  const n = Number(nano) / 1e9;
  if (!Number.isFinite(n) || n === 0) return '0';
  return String(Math.round(n * 1000) / 1000);
}

/** `5 seconds ago`, `About a minute ago`, `3 hours ago`, as docker prints them. */
export function timeAgo(when: Date | undefined, now: number): string {
  if (!when) return '';
  return `${humanDuration(Math.max(0, now - when.getTime()))} ago`;
}

/** A container command line as one string, quoting words with spaces. */
export function commandLine(words: readonly string[]): string {
  return words.map((w) => (w === '' || /[\s"'\\$`]/.test(w) ? JSON.stringify(w) : w)).join(' ');
}

/** Docker's human status ("Up 5 minutes", "Exited (0) 2 hours ago"), computed now rather than when the engine reported it. */
export function containerStatus(c: { state: string; status: string; exitCode: number; startedAt?: Date; finishedAt?: Date }, now: number): string {
  const since = (d: Date | undefined) => (d && d.getTime() > 0 ? humanDuration(Math.max(0, now - d.getTime())) : '');
  switch (c.state) {
    case 'running':
      return c.startedAt ? `Up ${since(c.startedAt)}` : c.status;
    case 'paused':
      return c.startedAt ? `Up ${since(c.startedAt)} (Paused)` : c.status;
    case 'exited':
      return c.finishedAt && c.finishedAt.getTime() > 0 ? `Exited (${c.exitCode}) ${since(c.finishedAt)} ago` : c.status;
    case 'restarting':
      return c.finishedAt && c.finishedAt.getTime() > 0 ? `Restarting (${c.exitCode}) ${since(c.finishedAt)} ago` : c.status;
    case 'created':
      return 'Created';
    case 'dead':
      return 'Dead';
    case 'removing':
      return 'Removal In Progress';
    default:
      return c.status || c.state;
  }
}
