import { ErrorCode, errorCodeName } from './error-code';
import { errorClassFor, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnknownError } from './errors';
import { FlotillaError } from './flotilla-error';
import { clip } from './clip';

describe('domain errors', () => {
  it('has one class per canonical code, each named after itself', () => {
    const codes = Object.values(ErrorCode);
    const classes = codes.map((code) => errorClassFor(code));
    expect(new Set(classes).size).toBe(codes.length);
    for (const code of codes) {
      const err = new (errorClassFor(code))('m');
      expect(err).toBeInstanceOf(FlotillaError);
      expect(err.code).toBe(code);
      expect(err.name).toBe(errorClassFor(code).name);
      expect(err.reason).toBe(errorCodeName(code));
    }
    expect(errorClassFor(11)).toBe(UnknownError);
  });

  it('keeps a given reason, metadata and cause', () => {
    const cause = new Error('root');
    const err = new FailedPreconditionError('no engine fits', { cause, reason: 'NO_ENGINE_FITS', metadata: { engines: '3' } });
    expect(err.reason).toBe('NO_ENGINE_FITS');
    expect(err.metadata).toEqual({ engines: '3' });
    expect(err.cause).toBe(cause);
    expect(new NotFoundError('x').cause).toBeUndefined();
  });

  it('InvalidArgumentError.field names the field and the JSON value, as text and as a violation', () => {
    const err = InvalidArgumentError.field('labels', { a: 'b' }, 'too many');
    expect(err.message).toBe('labels {"a":"b"}: too many');
    expect(err.reason).toBe('INVALID_FIELD');
    expect(err.violations).toEqual([{ field: 'labels', description: '{"a":"b"}: too many' }]);
  });

  it('InvalidArgumentError.fields carries every violation', () => {
    const err = InvalidArgumentError.fields([
      { field: 'a', description: '1: bad' },
      { field: 'b', description: '2: worse' },
    ]);
    expect(err.violations).toHaveLength(2);
    expect(err.message).toBe('a 1: bad; b 2: worse');
  });

  it('names codes outside the canonical space by number', () => {
    expect(errorCodeName(5)).toBe('NOT_FOUND');
    expect(errorCodeName(99)).toBe('99');
  });
});

describe('clip', () => {
  it('keeps a short text, and cuts a long one by code point with an ellipsis', () => {
    expect(clip('abc', 5)).toBe('abc');
    expect(clip('abcdef', 3)).toBe('abc…');
    // An emoji is two UTF-16 units: never cut in half.
    expect(clip('😀😀😀', 2)).toBe('😀😀…');
  });
});
