import { flag } from '@flotilla/config';
import { checkPositionals, convert, optionsHelp, tokenize } from './args';
import { UsageError } from './errors';

const specs = {
  detach: flag('boolean', { short: 'd', description: 'detach' }),
  all: flag('boolean', { short: 'a', description: 'all' }),
  name: flag('string', { description: 'name' }),
  env: flag('string', { short: 'e', repeat: true, description: 'env' }),
  memory: flag('string', { short: 'm', description: 'memory' }),
  time: flag('integer', { short: 't', min: 0, description: 'time' }),
  strategy: flag('string', { choices: ['spread', 'binpack'], description: 'strategy' }),
  manager: flag('string', { env: 'FLOTILLA_MANAGER', default: '127.0.0.1:4240', description: 'manager' }),
};

describe('tokenize', () => {
  it('reads long, short, inline and clustered flags, repeated flags in order', () => {
    const t = tokenize(specs, ['-da', '--name', 'web', '-e', 'A=1', '--env=B=2', '-eC=3', '-m64m', 'IMAGE']);
    expect(Object.fromEntries(t.given)).toEqual({ detach: ['true'], all: ['true'], name: ['web'], env: ['A=1', 'B=2', 'C=3'], memory: ['64m'] });
    expect(t.positionals).toEqual(['IMAGE']);
  });

  it('never lets a boolean swallow the next word', () => {
    const t = tokenize(specs, ['-d', 'busybox', 'sleep', '1'], { passthroughAfter: 1 });
    expect(t.given.get('detach')).toEqual(['true']);
    expect(t.positionals).toEqual(['busybox', 'sleep', '1']);
  });

  it('passes everything after IMAGE through untouched, flags included', () => {
    const t = tokenize(specs, ['--name', 'x', 'busybox', 'sh', '-c', 'echo -d --name=y', '--', '-e'], { passthroughAfter: 1 });
    expect(t.positionals).toEqual(['busybox', 'sh', '-c', 'echo -d --name=y', '--', '-e']);
    expect(t.given.get('env')).toBeUndefined();
  });

  it('stops at --', () => {
    expect(tokenize(specs, ['-a', '--', '-d', '--name']).positionals).toEqual(['-d', '--name']);
  });

  it('notes --help and -h anywhere before the passthrough', () => {
    expect(tokenize(specs, ['ps', '--help']).help).toBe(true);
    expect(tokenize(specs, ['-h']).help).toBe(true);
    expect(tokenize(specs, ['busybox', '--help'], { passthroughAfter: 1 }).help).toBe(false);
  });

  it('rejects unknown flags and missing values with usage errors naming the command', () => {
    expect(() => tokenize(specs, ['--bogus'], {}, 'flotilla ps')).toThrow(new UsageError('unknown flag --bogus for "flotilla ps" (see flotilla ps --help)'));
    expect(() => tokenize(specs, ['-x'], {}, 'flotilla ps')).toThrow(/unknown flag -x for "flotilla ps"/);
    expect(() => tokenize(specs, ['--name'])).toThrow(/flag --name needs a value/);
    expect(() => tokenize(specs, ['-m'])).toThrow(/flag -m \(--memory\) needs a value/);
  });
});

describe('convert', () => {
  it('converts values, keeps the last of a single flag, defaults booleans to false', () => {
    const t = tokenize(specs, ['-t', '5', '--time=7', '--name', 'a', '--name', 'b']);
    const v = convert(specs, t.given, {});
    expect(v).toMatchObject({ time: 7, name: 'b', detach: false, all: false, env: [], manager: '127.0.0.1:4240' });
  });

  it('takes the environment when the flag is absent, and the flag over it', () => {
    expect(convert(specs, new Map(), { FLOTILLA_MANAGER: '10.0.0.1:1' }).manager).toBe('10.0.0.1:1');
    expect(convert(specs, new Map([['manager', ['10.0.0.2:2']]]), { FLOTILLA_MANAGER: '10.0.0.1:1' }).manager).toBe('10.0.0.2:2');
  });

  it('turns bad values into usage errors', () => {
    expect(() => convert(specs, new Map([['time', ['soon']]]), {}, 'flotilla stop')).toThrow(UsageError);
    expect(() => convert(specs, new Map([['time', ['-1']]]))).toThrow(/--time "-1": must be at least 0/);
    expect(() => convert(specs, new Map([['strategy', ['fast']]]))).toThrow(/expected one of spread, binpack/);
    expect(() => convert(specs, new Map([['detach', ['maybe']]]))).toThrow(/expected true or false/);
  });

  it('keeps a multi-line template as it is', () => {
    expect(convert(specs, new Map([['name', ['{{.A}}\n{{.B}}']]])).name).toBe('{{.A}}\n{{.B}}');
  });
});

describe('checkPositionals', () => {
  it('checks the minimum and the maximum', () => {
    expect(() => checkPositionals([], { min: 1, names: 'CONTAINER' }, 'flotilla stop')).toThrow('"flotilla stop" needs CONTAINER (see flotilla stop --help)');
    expect(() => checkPositionals(['x'], { max: 0 }, 'flotilla ps')).toThrow('"flotilla ps" takes no arguments, got "x" (see flotilla ps --help)');
    expect(() => checkPositionals(['a', 'b'], { max: 1, names: 'CONTAINER' }, 'flotilla logs')).toThrow(/at most 1 argument/);
    expect(() => checkPositionals(['a'], { min: 1, max: 1 }, 'x')).not.toThrow();
  });
});

it('lists options with their short forms, repeatability, defaults and environment variables', () => {
  const text = optionsHelp(specs);
  expect(text).toContain('-d, --detach');
  expect(text).toMatch(/-e, --env STRING\s+env \(repeatable\)/);
  expect(text).toMatch(/--manager STRING\s+manager \(default 127.0.0.1:4240; env FLOTILLA_MANAGER\)/);
});
