import { versionLinePattern, versionRun } from '@flotilla/testing';
import { agentConfigurationFields, parseAgentConfig } from './config';

// The "configuration" line the engine-agent logs at start, and its --version.

const tls = { FLOTILLA_AGENT_TLS_CA: '/etc/flotilla/ca.crt', FLOTILLA_AGENT_TLS_CERT: '/etc/flotilla/agent.crt', FLOTILLA_AGENT_TLS_KEY: '/etc/flotilla/agent.key' };

describe('the configuration line', () => {
  it('has the version, the build and every flag with its effective value; secrets are masked, paths shown', () => {
    const config = parseAgentConfig(['--docker-host', 'unix:///run/docker.sock', '--discovery', 'etcd://flotilla:hunter2@10.0.0.1:2379/engines', '--advertise', '10.0.0.7:4250'], { ...tls, FLOTILLA_DOCKER_TLS_KEY: '/etc/docker/key.pem' });
    const fields = agentConfigurationFields(config);
    expect(fields).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), build: expect.any(String) });
    const flags = fields.flags as Record<string, unknown>;
    expect(Object.keys(flags)).toEqual(Object.keys(config.flags));
    expect(flags).toMatchObject({ 'docker-host': 'unix:///run/docker.sock', 'docker-tls-key': '/etc/docker/key.pem', 'docker-tls-ca': null, 'tls-key': '/etc/flotilla/agent.key', discovery: 'etcd://flotilla:***@10.0.0.1:2379/engines', advertise: '10.0.0.7:4250', 'heartbeat-interval': 1000 });
    expect(JSON.stringify(fields)).not.toContain('hunter2');
  });
});

it('--version prints the version and the build (spawns the built main.js)', () => {
  expect(versionRun('apps/engine-agent/dist/main.js')).toEqual({ status: 0, stderr: '', stdout: expect.stringMatching(versionLinePattern('flotilla-engine-agent')) });
});
