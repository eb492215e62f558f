import { InvalidArgumentError } from '@flotilla/errors';
import { helpText, parseFlags } from './flags';
import { metricsAddressFrom, metricsFlags } from './metrics-flags';

const specs = metricsFlags('T');
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => metricsAddressFrom(parseFlags(specs, argv, env));

describe('metricsFlags', () => {
  it('is off by default', () => {
    expect(parse([])).toBeUndefined();
    expect(parse(['--metrics-address', ''])).toBeUndefined();
  });

  it('takes a loopback address from the flag or the environment, port 0 included', () => {
    expect(parse(['--metrics-address', '127.0.0.1:9464'])).toBe('127.0.0.1:9464');
    expect(parse([], { T_METRICS_ADDRESS: '127.0.0.2:0' })).toBe('127.0.0.2:0');
    expect(parse(['--metrics-address=localhost:9100'])).toBe('localhost:9100');
    expect(parse(['--metrics-address', '[::1]:9100'])).toBe('[::1]:9100');
  });

  it.each(['0.0.0.0:9100', '10.1.2.3:9100', 'metrics.example.com:9100', '[::]:9100'])('refuses %s, naming the flag, the value and why', (address) => {
    expect(() => parse(['--metrics-address', address])).toThrow(InvalidArgumentError);
    expect(() => parse(['--metrics-address', address])).toThrow(`--metrics-address ${JSON.stringify(address)}: the metrics endpoint is plain HTTP with no authentication: only a loopback address`);
  });

  it('refuses a malformed address naming the flag', () => {
    expect(() => parse(['--metrics-address', '127.0.0.1'])).toThrow(/^--metrics-address "127.0.0.1": expected host:port/);
  });

  it('says in --help that it is for a local scraper, and names the variable', () => {
    const help = helpText('Usage: x', 'x', specs);
    expect(help).toContain('--metrics-address');
    expect(help).toContain('T_METRICS_ADDRESS');
    expect(help).toMatch(/local scraper or sidecar/);
  });
});
