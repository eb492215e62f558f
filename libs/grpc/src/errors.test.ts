import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Status } from 'nice-grpc-error-details/lib/proto/google/rpc/status';
import { BadRequest, ErrorInfo } from 'nice-grpc-error-details';
import { codeOf, fromServiceError, isServiceError, statusLimits, toServiceError } from './errors';
import { AbortedError, AlreadyExistsError, CancelledError, DeadlineExceededError, FailedPreconditionError, FlotillaError, InternalError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError, UnavailableError, UnimplementedError, UnknownError } from '@flotilla/errors';

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

describe('google.rpc details at the edge', () => {
  /** Decodes the trailer as a client in another language would: google.rpc.Status, then each Any. */
  function decodeAsForeignClient(metadata: Metadata | undefined): { code: number; message: string; reasons: string[]; domains: string[]; violations: Array<{ field: string; description: string }> } {
    const raw = metadata?.get('grpc-status-details-bin')[0] as Buffer;
    const decoded = Status.decode(raw);
    const out = { code: decoded.code, message: decoded.message, reasons: [] as string[], domains: [] as string[], violations: [] as Array<{ field: string; description: string }> };
    for (const any of decoded.details) {
      if (any.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo') {
        const info = ErrorInfo.decode(any.value);
        out.reasons.push(info.reason);
        out.domains.push(info.domain);
      }
      if (any.typeUrl === 'type.googleapis.com/google.rpc.BadRequest') out.violations.push(...BadRequest.decode(any.value).fieldViolations.map((v) => ({ field: v.field, description: v.description })));
    }
    return out;
  }

  it('answers a field error with a BadRequest naming the field and an ErrorInfo with a stable reason', () => {
    const answered = toServiceError(InvalidArgumentError.field('spec.memory_bytes', -5, 'must be a whole number, not negative'));
    expect(decodeAsForeignClient(answered.metadata)).toEqual({
      code: status.INVALID_ARGUMENT,
      message: 'spec.memory_bytes -5: must be a whole number, not negative',
      reasons: ['INVALID_FIELD'],
      domains: ['flotilla'],
      violations: [{ field: 'spec.memory_bytes', description: '-5: must be a whole number, not negative' }],
    });
  });

  it('gives every domain error an ErrorInfo: its own reason, else the code name', () => {
    expect(decodeAsForeignClient(toServiceError(new NotFoundError('no engine "x"')).metadata).reasons).toEqual(['NOT_FOUND']);
    const own = toServiceError(new FailedPreconditionError('no engine fits', { reason: 'NO_ENGINE_FITS', metadata: { candidates: '3' } }));
    expect(decodeAsForeignClient(own.metadata)).toMatchObject({ code: status.FAILED_PRECONDITION, reasons: ['NO_ENGINE_FITS'], violations: [] });
  });

  it('sends an error\'s own details as further Any entries of the status, under their type names', () => {
    const explanation = Buffer.from([10, 6, 115, 112, 114, 101, 97, 100]);
    const answered = toServiceError(new FailedPreconditionError('no engine fits', { reason: 'NO_ENGINE_FITS', details: [{ type: 'flotilla.cluster.v1.PlacementExplanation', value: explanation }] }));
    const sent = Status.decode(answered.metadata?.get('grpc-status-details-bin')[0] as Buffer);
    const found = sent.details.find((any) => any.typeUrl === 'type.googleapis.com/flotilla.cluster.v1.PlacementExplanation');
    expect(Buffer.from(found!.value)).toEqual(explanation);
  });

  it('keeps every status within its trailers: the message, the violations and metadata clipped, a detail too big left out and named', () => {
    const huge = '字\u0000'.repeat(40_000);
    const small = Buffer.from([10, 1, 120]);
    const err = new FailedPreconditionError(`no engine fits: ${huge}`, {
      reason: 'NO_ENGINE_FITS',
      metadata: { engine: huge },
      violations: Array.from({ length: 500 }, (_, i) => ({ field: `spec.env[${i}]`, description: huge })),
      details: [
        { type: 'flotilla.cluster.v1.PlacementExplanation', value: Buffer.alloc(1_000_000, 7) },
        { type: 'flotilla.test.v1.Small', value: small },
      ],
    });
    const answered = toServiceError(err);
    const bin = answered.metadata?.get('grpc-status-details-bin')[0] as Buffer;
    // grpc-message (percent-encoded) and the base64 details together, far below Node's 64 KiB of headers.
    expect(encodeURI(answered.details).length + Math.ceil((bin.length * 4) / 3)).toBeLessThan(48 * 1024);
    expect(answered.details.startsWith('no engine fits: 字')).toBe(true);
    expect(answered.details).toMatch(/\(80016 characters in all\)$/);
    const decoded = fromServiceError({ ...new Error(answered.details), code: answered.code, details: answered.details, metadata: answered.metadata! } as ServiceError);
    expect(decoded.reason).toBe('NO_ENGINE_FITS');
    expect(decoded.metadata.engine.length).toBeLessThan(statusLimits.metadataValueChars + 40);
    expect(decoded.metadata.omittedDetails).toContain('flotilla.cluster.v1.PlacementExplanation (1000000 bytes)');
    expect(decoded.violations.length).toBeGreaterThanOrEqual(2);
    expect(decoded.violations[0].field).toBe('spec.env[0]');
    expect(decoded.violations.at(-1)?.description).toMatch(/^\d+ more violations not shown$/);
    // What fits is still sent.
    expect(decoded.detail('flotilla.test.v1.Small')).toEqual(small);
    expect(decoded.detail('flotilla.cluster.v1.PlacementExplanation')).toBeUndefined();
  });

  it('clips the message of an unexpected error and of a status passed on from a downstream call', () => {
    expect(toServiceError(new Error('x'.repeat(100_000))).details.length).toBeLessThan(statusLimits.messageChars + 60);
    const downstream = Object.assign(new Error('downstream'), { code: status.INVALID_ARGUMENT, details: 'y'.repeat(100_000), metadata: new Metadata() }) as ServiceError;
    downstream.metadata.set('grpc-status-details-bin', Buffer.alloc(100_000, 1));
    const passed = toServiceError(downstream);
    expect(passed.details.length).toBeLessThan(statusLimits.messageChars + 60);
    expect(passed.metadata?.get('grpc-status-details-bin')).toEqual([]);
  });

  it('round-trips reason, metadata, violations and details through a status', () => {
    const sent = InvalidArgumentError.fields(
      [
        { field: 'addresses[0]', description: '"x": no port' },
        { field: 'addresses[3]', description: '"y:0": port 0' },
      ],
      { metadata: { source: 'nodes' }, details: [{ type: 'flotilla.test.v1.Extra', value: Buffer.from([1, 2, 3]) }] },
    );
    const answered = toServiceError(sent);
    const received = Object.assign(new Error('3 INVALID_ARGUMENT'), { code: answered.code, details: answered.details, metadata: answered.metadata as Metadata });
    const back = fromServiceError(received);
    expect(back).toBeInstanceOf(InvalidArgumentError);
    expect(back.reason).toBe('INVALID_FIELD');
    expect(back.metadata).toEqual({ source: 'nodes' });
    expect(back.violations).toEqual(sent.violations);
    expect(back.details.map((d) => ({ type: d.type, value: Buffer.from(d.value) }))).toEqual([{ type: 'flotilla.test.v1.Extra', value: Buffer.from([1, 2, 3]) }]);
    expect(Buffer.from(back.detail('flotilla.test.v1.Extra')!)).toEqual(Buffer.from([1, 2, 3]));
    expect(back.message).toBe('addresses[0] "x": no port; addresses[3] "y:0": port 0');
  });

  it('keeps the status and message when a peer sends undecodable details', () => {
    const metadata = new Metadata();
    metadata.set('grpc-status-details-bin', Buffer.from([0xff, 0xff, 0xff]));
    const back = fromServiceError(Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'gone', metadata }));
    expect(back).toBeInstanceOf(NotFoundError);
    expect(back.message).toBe('gone');
    expect(back.violations).toEqual([]);
  });
});
