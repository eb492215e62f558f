import { readFileSync } from 'node:fs';
import { formatHostPort, hasTls, type HostPort, type TlsFiles } from '@flotilla/grpc';
import { InvalidArgumentError, UnavailableError } from '@flotilla/errors';
import { Etcd3, type IOptions, type IWatchResponse } from 'etcd3';
import type { KeyChange, KeyValueStore, StoreWatch, StoreWatchHandlers } from './key-value-store';

export interface EtcdConnectionOptions {
  hosts: HostPort[];
  /** TLS to etcd: `ca` is required; `cert` and `key` add a client certificate. */
  tls?: TlsFiles;
  username?: string;
  password?: string;
  /** Deadline of each call, and of setting up a watch. Default 5 s. */
  callTimeoutMs?: number;
  /** Names the flags in errors about TLS files. Default `etcd-tls`. */
  tlsFlagPrefix?: string;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * The etcd3 client retries three times and opens a five-second circuit breaker per host after
 * failures; our callers retry with their own back-off and must see etcd come back at once, so
 * calls go straight through.
 */
const straightThrough = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
} as unknown as Policy;

function readTls(field: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw InvalidArgumentError.field(field, file, `cannot be read: ${(err as Error).message}`);
  }
}

/** The smallest key after every key that starts with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function withTimeout<T>(what: string, ms: number, work: Promise<T>, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new UnavailableError(`etcd did not answer ${what} within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** KeyValueStore over a real etcd (v3 API) through the etcd3 client. */
export class Etcd3Store implements KeyValueStore {
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly watches = new Set<StoreWatch>();

  constructor(options: EtcdConnectionOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    const prefix = options.tlsFlagPrefix ?? 'etcd-tls';
    let credentials: IOptions['credentials'];
    if (hasTls(options.tls)) {
      const rootCertificate = readTls(`--${prefix}-ca`, options.tls.ca);
      if (!rootCertificate) throw InvalidArgumentError.field(`--${prefix}-ca`, '', 'TLS to etcd needs the CA that signed its certificate');
      const certChain = readTls(`--${prefix}-cert`, options.tls.cert);
      const privateKey = readTls(`--${prefix}-key`, options.tls.key);
      if (Boolean(certChain) !== Boolean(privateKey)) {
        throw InvalidArgumentError.field(`--${prefix}-cert`, options.tls.cert ?? '', `a client certificate needs both --${prefix}-cert and --${prefix}-key`);
      }
      credentials = { rootCertificate, certChain, privateKey };
    }
    const scheme = credentials ? 'https' : 'http';
    this.client = new Etcd3({
      hosts: options.hosts.map((h) => `${scheme}://${formatHostPort(h)}`),
      credentials,
      auth: options.username !== undefined ? { username: options.username, password: options.password ?? '' } : undefined,
      dialTimeout: this.callTimeoutMs,
      faultHandling: { host: () => straightThrough, global: straightThrough },
      grpcOptions: {
        // Reconnect to a restarted etcd within a second or two, not grpc's default two minutes.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2000,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5000,
        'grpc.keepalive_permit_without_calls': 1,
      },
    });
  }

  private deadline(): { deadline: number } {
    return { deadline: Date.now() + this.callTimeoutMs };
  }

  async list(prefix: string): Promise<{ revision: string; entries: { key: string; value: string }[] }> {
    const res = await this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }, this.deadline());
    return { revision: res.header.revision, entries: res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() })) };
  }

  async watch(prefix: string, revision: string, handlers: StoreWatchHandlers): Promise<StoreWatch> {
    const stream = await withTimeout('a watch', this.callTimeoutMs, this.client.watchClient.watch());
    let done = false;
    let created: ((ok: true) => void) | undefined;
    let failed: ((err: Error) => void) | undefined;
    const ready = new Promise<true>((resolve, reject) => {
      created = resolve;
      failed = reject;
    });
    const watch: StoreWatch = {
      cancel: () => {
        if (done) return;
        done = true;
        this.watches.delete(watch);
        stream.cancel();
      },
    };
    const end = (err: Error): void => {
      if (done) return;
      watch.cancel();
      failed?.(err);
      handlers.broken(err);
    };
    stream.on('data', (res: IWatchResponse) => {
      if (done) return;
      if (res.created && !res.canceled) {
        created?.(true);
        return;
      }
      if (res.canceled) {
        const why = res.compact_revision && res.compact_revision !== '0' ? `compacted at revision ${res.compact_revision}` : res.cancel_reason || 'cancelled by etcd';
        end(new UnavailableError(`the etcd watch ended: ${why}`));
        return;
      }
      const changes: KeyChange[] = (res.events ?? []).map((e) =>
        e.type === 'Delete' ? { type: 'delete', key: e.kv.key.toString() } : { type: 'put', key: e.kv.key.toString(), value: e.kv.value.toString() },
      );
      if (changes.length > 0) handlers.changes(changes);
    });
    stream.on('error', (err: Error) => end(new UnavailableError(`the etcd watch failed: ${err.message}`)));
    stream.on('end', () => end(new UnavailableError('the etcd watch stream ended')));
    stream.write({ create_request: { key: Buffer.from(prefix), range_end: prefixEnd(prefix), start_revision: (BigInt(revision) + 1n).toString() } });
    this.watches.add(watch);
    await withTimeout('a watch', this.callTimeoutMs, ready, () => watch.cancel());
    return watch;
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }, this.deadline());
    return res.ID;
  }

  async keepAlive(lease: string): Promise<boolean> {
    const stream = await withTimeout('a lease keep-alive', this.callTimeoutMs, this.client.leaseClient.leaseKeepAlive());
    try {
      const ttl = await withTimeout(
        'a lease keep-alive',
        this.callTimeoutMs,
        new Promise<string>((resolve, reject) => {
          stream.on('data', (res) => resolve(res.TTL));
          stream.on('error', reject);
          stream.on('end', () => reject(new UnavailableError('the etcd keep-alive stream ended')));
          stream.write({ ID: lease });
        }),
      );
      // etcd answers TTL 0 for a lease it no longer has.
      return Number(ttl) > 0;
    } finally {
      stream.cancel();
    }
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.client.kv.put({ key: Buffer.from(key), value: Buffer.from(value), ...(lease ? { lease } : {}) }, this.deadline());
  }

  async delete(key: string): Promise<void> {
    await this.client.kv.deleteRange({ key: Buffer.from(key) }, this.deadline());
  }

  async revokeLease(lease: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: lease }, this.deadline());
  }

  close(): void {
    for (const watch of [...this.watches]) watch.cancel();
    this.client.close();
  }
}
