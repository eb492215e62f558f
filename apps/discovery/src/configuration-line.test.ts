import { versionLinePattern, versionRun } from '@flotilla/testing';
import { discoveryConfigurationFields, parseDiscoveryConfig } from './config';

// The "configuration" line the discovery logs at start, and its --version.

const tls = { FLOTILLA_DISCOVERY_TLS_CA: '/etc/flotilla/ca.crt', FLOTILLA_DISCOVERY_TLS_CERT: '/etc/flotilla/discovery.crt', FLOTILLA_DISCOVERY_TLS_KEY: '/etc/flotilla/discovery.key' };

describe('the configuration line', () => {
  it('has the version, the build and every flag with its effective value; secrets are masked, paths shown', () => {
    const config = parseDiscoveryConfig(['--discovery', 'etcd://flotilla:hunter2@10.0.0.1:2379/engines', '--manager', '127.0.0.1:4240'], { ...tls, FLOTILLA_ETCD_TLS_KEY: '/etc/etcd/client.key' });
    const fields = discoveryConfigurationFields(config);
    expect(fields).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), build: expect.any(String) });
    const flags = fields.flags as Record<string, unknown>;
    expect(Object.keys(flags)).toEqual(Object.keys(config.flags));
    expect(flags).toMatchObject({ discovery: 'etcd://flotilla:***@10.0.0.1:2379/engines', manager: ['127.0.0.1:4240'], 'etcd-tls-key': '/etc/etcd/client.key', 'tls-key': '/etc/flotilla/discovery.key', 'push-interval': 30000 });
    expect(JSON.stringify(fields)).not.toContain('hunter2');
  });
});

it('--version prints the version and the build (spawns the built main.js)', () => {
  expect(versionRun('apps/discovery/dist/main.js')).toEqual({ status: 0, stderr: '', stdout: expect.stringMatching(versionLinePattern('flotilla-discovery')) });
});
