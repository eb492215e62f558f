import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

/**
 * Typed errors, one class per gRPC status code. Domain code throws these; the server edge turns
 * them into statuses with `toServiceError`, and clients turn statuses back with `fromServiceError`,
 * so a status means the same thing on both sides of every call.
 */
export abstract class FlotillaError extends Error {
  abstract readonly code: status;
  /** Structured details for the trailing metadata, e.g. `flotilla-placement-bin` (binary keys end in -bin). */
  readonly details: Record<string, Buffer>;
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, Buffer> }) {
    super(message, options);
    this.name = new.target.name;
    this.details = options?.details ?? {};
  }
}

export class InvalidArgumentError extends FlotillaError {
  readonly code = status.INVALID_ARGUMENT;
  /** Names the field and the value, e.g. `InvalidArgumentError.field('address', 'x:y', 'port is not a number')`. */
  static field(field: string, value: unknown, why: string): InvalidArgumentError {
    return new InvalidArgumentError(`${field} ${JSON.stringify(value)}: ${why}`);
  }
}
export class NotFoundError extends FlotillaError {
  readonly code = status.NOT_FOUND;
}
export class AlreadyExistsError extends FlotillaError {
  readonly code = status.ALREADY_EXISTS;
}
export class FailedPreconditionError extends FlotillaError {
  readonly code = status.FAILED_PRECONDITION;
}
export class UnavailableError extends FlotillaError {
  readonly code = status.UNAVAILABLE;
}
export class ResourceExhaustedError extends FlotillaError {
  readonly code = status.RESOURCE_EXHAUSTED;
}
export class DeadlineExceededError extends FlotillaError {
  readonly code = status.DEADLINE_EXCEEDED;
}
export class CancelledError extends FlotillaError {
  readonly code = status.CANCELLED;
}
export class PermissionDeniedError extends FlotillaError {
  readonly code = status.PERMISSION_DENIED;
}
export class UnauthenticatedError extends FlotillaError {
  readonly code = status.UNAUTHENTICATED;
}
export class AbortedError extends FlotillaError {
  readonly code = status.ABORTED;
}
export class UnimplementedError extends FlotillaError {
  readonly code = status.UNIMPLEMENTED;
}
export class InternalError extends FlotillaError {
  readonly code = status.INTERNAL;
}
export class UnknownError extends FlotillaError {
  readonly code = status.UNKNOWN;
}

type ErrorClass = new (message: string, options?: { cause?: unknown; details?: Record<string, Buffer> }) => FlotillaError;

const byCode: ReadonlyMap<status, ErrorClass> = new Map<status, ErrorClass>([
  [status.INVALID_ARGUMENT, InvalidArgumentError],
  [status.NOT_FOUND, NotFoundError],
  [status.ALREADY_EXISTS, AlreadyExistsError],
  [status.FAILED_PRECONDITION, FailedPreconditionError],
  [status.UNAVAILABLE, UnavailableError],
  [status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [status.DEADLINE_EXCEEDED, DeadlineExceededError],
  [status.CANCELLED, CancelledError],
  [status.PERMISSION_DENIED, PermissionDeniedError],
  [status.UNAUTHENTICATED, UnauthenticatedError],
  [status.ABORTED, AbortedError],
  [status.UNIMPLEMENTED, UnimplementedError],
  [status.INTERNAL, InternalError],
  [status.UNKNOWN, UnknownError],
]);

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** The status a thrown value is answered with: typed errors keep theirs, anything else is INTERNAL. */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  if (err instanceof FlotillaError) {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(err.details)) metadata.set(key, value);
    return { code: err.code, details: err.message, metadata };
  }
  if (isServiceError(err)) {
    return { code: err.code, details: err.details, metadata: err.metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata: new Metadata() };
}

/** The typed error for a status a call ended with. */
export function fromServiceError(err: ServiceError): FlotillaError {
  const ErrorType = byCode.get(err.code) ?? UnknownError;
  const details: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(err.metadata?.getMap() ?? {})) if (key.endsWith('-bin') && Buffer.isBuffer(value)) details[key] = value;
  return new ErrorType(err.details || err.message, { cause: err, details });
}

/** The status code of any thrown value, as the server would answer it. */
export function codeOf(err: unknown): status {
  return toServiceError(err).code;
}
