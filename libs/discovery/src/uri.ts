import * as path from 'node:path';
import { formatHostPort, parseHostPort, type HostPort } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';

/**
 * Where the engines are listed. `source` is the URI as shown to people and sent to the
 * cluster-manager as the push's source name: credentials are left out of it.
 */
export type DiscoveryUri =
  | { scheme: 'nodes'; source: string; list: string }
  | { scheme: 'file'; source: string; path: string }
  | { scheme: 'etcd'; source: string; hosts: HostPort[]; prefix: string; username?: string; password?: string };

export const discoverySchemes = ['nodes', 'file', 'etcd'] as const;

const usage = 'expected nodes://HOST:PORT,..., a bare HOST:PORT,... list, file:///PATH or etcd://HOST:PORT[,HOST:PORT]/PREFIX';

/**
 * Parses a discovery URI (`field` names the flag in errors):
 * - `nodes://h1:2375,h2:2375`, or the bare list `h1:2375,h2:2375` (entries are checked later, one
 *   by one, so a bad entry is a problem rather than a refusal);
 * - `file:///abs/path` (or `file://relative/path`, from the working directory);
 * - `etcd://[user:password@]h1:2379[,h2:2379]/prefix`: engines are the keys `/prefix/HOST:PORT`.
 */
export function parseDiscoveryUri(text: string, field = '--discovery'): DiscoveryUri {
  const value = text.trim();
  if (!value) throw InvalidArgumentError.field(field, text, `a discovery URI is required: ${usage}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (!scheme) {
    if (value.includes('://') || /^[a-z][a-z0-9+.-]*:\/[^/]/i.test(value)) throw InvalidArgumentError.field(field, text, usage);
    return { scheme: 'nodes', source: `nodes://${value}`, list: value };
  }
  const rest = value.slice(scheme[0].length);
  switch (scheme[1].toLowerCase()) {
    case 'nodes':
      if (!rest.trim()) throw InvalidArgumentError.field(field, text, 'nodes:// needs at least one HOST:PORT');
      return { scheme: 'nodes', source: `nodes://${rest}`, list: rest };
    case 'file': {
      if (!rest) throw InvalidArgumentError.field(field, text, 'file:// needs a path, e.g. file:///etc/flotilla/engines');
      let file: string;
      try {
        file = decodeURIComponent(rest);
      } catch {
        throw InvalidArgumentError.field(field, text, 'the path has a malformed %-escape');
      }
      const resolved = path.resolve(file);
      return { scheme: 'file', source: `file://${resolved}`, path: resolved };
    }
    case 'etcd':
      return parseEtcd(field, text, rest);
    default:
      throw InvalidArgumentError.field(field, text, `unknown scheme ${scheme[1]}://; ${usage}`);
  }
}

function parseEtcd(field: string, text: string, rest: string): DiscoveryUri {
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const prefix = (slash >= 0 ? rest.slice(slash) : '').replace(/\/+$/, '').replace(/\/{2,}/g, '/');
  if (!prefix) throw InvalidArgumentError.field(field, text, 'etcd:// needs a key prefix, e.g. etcd://127.0.0.1:2379/flotilla');
  let hostsText = authority;
  let username: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const credentials = authority.slice(0, at);
    hostsText = authority.slice(at + 1);
    const colon = credentials.indexOf(':');
    if (colon < 0) throw InvalidArgumentError.field(field, redact(text), 'etcd credentials are USER:PASSWORD@');
    try {
      username = decodeURIComponent(credentials.slice(0, colon));
      password = decodeURIComponent(credentials.slice(colon + 1));
    } catch {
      throw InvalidArgumentError.field(field, redact(text), 'the credentials have a malformed %-escape');
    }
  }
  const items = hostsText.split(',').map((h) => h.trim());
  if (items.length === 0 || items.some((h) => !h)) throw InvalidArgumentError.field(field, redact(text), 'etcd:// needs HOST:PORT[,HOST:PORT...] before the prefix');
  const hosts = items.map((h, i) => {
    try {
      return parseHostPort(`${field} etcd host ${i + 1}`, h);
    } catch (err) {
      throw InvalidArgumentError.field(field, redact(text), (err as Error).message);
    }
  });
  const source = `etcd://${hosts.map(formatHostPort).join(',')}${prefix}`;
  return { scheme: 'etcd', source, hosts, prefix, username, password };
}

/** A URI with any USER:PASSWORD@ left out, for logs and errors. */
export function redact(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
