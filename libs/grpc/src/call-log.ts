import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger, LogLevel } from './logger';
import { requestIdFrom, requestIdKey } from './request-id';

/*
 * One log line per call a server answers, refused ones included: method, status, duration and
 * request ID. A grpc-js server interceptor, so it sees the whole call (the gate's refusals too) and
 * can settle the request ID in the call's metadata before the gate and the handler read it.
 */

/** Status codes that say the server (or what it depends on) failed, rather than the caller. */
const serverFaults = new Set<status>([status.UNKNOWN, status.INTERNAL, status.DATA_LOSS, status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED]);

/** OK and a client's cancel (the normal end of a stream) at debug; the caller's mistakes at info; the server's failures at warn. */
export function callLogLevel(code: status): LogLevel {
  if (code === status.OK || code === status.CANCELLED) return 'debug';
  return serverFaults.has(code) ? 'warn' : 'info';
}

/** Status details are the service's own words but may quote the request: a bounded excerpt. */
const maxDetailsLength = 300;

function deadlinePassed(deadline: Date | number): boolean {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at <= Date.now();
}

/** The interceptor `startServer` installs first, so every other part of the server sees a usable request ID. */
export function callLogInterceptor(logger: Logger): ServerInterceptor {
  return (methodDescriptor, call) => {
    const started = performance.now();
    const method = methodDescriptor.path;
    let requestId: string | undefined;
    let replaced = false;
    let ended = false;
    const end = (code: status, details?: string): void => {
      if (ended) return;
      ended = true;
      const level = callLogLevel(code);
      const fields: Record<string, unknown> = { method, code: status[code] ?? String(code), durationMs: Math.round((performance.now() - started) * 10) / 10, requestId: requestId ?? null };
      if (replaced) fields.requestIdReplaced = true;
      if (level !== 'debug' && details) fields.details = details.length > maxDetailsLength ? `${details.slice(0, maxDetailsLength)}…` : details;
      logger[level]('call', fields);
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata: Metadata, nextMetadata) => {
            const settled = requestIdFrom(metadata);
            requestId = settled.requestId;
            replaced = settled.replaced;
            metadata.set(requestIdKey, requestId);
            nextMetadata(metadata);
          },
          onCancel: () => end(deadlinePassed(call.getDeadline()) ? status.DEADLINE_EXCEEDED : status.CANCELLED),
        }),
      sendStatus: (sent, next) => {
        end(sent.code, sent.details);
        next(sent);
      },
    });
  };
}
