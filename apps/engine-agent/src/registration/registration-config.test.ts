import { parseAgentConfig } from '../config';

// An identity, so the flags under test are the only thing that can be wrong (the files are not read here).
const tls = { FLOTILLA_AGENT_TLS_CA: '/tls/ca.crt', FLOTILLA_AGENT_TLS_CERT: '/tls/agent.crt', FLOTILLA_AGENT_TLS_KEY: '/tls/agent.key' };
import { advertiseAddress } from './advertise-address';

describe('agent registration flags', () => {
  it('leaves registration off without --discovery', () => {
    expect(parseAgentConfig([], tls).registration).toBeUndefined();
  });

  it('reads --discovery, --advertise, heartbeat and TTL, with environment variables as the fallback', () => {
    expect(parseAgentConfig(['--discovery', 'etcd://127.0.0.1:2379/flotilla', '--advertise', 'Agent-1.Example:4250'], { ...tls, FLOTILLA_DISCOVERY_TTL: '45s' }).registration).toEqual({
      discovery: expect.objectContaining({ scheme: 'etcd', prefix: '/flotilla' }),
      advertise: 'agent-1.example:4250',
      heartbeatMs: 10_000,
      ttlMs: 45_000,
      etcdTls: { ca: undefined, cert: undefined, key: undefined },
    });
  });

  it.each([
    [['--discovery', 'file:///etc/engines'], /an agent can register only in etcd:\/\//],
    [['--discovery', 'etcd://127.0.0.1:2379/f', '--discovery-heartbeat', '30s'], /--discovery-ttl 30000: must be longer than --discovery-heartbeat/],
    [['--discovery', 'etcd://127.0.0.1:2379/f', '--listen', '0.0.0.0:4250'], /--advertise "": is required with --discovery when --listen is a wildcard/],
    [['--advertise', '10.0.0.1:4250'], /--advertise "10.0.0.1:4250": only means something with --discovery/],
    [['--discovery', 'etcd://127.0.0.1:2379/f', '--advertise', '10.0.0.1'], /--advertise "10.0.0.1"/],
  ])('refuses %j naming the flag', (argv, error) => {
    expect(() => parseAgentConfig(argv, tls)).toThrow(error);
  });

  it('advertises the listen address with the bound port unless told otherwise', () => {
    expect(advertiseAddress('127.0.0.1:0', 40123)).toBe('127.0.0.1:40123');
    expect(advertiseAddress('[::1]:4250', 4250)).toBe('[::1]:4250');
    expect(advertiseAddress('0.0.0.0:4250', 4250, '10.0.0.5:4250')).toBe('10.0.0.5:4250');
    expect(() => advertiseAddress('[::]:4250', 4250)).toThrow(/wildcard/);
  });
});
