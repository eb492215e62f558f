import { InvalidArgumentError } from '@flotilla/errors';
import { flag, helpText, HelpRequested, parseDuration, parseFlags } from './flags';

const specs = {
  listen: flag('string', { env: 'T_LISTEN', default: '127.0.0.1:1', description: 'where' }),
  interval: flag('duration', { env: 'T_INTERVAL', default: 1000, min: 50, description: 'how often' }),
  retries: flag('integer', { default: 3, min: 0, max: 10, description: 'how many' }),
  ratio: flag('number', { default: 0.05, description: 'overcommit' }),
  verbose: flag('boolean', { default: false, description: 'talk' }),
  filters: flag('list', { default: ['health', 'port'], description: 'which' }),
  level: flag('string', { default: 'info', choices: ['debug', 'info'], description: 'level' }),
  cert: flag('string', { env: 'T_CERT', description: 'file' }),
};

describe('parseFlags', () => {
  it('uses defaults, then environment, then flags', () => {
    expect(parseFlags(specs, [], {})).toEqual({ listen: '127.0.0.1:1', interval: 1000, retries: 3, ratio: 0.05, verbose: false, filters: ['health', 'port'], level: 'info', cert: undefined });
    const fromEnv = parseFlags(specs, [], { T_LISTEN: '0.0.0.0:9', T_INTERVAL: '2s', T_CERT: '/c.pem' });
    expect(fromEnv).toMatchObject({ listen: '0.0.0.0:9', interval: 2000, cert: '/c.pem' });
    const fromFlags = parseFlags(specs, ['--listen', 'h:2', '--interval=250ms', '--verbose', '--filters', 'a, b', '--ratio', '0.5'], { T_LISTEN: 'env:1' });
    expect(fromFlags).toMatchObject({ listen: 'h:2', interval: 250, verbose: true, filters: ['a', 'b'], ratio: 0.5 });
  });

  it.each([
    [['--nope', '1'], /^flag "--nope": unknown flag/],
    [['stray'], /^argument "stray"/],
    [['--interval', 'soon'], /^--interval "soon": expected a duration/],
    [['--interval', '10ms'], /^--interval "10ms": must be at least 50/],
    [['--retries', '2.5'], /^--retries "2.5": expected a whole number/],
    [['--retries', '11'], /^--retries "11": must be at most 10/],
    [['--verbose=maybe'], /^--verbose "maybe": expected true or false/],
    [['--level', 'loud'], /^--level "loud": expected one of debug, info/],
    [['--listen'], /^--listen "": needs a value/],
  ])('rejects %p naming the flag and value', (argv, message) => {
    expect(() => parseFlags(specs, argv, {})).toThrow(InvalidArgumentError);
    expect(() => parseFlags(specs, argv, {})).toThrow(message);
  });

  it('rejects a bad environment value naming the flag', () => {
    expect(() => parseFlags(specs, [], { T_INTERVAL: 'x' })).toThrow(/^--interval "x"/);
  });

  it('signals --help', () => {
    expect(() => parseFlags(specs, ['--help'], {})).toThrow(HelpRequested);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1.5m', 90000],
    ['1h', 3600000],
    ['75', 75],
  ])('%s is %d ms', (text, ms) => expect(parseDuration('d', text)).toBe(ms));
});

describe('helpText', () => {
  it('documents every flag with its environment variable and default', () => {
    const text = helpText('Usage: x', 'Does x.', specs);
    for (const name of Object.keys(specs)) expect(text).toContain(`--${name}`);
    expect(text).toContain('env T_LISTEN');
    expect(text).toContain('(default 127.0.0.1:1)');
    expect(text).toContain('One of: debug, info.');
  });
});
