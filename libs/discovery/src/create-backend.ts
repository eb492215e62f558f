import { type Logger, type TlsFiles } from '@flotilla/grpc';
import { FailedPreconditionError } from '@flotilla/errors';
import type { BackoffOptions, Clock } from '@flotilla/time';
import type { DiscoveryBackend } from './backend';
import { EtcdBackend } from './etcd-backend';
import { EtcdRegistrar } from './etcd-registrar';
import { Etcd3Store } from './etcd3-store';
import { FileBackend } from './file-backend';
import type { KeyValueStore } from './key-value-store';
import { NodesBackend } from './nodes-backend';
import type { Registrar } from './registrar';
import type { DiscoveryUri } from './uri';

export interface BackendOptions {
  clock?: Clock;
  logger?: Logger;
  /** TLS to etcd (`ca` required, `cert` and `key` for a client certificate). */
  etcdTls?: TlsFiles;
  /** Deadline of each etcd call. Default 5 s. */
  etcdCallTimeoutMs?: number;
  /** Back-off while etcd is unreachable. */
  retry?: BackoffOptions;
  /** Safety-net re-read of a file. Default 5 s. */
  fileRereadIntervalMs?: number;
  /** Safety-net re-list of an etcd prefix. Default 60 s. */
  etcdResyncIntervalMs?: number;
  /** Replaces the etcd client (tests). */
  store?: KeyValueStore;
}

function etcdStore(uri: Extract<DiscoveryUri, { scheme: 'etcd' }>, options: BackendOptions): KeyValueStore {
  return options.store ?? new Etcd3Store({ hosts: uri.hosts, tls: options.etcdTls, username: uri.username, password: uri.password, callTimeoutMs: options.etcdCallTimeoutMs });
}

/** The backend that watches the URI's source. */
export function createBackend(uri: DiscoveryUri, options: BackendOptions = {}): DiscoveryBackend {
  switch (uri.scheme) {
    case 'nodes':
      return new NodesBackend(uri.source, uri.list);
    case 'file':
      return new FileBackend({ source: uri.source, path: uri.path, clock: options.clock, logger: options.logger, rereadIntervalMs: options.fileRereadIntervalMs });
    case 'etcd':
      return new EtcdBackend({
        source: uri.source,
        prefix: uri.prefix,
        store: etcdStore(uri, options),
        clock: options.clock,
        logger: options.logger,
        retry: options.retry,
        resyncIntervalMs: options.etcdResyncIntervalMs,
      });
  }
}

/** The registrar for the URI; only key-value stores take registrations. */
export function createRegistrar(uri: DiscoveryUri, options: BackendOptions = {}): Registrar {
  if (uri.scheme !== 'etcd') {
    throw new FailedPreconditionError(`${uri.scheme}:// discovery cannot take registrations (engines are listed there by hand); use etcd://HOST:PORT/PREFIX`);
  }
  return new EtcdRegistrar({ source: uri.source, prefix: uri.prefix, store: etcdStore(uri, options) });
}
