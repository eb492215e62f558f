import { AsyncLocalStorage } from 'node:async_hooks';
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from './logger';
import { randomHex } from './random-hex';

/*
 * A request ID follows one operation across the services: the CLI sends one per command, every
 * server reads it (or makes one) and puts it on each log line of the call, and the calls a server
 * makes while answering (the manager's to its agents) carry it on. It is for logs only: not the
 * idempotency key of a create (CreateContainerRequest.request_id), and never trusted
 * for anything but correlation.
 */

/** The gRPC metadata key that carries the request ID. */
export const requestIdKey = 'flotilla-request-id';

/** The longest request ID kept; a longer one, or one with other characters, is replaced. */
export const maxRequestIdLength = 64;

const requestIdPattern = new RegExp(`^[A-Za-z0-9._-]{1,${maxRequestIdLength}}$`);

/** A fresh request ID: 16 hex characters. */
export function newRequestId(): string {
  return randomHex(8);
}

/** The value if it is a usable request ID (1 to 64 of A-Z a-z 0-9 . _ -), else undefined. */
export function validRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && requestIdPattern.test(value) ? value : undefined;
}

/**
 * The request ID a call carries, or a fresh one when it carries none or one that is not usable:
 * caller input never reaches a log line unbounded. `replaced` says a bad one was thrown away.
 */
export function requestIdFrom(metadata: Pick<Metadata, 'get'> | undefined): { requestId: string; replaced: boolean } {
  const given = metadata?.get(requestIdKey)[0];
  const valid = validRequestId(given);
  return valid ? { requestId: valid, replaced: false } : { requestId: newRequestId(), replaced: given !== undefined };
}

/** What a handler knows of the call it answers, besides the request: see `unary` and `serverStream`. */
export interface CallContext {
  /** Aborted when the call ends or the server starts closing (see call-scope.ts). */
  readonly signal: AbortSignal;
  /** The call's request ID, as received (when usable) or made by the server. */
  readonly requestId: string;
  /** The server's logger with `requestId` and `method` on every line. */
  readonly logger: Logger;
  /** The method's full path, e.g. `/flotilla.cluster.v1.ClusterService/CreateContainer`; empty outside a server. */
  readonly method: string;
}

/** The part of a call's context known before its scope opens (the gate sets it, the scope adds the signal). */
export interface CallIdentity {
  requestId: string;
  logger: Logger;
  method: string;
  /** Set when the call's scope opens; once aborted, calls made on its behalf no longer carry its ID. */
  signal?: AbortSignal;
}

const current = new AsyncLocalStorage<CallIdentity>();

/** Runs `fn` (a handler) as the call: the calls it makes, however deep, carry the call's request ID. */
export function runAsCall<T>(identity: CallIdentity, fn: () => T): T {
  return current.run(identity, fn);
}

/**
 * The request ID of the server call this code runs for, while that call is open; undefined outside
 * one (a timer, a background loop, a client process), so background work carries no stale ID.
 */
export function currentRequestId(): string | undefined {
  const identity = current.getStore();
  return identity && !identity.signal?.aborted ? identity.requestId : undefined;
}
