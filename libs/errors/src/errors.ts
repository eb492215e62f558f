import { ErrorCode } from './error-code';
import { FlotillaError, type FieldViolation, type FlotillaErrorOptions } from './flotilla-error';

/** A request the caller must change before it can succeed; names the field and the value. */
export class InvalidArgumentError extends FlotillaError {
  readonly code = ErrorCode.INVALID_ARGUMENT;
  /** `InvalidArgumentError.field('address', 'x:y', 'port is not a number')`: message and violation together. */
  static field(field: string, value: unknown, why: string, options: Omit<FlotillaErrorOptions, 'violations'> = {}): InvalidArgumentError {
    const description = `${JSON.stringify(value)}: ${why}`;
    return new InvalidArgumentError(`${field} ${description}`, { reason: 'INVALID_FIELD', ...options, violations: [{ field, description }] });
  }
  /** Several bad fields at once, e.g. every invalid entry of a list. */
  static fields(violations: readonly FieldViolation[], options: Omit<FlotillaErrorOptions, 'violations'> = {}): InvalidArgumentError {
    const message = violations.map((v) => `${v.field} ${v.description}`).join('; ');
    return new InvalidArgumentError(message, { reason: 'INVALID_FIELD', ...options, violations });
  }
}
export class NotFoundError extends FlotillaError {
  readonly code = ErrorCode.NOT_FOUND;
}
export class AlreadyExistsError extends FlotillaError {
  readonly code = ErrorCode.ALREADY_EXISTS;
}
export class FailedPreconditionError extends FlotillaError {
  readonly code = ErrorCode.FAILED_PRECONDITION;
}
export class UnavailableError extends FlotillaError {
  readonly code = ErrorCode.UNAVAILABLE;
}
export class ResourceExhaustedError extends FlotillaError {
  readonly code = ErrorCode.RESOURCE_EXHAUSTED;
}
export class DeadlineExceededError extends FlotillaError {
  readonly code = ErrorCode.DEADLINE_EXCEEDED;
}
export class CancelledError extends FlotillaError {
  readonly code = ErrorCode.CANCELLED;
}
export class PermissionDeniedError extends FlotillaError {
  readonly code = ErrorCode.PERMISSION_DENIED;
}
export class UnauthenticatedError extends FlotillaError {
  readonly code = ErrorCode.UNAUTHENTICATED;
}
export class AbortedError extends FlotillaError {
  readonly code = ErrorCode.ABORTED;
}
export class UnimplementedError extends FlotillaError {
  readonly code = ErrorCode.UNIMPLEMENTED;
}
export class InternalError extends FlotillaError {
  readonly code = ErrorCode.INTERNAL;
}
export class UnknownError extends FlotillaError {
  readonly code = ErrorCode.UNKNOWN;
}

export type FlotillaErrorClass = new (message: string, options?: FlotillaErrorOptions) => FlotillaError;

const byCode: ReadonlyMap<number, FlotillaErrorClass> = new Map<number, FlotillaErrorClass>([
  [ErrorCode.INVALID_ARGUMENT, InvalidArgumentError],
  [ErrorCode.NOT_FOUND, NotFoundError],
  [ErrorCode.ALREADY_EXISTS, AlreadyExistsError],
  [ErrorCode.FAILED_PRECONDITION, FailedPreconditionError],
  [ErrorCode.UNAVAILABLE, UnavailableError],
  [ErrorCode.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [ErrorCode.DEADLINE_EXCEEDED, DeadlineExceededError],
  [ErrorCode.CANCELLED, CancelledError],
  [ErrorCode.PERMISSION_DENIED, PermissionDeniedError],
  [ErrorCode.UNAUTHENTICATED, UnauthenticatedError],
  [ErrorCode.ABORTED, AbortedError],
  [ErrorCode.UNIMPLEMENTED, UnimplementedError],
  [ErrorCode.INTERNAL, InternalError],
  [ErrorCode.UNKNOWN, UnknownError],
]);

/** The class that stands for a canonical code (UnknownError for a code outside the space). */
export function errorClassFor(code: number): FlotillaErrorClass {
  return byCode.get(code) ?? UnknownError;
}
