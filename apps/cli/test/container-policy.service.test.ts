import { startManager, parseManagerConfig, type RunningManager } from '@flotilla/cluster-manager';
import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus } from '@flotilla/proto/cluster';
import { makeTempDir, removeTempDir, testTls, tlsArgs, waitFor } from '@flotilla/testing';
import { runAsOperator } from './in-process';

// `flotilla run` refused by the container policy, against a real manager and agent (over a hollow
// engine) in this process, with mutual TLS and the default policy: nothing of the host for anyone.
let agent: RunningAgent;
let manager: RunningManager;
let home: string;

const flotilla = (...args: string[]) => runAsOperator(manager.port, home, args);

beforeAll(async () => {
  home = makeTempDir('flotilla-cli-policy-');
  agent = await startAgent({ backend: new HollowDockerBackend({ name: 'hollow-cli' }), listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: { kind: 'mtls', tls: testTls('agent') } });
  const engine = `127.0.0.1:${agent.port}`;
  manager = await startManager(parseManagerConfig(['--listen', '127.0.0.1:0', ...tlsArgs('manager'), '--engine', engine], {}), silentLogger);
  const client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`, { tls: testTls('operator') });
  await waitFor(async () => (await call(client, client.getEngine, { engine })).engine?.status === EngineStatus.ENGINE_STATUS_HEALTHY, { what: 'the hollow engine to be healthy' });
  client.close();
});

afterAll(async () => {
  await manager?.stop(1000);
  await agent?.stop(1000);
  removeTempDir(home);
});

it('prints a container policy refusal as one line and exits 7, in run and explain', async () => {
  const line =
    'flotilla: networkMode "host": the cluster-manager\'s container policy (default: nothing of the host) does not allow host networking for role "operator" (allow it with "hostNetwork" in --container-policy)\n';
  expect(await flotilla('run', '-d', '--network', 'host', 'busybox:local', 'sh')).toEqual({ code: 7, stdout: '', stderr: line });
  expect(await flotilla('explain', '--network', 'host', 'busybox:local')).toEqual({ code: 7, stdout: '', stderr: line });
  const bind = await flotilla('run', '-d', '-v', '/:/host', 'busybox:local', 'sh');
  expect(bind.code).toBe(7);
  expect(bind.stderr).toMatch(/^flotilla: binds\[0\] "\/:\/host": .*binding host path \/ for role "operator"[^\n]*\n$/);
  expect((await flotilla('run', '-d', '--network', 'none', 'busybox:local', 'sh')).code).toBe(0);
});
