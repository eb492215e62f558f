import { HelpRequested } from '@flotilla/config';
import { discoveryHelp, parseDiscoveryConfig } from './config';

// An identity, so the flags under test are the only thing that can be wrong (the files are not read here).
const tls = { FLOTILLA_DISCOVERY_TLS_CA: '/tls/ca.crt', FLOTILLA_DISCOVERY_TLS_CERT: '/tls/d.crt', FLOTILLA_DISCOVERY_TLS_KEY: '/tls/d.key' };

describe('discovery flags', () => {
  it('reads flags, with environment variables as the fallback', () => {
    const config = parseDiscoveryConfig(['--discovery', 'file:///etc/flotilla/engines', '--push-interval', '1m'], { ...tls, FLOTILLA_MANAGERS: '127.0.0.1:4240, Manager.Example:4240,127.0.0.1:4240', FLOTILLA_RETRY_MAX: '2s' });
    expect(config).toMatchObject({
      discovery: { scheme: 'file', path: '/etc/flotilla/engines', source: 'file:///etc/flotilla/engines' },
      managers: ['127.0.0.1:4240', 'manager.example:4240'],
      listen: '127.0.0.1:4230',
      pushIntervalMs: 60_000,
      pushTimeoutMs: 10_000,
      retry: { initialMs: 200, maxMs: 2000 },
      fileRereadIntervalMs: 5000,
    });
    expect(parseDiscoveryConfig([], { ...tls, FLOTILLA_DISCOVERY: 'etcd://u:p@10.0.0.1:2379/f', FLOTILLA_MANAGERS: 'm:1', FLOTILLA_ETCD_TLS_CA: '/ca.pem' })).toMatchObject({
      discovery: { scheme: 'etcd', source: 'etcd://10.0.0.1:2379/f', username: 'u', password: 'p' },
      etcdTls: { ca: '/ca.pem' },
    });
  });

  it.each([
    [[], {}, /^--discovery "": is required/],
    [['--discovery', 'a:1'], {}, /^--manager "": at least one cluster-manager address is required/],
    [['--discovery', 'consul://x:8500/p', '--manager', 'm:1'], {}, /^--discovery "consul:\/\/x:8500\/p": unknown scheme consul:\/\//],
    [['--discovery', 'a:1', '--manager', 'nope'], {}, /^--manager "nope"/],
    [['--discovery', 'a:1', '--manager', 'm:1', '--push-interval', '10ms'], {}, /^--push-interval "10ms": must be at least 100/],
  ])('refuses %j naming the flag', (argv, env, error) => {
    expect(() => parseDiscoveryConfig(argv, { ...tls, ...env })).toThrow(error);
  });

  it('documents every flag, its environment variable, and the range limit in --help', () => {
    expect(() => parseDiscoveryConfig(['--help'], {})).toThrow(HelpRequested);
    for (const text of ['--discovery URI', 'FLOTILLA_DISCOVERY', '--manager HOST:PORT', 'FLOTILLA_MANAGERS', '--etcd-tls-ca', '--tls-ca', '--insecure', 'FLOTILLA_DISCOVERY_TLS_CA', '--push-interval', 'at most\n4096 addresses', '10.0.0.[10:20]:2375']) {
      expect(discoveryHelp).toContain(text);
    }
  });
});
