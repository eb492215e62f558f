import { createLogger, isLogLevel, logLevels, silentLogger, type LoggerOptions } from './logger';

/** A logger writing into an array, and the parsed lines. */
function capture(options: Omit<LoggerOptions, 'write'> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ ...options, write: (line) => lines.push(line) });
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, entries };
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, msg and fields', () => {
    const { logger, lines, entries } = capture();
    const before = Date.now();
    logger.info('engine joined', { engine: 'e1', cpus: 4, labels: { zone: 'a' } });
    const after = Date.now();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const [entry] = entries();
    expect(entry).toEqual({ time: expect.any(String), level: 'info', msg: 'engine joined', engine: 'e1', cpus: 4, labels: { zone: 'a' } });
    const time = Date.parse(entry.time as string);
    expect(entry.time).toBe(new Date(time).toISOString());
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
  });

  it('puts level and time first', () => {
    const { logger, entries } = capture();
    logger.warn('slow', { a: 1 });
    expect(Object.keys(entries()[0]).slice(0, 2)).toEqual(['level', 'time']);
  });

  it('logs every level at debug', () => {
    const { logger, entries } = capture({ level: 'debug' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(entries().map((e) => [e.level, e.msg])).toEqual([
      ['debug', 'd'],
      ['info', 'i'],
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });

  it('drops messages below its level (info by default)', () => {
    const byDefault = capture();
    byDefault.logger.debug('hidden');
    byDefault.logger.info('shown');
    expect(byDefault.entries().map((e) => e.msg)).toEqual(['shown']);

    const atWarn = capture({ level: 'warn' });
    atWarn.logger.debug('d');
    atWarn.logger.info('i');
    atWarn.logger.warn('w');
    atWarn.logger.error('e');
    expect(atWarn.entries().map((e) => e.level)).toEqual(['warn', 'error']);

    const atError = capture({ level: 'error' });
    atError.logger.warn('w');
    atError.logger.error('e');
    expect(atError.entries().map((e) => e.level)).toEqual(['error']);
  });

  it('adds the base fields to every line', () => {
    const { logger, entries } = capture({ fields: { service: 'discovery' } });
    logger.info('up');
    logger.info('call', { method: 'Join' });
    expect(entries()).toEqual([
      expect.objectContaining({ msg: 'up', service: 'discovery' }),
      expect.objectContaining({ msg: 'call', service: 'discovery', method: 'Join' }),
    ]);
  });

  it('gives children the parent fields plus their own, and the parent level and output', () => {
    const { logger, entries } = capture({ level: 'warn', fields: { service: 'agent', zone: 'a' } });
    const child = logger.child({ engine: 'e1', zone: 'b' });
    const grandchild = child.child({ call: 7 });
    child.info('dropped');
    child.warn('from child', { extra: true });
    grandchild.error('from grandchild');
    logger.warn('from parent');
    expect(entries()).toEqual([
      { time: expect.any(String), level: 'warn', msg: 'from child', service: 'agent', zone: 'b', engine: 'e1', extra: true },
      { time: expect.any(String), level: 'error', msg: 'from grandchild', service: 'agent', zone: 'b', engine: 'e1', call: 7 },
      { time: expect.any(String), level: 'warn', msg: 'from parent', service: 'agent', zone: 'a' },
    ]);
  });

  it('serialises Error values with their name and message', () => {
    const { logger, entries } = capture();
    logger.error('call failed', { err: new TypeError('bad input'), code: 3 });
    expect(entries()[0]).toMatchObject({ err: { name: 'TypeError', message: 'bad input' }, code: 3 });
  });

  it('serialises Error values and bigints in child fields too', () => {
    const { logger, entries } = capture();
    logger.child({ cause: new RangeError('out of range'), big: 10n ** 20n }).info('context');
    expect(entries()[0]).toMatchObject({ cause: { name: 'RangeError', message: 'out of range' }, big: '100000000000000000000' });
  });

  it('writes bigints as strings', () => {
    const { logger, entries } = capture();
    logger.info('big', { bytes: 2n ** 64n });
    expect(entries()[0].bytes).toBe('18446744073709551616');
  });

  it('writes to stderr by default', () => {
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      createLogger().info('to stderr', { n: 1 });
      expect(spy).toHaveBeenCalledTimes(1);
      const written = String(spy.mock.calls[0][0]);
      expect(written.endsWith('\n')).toBe(true);
      expect(JSON.parse(written)).toMatchObject({ level: 'info', msg: 'to stderr', n: 1 });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('silentLogger', () => {
  it('writes nothing, children included', () => {
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      silentLogger.error('nothing');
      silentLogger.child({ a: 1 }).error('nothing either');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('log levels', () => {
  it('lists the levels from least to most severe and recognises them', () => {
    expect(logLevels).toEqual(['debug', 'info', 'warn', 'error']);
    for (const level of logLevels) expect(isLogLevel(level)).toBe(true);
    expect(isLogLevel('trace')).toBe(false);
    expect(isLogLevel('INFO')).toBe(false);
    expect(isLogLevel('')).toBe(false);
  });
});
