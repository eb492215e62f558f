import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  codeOf,
  DeadlineExceededError,
  FailedPreconditionError,
  FlotillaError,
  fromServiceError,
  InternalError,
  InvalidArgumentError,
  isServiceError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  toServiceError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  UnknownError,
} from './errors';

type ErrorClass = new (message: string, options?: { cause?: unknown }) => FlotillaError;

/** Every typed error class with the status it stands for. */
const classes: Array<[ErrorClass, status]> = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [UnavailableError, status.UNAVAILABLE],
  [ResourceExhaustedError, status.RESOURCE_EXHAUSTED],
  [DeadlineExceededError, status.DEADLINE_EXCEEDED],
  [CancelledError, status.CANCELLED],
  [PermissionDeniedError, status.PERMISSION_DENIED],
  [UnauthenticatedError, status.UNAUTHENTICATED],
  [AbortedError, status.ABORTED],
  [UnimplementedError, status.UNIMPLEMENTED],
  [InternalError, status.INTERNAL],
  [UnknownError, status.UNKNOWN],
];

/** A ServiceError shaped like the ones grpc-js hands to client callbacks. */
function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

describe('typed errors', () => {
  it('has one class per status code, each distinct', () => {
    const codes = classes.map(([, code]) => code);
    expect(new Set(codes).size).toBe(classes.length);
    expect(new Set(classes.map(([Type]) => Type)).size).toBe(classes.length);
  });

  it.each(classes.map(([Type, code]) => [Type.name, Type, code] as const))('%s carries its status, name and message', (_name, Type, code) => {
    const cause = new Error('root cause');
    const err = new Type('something happened', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err).toBeInstanceOf(Type);
    expect(err.code).toBe(code);
    expect(err.name).toBe(Type.name);
    expect(err.message).toBe('something happened');
    expect(err.cause).toBe(cause);
    expect(String(err)).toBe(`${Type.name}: something happened`);
  });

  it.each(classes.map(([Type, code]) => [Type.name, Type, code] as const))('%s maps to its status and back', (_name, Type, code) => {
    const answered = toServiceError(new Type('the detail'));
    expect(answered.code).toBe(code);
    expect(answered.details).toBe('the detail');
    expect(answered.metadata).toBeInstanceOf(Metadata);
    expect(codeOf(new Type('x'))).toBe(code);

    const received = serviceError(answered.code, answered.details);
    const back = fromServiceError(received);
    expect(back).toBeInstanceOf(Type);
    expect(back.code).toBe(code);
    expect(back.message).toBe('the detail');
    expect(back.cause).toBe(received);
  });
});

describe('toServiceError', () => {
  it('answers a plain Error with INTERNAL and its message', () => {
    const answered = toServiceError(new Error('disk on fire'));
    expect(answered.code).toBe(status.INTERNAL);
    expect(answered.details).toContain('disk on fire');
    expect(codeOf(new TypeError('bad type'))).toBe(status.INTERNAL);
  });

  it('answers thrown non-Error values with INTERNAL and their text', () => {
    expect(toServiceError('just a string')).toMatchObject({ code: status.INTERNAL });
    expect(toServiceError('just a string').details).toContain('just a string');
    expect(toServiceError(42).details).toContain('42');
    expect(toServiceError(undefined).code).toBe(status.INTERNAL);
    expect(toServiceError(null).code).toBe(status.INTERNAL);
  });

  it('passes the status of a ServiceError from a downstream call through unchanged', () => {
    const downstream = serviceError(status.PERMISSION_DENIED, 'no access to engine e1');
    downstream.metadata.set('x-origin', 'agent');
    const answered = toServiceError(downstream);
    expect(answered.code).toBe(status.PERMISSION_DENIED);
    expect(answered.details).toBe('no access to engine e1');
    expect(answered.metadata?.get('x-origin')).toEqual(['agent']);
  });
});

describe('fromServiceError', () => {
  it('turns codes without a class (OK, OUT_OF_RANGE, DATA_LOSS) into UnknownError', () => {
    for (const code of [status.OUT_OF_RANGE, status.DATA_LOSS, status.OK]) {
      const err = fromServiceError(serviceError(code, 'odd'));
      expect(err).toBeInstanceOf(UnknownError);
      expect(err.message).toBe('odd');
    }
  });

  it('falls back to the error message when details are empty', () => {
    const received = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
      code: status.UNAVAILABLE,
      details: '',
      metadata: new Metadata(),
    });
    const err = fromServiceError(received);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe('14 UNAVAILABLE: No connection established');
  });
});

describe('isServiceError', () => {
  it('recognises grpc-js call errors only', () => {
    expect(isServiceError(serviceError(status.NOT_FOUND, 'x'))).toBe(true);
    expect(isServiceError(new NotFoundError('x'))).toBe(false);
    expect(isServiceError(new Error('x'))).toBe(false);
    expect(isServiceError({ code: 5, details: 'x', metadata: new Metadata() })).toBe(false);
    expect(isServiceError('x')).toBe(false);
    expect(isServiceError(undefined)).toBe(false);
  });
});

describe('InvalidArgumentError.field', () => {
  it('names the field and the JSON value', () => {
    const err = InvalidArgumentError.field('address', 'x:y', 'port is not a number');
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe('address "x:y": port is not a number');
  });

  it('renders non-string values as JSON', () => {
    expect(InvalidArgumentError.field('replicas', -1, 'must be positive').message).toBe('replicas -1: must be positive');
    expect(InvalidArgumentError.field('labels', { a: 'b' }, 'too many').message).toBe('labels {"a":"b"}: too many');
    expect(InvalidArgumentError.field('name', 'quote"d', 'bad').message).toBe('name "quote\\"d": bad');
  });
});
