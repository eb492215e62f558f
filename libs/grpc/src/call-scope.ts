import { firstEvent } from './first-event';
import { silentLogger } from './logger';
import { requestIdFrom, type CallContext, type CallIdentity } from './request-id';

/*
 * One call's lifetime as an AbortSignal. Before this, every long handler wired up its own "abort
 * when the call ends" and added a listener to the server's closing signal that it never removed:
 * each finished call stayed reachable from the server, with whatever stream it read from.
 */

/** How a call ended, as its signal's `reason.why`. */
export type CallEnd = 'finished' | 'cancelled' | 'errored' | 'server closing';

/** The reason a call's signal carries. Named AbortError, as code that checks aborts expects. */
export class CallEndedError extends Error {
  override readonly name = 'AbortError';

  constructor(readonly why: CallEnd) {
    super(`call ${why}`);
  }
}

export interface CallScope {
  /**
   * Aborted once: when the handler settles, the client cancels, the stream finishes, closes or
   * errors, or the server starts shutting down. Its reason is a CallEndedError.
   */
  readonly signal: AbortSignal;
  /** Ends the scope now (idempotent): aborts the signal and drops its listeners on the call and the server. */
  end(why: CallEnd): void;
  /** The signal with the call's request ID and logger: what `unary` and `serverStream` hand the handler. */
  readonly context: CallContext;
}

/** The call events that mean it is over, and what each says about how. */
const endings: ReadonlyArray<readonly [event: string, why: CallEnd]> = [
  ['cancelled', 'cancelled'],
  ['error', 'errored'],
  ['finish', 'finished'],
  ['close', 'finished'],
];

/** What a scope needs of a server call, unary or streaming. */
/** What a scope needs of a server call of any kind. */
interface ScopedCall {
  cancelled: boolean;
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

const serverClosing = new WeakMap<object, AbortSignal>();
const identities = new WeakMap<object, CallIdentity>();
const scopes = new WeakMap<object, CallScope>();

/** The gate gives every call its server's closing signal before the handler runs; a scope opened on the call ends with it. */
export function bindServerClosing(call: object, closing: AbortSignal): void {
  serverClosing.set(call, closing);
}

/** The gate gives every call its request ID and logger before the handler runs; the call's scope hands them on. */
export function bindCallIdentity(call: object, identity: CallIdentity): void {
  identities.set(call, identity);
}

/** A call that did not come through the gate (a handler called directly): its own ID, no logs. */
function identityOf(call: object): CallIdentity {
  const bound = identities.get(call);
  if (bound) return bound;
  const metadata = (call as { metadata?: Parameters<typeof requestIdFrom>[0] }).metadata;
  return { requestId: requestIdFrom(typeof metadata?.get === 'function' ? metadata : undefined).requestId, logger: silentLogger, method: '' };
}

/**
 * Opens the scope of a call. The only listener it puts on the server's closing signal is removed
 * when the scope ends, so the server keeps nothing of a finished call. `unary` and `serverStream`
 * open one per call and end it when the handler settles; a call that did not come through
 * `startServer` (a handler called directly) has no server signal and ends with the call alone.
 */
export function openCallScope(call: ScopedCall, closing: AbortSignal | undefined = serverClosing.get(call)): CallScope {
  const controller = new AbortController();
  const listeners = endings.map(([event, why]) => [event, () => end(why)] as const);
  const onClosing = (): void => end('server closing');
  // Unit tests call handlers with plain objects for calls: such a call has no events to end it.
  const emits = typeof call.on === 'function';
  let ended = false;
  const end = (why: CallEnd): void => {
    if (ended) return;
    ended = true;
    closing?.removeEventListener('abort', onClosing);
    if (emits) for (const [event, listener] of listeners) call.off(event, listener);
    controller.abort(new CallEndedError(why));
  };
  const identity = identityOf(call);
  // Calls made on this call's behalf stop carrying its request ID once it ends (see currentRequestId).
  identity.signal = controller.signal;
  const context: CallContext = { signal: controller.signal, requestId: identity.requestId, logger: identity.logger, method: identity.method };
  const scope: CallScope = { signal: controller.signal, end, context };
  scopes.set(call, scope);
  // A call cancelled before its handler ran has already emitted 'cancelled'.
  if (call.cancelled) end('cancelled');
  else if (closing?.aborted) end('server closing');
  else {
    if (emits) for (const [event, listener] of listeners) call.on(event, listener);
    closing?.addEventListener('abort', onClosing, { once: true });
  }
  return scope;
}

/** The signal of the scope opened on this call, if one was. */
export function callSignalOf(call: object): AbortSignal | undefined {
  return scopes.get(call)?.signal;
}

/** The context (signal, request ID, logger) of the scope opened on this call, if one was. */
export function callContextOf(call: object): CallContext | undefined {
  return scopes.get(call)?.context;
}

/** What `drained` needs of a server call that writes: a server stream, or either side of a two-way one. */
interface WritableCall {
  cancelled: boolean;
  destroyed: boolean;
  writableNeedDrain: boolean;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Resolves when a server stream's client has read enough for writes to go on, or the call is
 * over: cancelled, closed, or its signal aborted (which includes the server shutting down, so a
 * stream stuck behind a slow reader does not hold shutdown for the whole grace period). The
 * signal is the call's own scope unless another is given.
 */
export function drained(call: WritableCall, signal: AbortSignal | undefined = callSignalOf(call)): Promise<void> {
  if (call.cancelled || call.destroyed || !call.writableNeedDrain || signal?.aborted) return Promise.resolve();
  return firstEvent(call, ['drain', 'cancelled', 'close'], signal);
}

/** Resolves when the signal aborts. Meant for a call's own signal, which always aborts when the call ends. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
