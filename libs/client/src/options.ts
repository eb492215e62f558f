import type { ChannelOptions } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@flotilla/errors';
import { formatHostPort, hasTls, parseHostPort, validRequestId, type Keepalive, type TlsFiles } from '@flotilla/grpc';

/**
 * How the client speaks to the managers: TLS from PEM files (`ca` turns TLS on and verifies the
 * manager; `cert` and `key` present a client certificate, which a manager with mutual TLS, the
 * default, requires), or plaintext, which must be asked for by name.
 */
export type ClientTls = TlsFiles | { insecure: true };

export interface RetryOptions {
  /**
   * How many times a call is tried, 1 to 10 (default 3). Each try walks every manager whose
   * connection failed before the call was sent; a retried call starts another walk after a
   * back-off. Only idempotent calls are retried once they were sent (see ClusterClient).
   */
  attempts?: number;
  /** The first back-off, in ms (default 100); it doubles up to `maxBackoffMs`, with jitter. */
  initialBackoffMs?: number;
  /** The longest back-off, in ms (default 2,000). */
  maxBackoffMs?: number;
}

export interface ClusterClientOptions {
  /** Manager addresses, host:port, tried in this order (the one that answered last first). At least one. */
  managers: readonly string[];
  tls: ClientTls;
  /** Deadline of each unary call (and each page of a listing) that sets none, in ms. Default 30,000. Streams have none unless the call sets one. */
  deadlineMs?: number;
  /** How long to wait for a connection to one manager before trying the next, in ms. Default 5,000 (never past the call's deadline). */
  connectTimeoutMs?: number;
  retry?: RetryOptions;
  /**
   * The request ID every call sends (gRPC metadata `flotilla-request-id`), e.g. a CLI command's,
   * so its lines in the services' logs can be found. Without it, a call sends its own, else that
   * of the server call it is made for (inside a Flotilla service), else a fresh one per call. The
   * tries of one call share one ID.
   */
  requestId?: string;
  keepalive?: Partial<Keepalive>;
  /** Extra grpc-js channel options, over the client's (reconnect back-off 250 ms to 5 s). */
  channelOptions?: ChannelOptions;
}

/** What every call accepts. */
export interface CallOptions {
  /** Cancels the call (or stream) on the manager too; it then fails with CancelledError. */
  signal?: AbortSignal;
  /** This call's deadline in ms, over the client's; for a stream, the whole stream's (default: none). */
  deadlineMs?: number;
  /** This call's request ID, over the client's. */
  requestId?: string;
}

export interface ResolvedOptions {
  managers: string[];
  tls: TlsFiles | undefined;
  deadlineMs: number;
  connectTimeoutMs: number;
  retry: Required<RetryOptions>;
  requestId: string | undefined;
  keepalive: Partial<Keepalive> | undefined;
  channelOptions: ChannelOptions;
}

export const defaults = {
  deadlineMs: 30_000,
  connectTimeoutMs: 5_000,
  retry: { attempts: 3, initialBackoffMs: 100, maxBackoffMs: 2_000 },
  channelOptions: { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 5_000 },
} as const;

function positive(field: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min || value > max) throw InvalidArgumentError.field(field, value, `must be a number from ${min} to ${max}`);
  return value;
}

/** Checks and completes the options; a bad one is InvalidArgumentError naming it. */
export function resolveOptions(options: ClusterClientOptions): ResolvedOptions {
  if (!Array.isArray(options.managers) || options.managers.length === 0) throw InvalidArgumentError.field('managers', options.managers ?? null, 'give at least one manager address, host:port');
  const managers: string[] = [];
  for (const [i, address] of options.managers.entries()) {
    const normal = formatHostPort(parseHostPort(`managers[${i}]`, typeof address === 'string' ? address.trim() : String(address)));
    if (!managers.includes(normal)) managers.push(normal);
  }
  const tls = options.tls;
  if (!tls) throw InvalidArgumentError.field('tls', tls ?? null, 'give TLS files ({ ca, cert, key }) or { insecure: true }');
  let files: TlsFiles | undefined;
  if ('insecure' in tls) {
    if (tls.insecure !== true) throw InvalidArgumentError.field('tls.insecure', tls.insecure, 'must be true, or give TLS files instead');
  } else {
    if (!hasTls(tls)) throw InvalidArgumentError.field('tls', tls, 'names no file: give ca (and cert and key for mutual TLS), or { insecure: true }');
    files = { ca: tls.ca || undefined, cert: tls.cert || undefined, key: tls.key || undefined };
  }
  const retry = options.retry ?? {};
  const initialBackoffMs = positive('retry.initialBackoffMs', retry.initialBackoffMs, defaults.retry.initialBackoffMs, 60_000, 0);
  const resolved: ResolvedOptions = {
    managers,
    tls: files,
    deadlineMs: positive('deadlineMs', options.deadlineMs, defaults.deadlineMs),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, defaults.connectTimeoutMs),
    retry: {
      attempts: Math.floor(positive('retry.attempts', retry.attempts, defaults.retry.attempts, 10)),
      initialBackoffMs,
      maxBackoffMs: positive('retry.maxBackoffMs', retry.maxBackoffMs, Math.max(defaults.retry.maxBackoffMs, initialBackoffMs), 600_000, initialBackoffMs),
    },
    requestId: checkRequestId('requestId', options.requestId),
    keepalive: options.keepalive,
    channelOptions: { ...defaults.channelOptions, ...options.channelOptions },
  };
  return resolved;
}

export function checkRequestId(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const valid = validRequestId(value);
  if (!valid) throw InvalidArgumentError.field(field, value, 'must be 1 to 64 of A-Z a-z 0-9 . _ -');
  return valid;
}
