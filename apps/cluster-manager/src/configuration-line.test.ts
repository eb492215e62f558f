import { versionLinePattern, versionRun } from '@flotilla/testing';
import { managerConfigurationFields, parseManagerConfig } from './config';

// The "configuration" line the cluster-manager logs at start, and its --version.

const tls = { FLOTILLA_MANAGER_TLS_CA: '/etc/flotilla/ca.crt', FLOTILLA_MANAGER_TLS_CERT: '/etc/flotilla/manager.crt', FLOTILLA_MANAGER_TLS_KEY: '/etc/flotilla/manager.key' };

describe('the configuration line', () => {
  it('has the version, the build and every flag with its effective value; secrets are masked, paths shown', () => {
    const config = parseManagerConfig(['--engine', '127.0.0.1:4250', '--strategy', 'binpack'], { ...tls, FLOTILLA_OVERCOMMIT: '0.5' });
    const fields = managerConfigurationFields(config);
    expect(fields).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), build: expect.any(String) });
    const flags = fields.flags as Record<string, unknown>;
    expect(Object.keys(flags)).toEqual(Object.keys(config.flags));
    expect(flags).toMatchObject({ 'tls-ca': '/etc/flotilla/ca.crt', 'tls-key': '/etc/flotilla/manager.key', insecure: false, engine: ['127.0.0.1:4250'], strategy: 'binpack', overcommit: 0.5, 'metrics-address': '', listen: '127.0.0.1:4240', 'log-level': 'info' });
  });
});

it('--version prints the version and the build (spawns the built main.js)', () => {
  expect(versionRun('apps/cluster-manager/dist/main.js')).toEqual({ status: 0, stderr: '', stdout: expect.stringMatching(versionLinePattern('flotilla-cluster-manager')) });
});

it('--placement-candidates: 100 by default, 0 weighs every engine, a negative count is refused by name', () => {
  expect(parseManagerConfig([], tls).placementCandidates).toBe(100);
  expect(parseManagerConfig(['--placement-candidates', '0'], tls).placementCandidates).toBe(0);
  expect(parseManagerConfig([], { ...tls, FLOTILLA_PLACEMENT_CANDIDATES: '500' }).placementCandidates).toBe(500);
  expect(() => parseManagerConfig(['--placement-candidates', '-1'], tls)).toThrow(/placement-candidates/);
});
