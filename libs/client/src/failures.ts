import { CancelledError, DeadlineExceededError, FlotillaError, UnavailableError } from '@flotilla/errors';
import { isServiceError } from '@flotilla/grpc';

/**
 * The reasons the client gives the errors it makes itself (a manager's own errors keep the
 * manager's reason): branch on `err.reason`, as on a manager's.
 */
export const ClientReason = {
  /**
   * No manager took the call: every connection failed (refused, unknown host, TLS handshake,
   * no connection in time), so nothing was sent. UnavailableError, or DeadlineExceededError when
   * the call's deadline passed while connecting.
   */
  MANAGER_UNREACHABLE: 'MANAGER_UNREACHABLE',
  /**
   * The connection broke after the call was sent, before its answer (UnavailableError): the
   * manager may have done it. Retried only for idempotent calls.
   */
  MANAGER_CONNECTION_LOST: 'MANAGER_CONNECTION_LOST',
  /** The call was made after close() (FailedPreconditionError). */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
} as const;

/** True when the error means no manager was reached or the connection to it broke (see ClientReason). */
export function isConnectionFailure(err: unknown): err is FlotillaError {
  return err instanceof FlotillaError && (err.reason === ClientReason.MANAGER_UNREACHABLE || err.reason === ClientReason.MANAGER_CONNECTION_LOST);
}

/**
 * What a failed try tells the retry loop:
 * - `not-sent`: the call never left (no connection): any call may go to the next manager;
 * - `lost`: the connection broke after it was sent: only an idempotent call may be tried again;
 * - `unavailable`: the manager itself answered UNAVAILABLE ("worth retrying later"): idempotent calls only;
 * - `final`: an answer (or a deadline, a cancellation): given to the caller as it is.
 */
export type FailureKind = 'not-sent' | 'lost' | 'unavailable' | 'final';

const statusDetailsKey = 'grpc-status-details-bin';

/** grpc-js's words for a call that failed before any connection took it (its picker's and resolver's). */
const notSentPattern = /No connection established|Name resolution failed|DNS resolution failed/;

/** True when a Flotilla server answered the status: it carries google.rpc details (ErrorInfo). */
export function answeredByServer(err: FlotillaError): boolean {
  return isServiceError(err.cause) && err.cause.metadata.get(statusDetailsKey).length > 0;
}

export function failureKind(err: unknown): FailureKind {
  if (!(err instanceof UnavailableError)) return 'final';
  if (err.reason === ClientReason.MANAGER_UNREACHABLE) return 'not-sent';
  if (answeredByServer(err)) return 'unavailable';
  if (notSentPattern.test(err.message)) return 'not-sent';
  return 'lost';
}

/** A grpc-js deadline that passed while the call still waited for a connection. */
export function deadlineWhileConnecting(err: unknown): boolean {
  return err instanceof DeadlineExceededError && !answeredByServer(err) && /Waiting for LB pick/.test(err.message);
}

export interface TryFailure {
  address: string;
  error: FlotillaError;
}

/** The managers that failed, each with its last error, as one line ("a:1: why; b:2: why"); just the why for one manager. */
export function describeFailures(failures: readonly TryFailure[]): string {
  const last = new Map<string, string>();
  for (const f of failures) {
    last.delete(f.address);
    last.set(f.address, f.error.message);
  }
  if (last.size === 1) return [...last.values()][0];
  return [...last].map(([address, why]) => `${address}: ${why}`).join('; ');
}

export function unreachable(failures: readonly TryFailure[], managers: readonly string[]): UnavailableError {
  return new UnavailableError(failures.length ? describeFailures(failures) : `no connection to ${managers.join(', ')}`, {
    reason: ClientReason.MANAGER_UNREACHABLE,
    cause: failures.at(-1)?.error,
    metadata: { managers: managers.join(',') },
  });
}

export function unreachableInTime(deadlineMs: number, failures: readonly TryFailure[], managers: readonly string[]): DeadlineExceededError {
  const tried = failures.length ? ` (${describeFailures(failures)})` : '';
  return new DeadlineExceededError(`no connection to ${managers.length === 1 ? 'the manager' : 'any manager'} within the deadline of ${deadlineMs} ms${tried}`, {
    reason: ClientReason.MANAGER_UNREACHABLE,
    cause: failures.at(-1)?.error,
    metadata: { managers: managers.join(',') },
  });
}

export function connectionLost(err: FlotillaError, address: string): UnavailableError {
  return new UnavailableError(err.message, { reason: ClientReason.MANAGER_CONNECTION_LOST, cause: err, metadata: { manager: address } });
}

export function cancelledByCaller(): CancelledError {
  return new CancelledError('Cancelled on client');
}
