import { startManager, parseManagerConfig, type RunningManager } from '@flotilla/cluster-manager';
import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, createLogger, dial, type Logger } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus } from '@flotilla/proto/cluster';
import { makeTempDir, removeTempDir, testTls, tlsArgs, waitFor } from '@flotilla/testing';
import { runCliInProcess } from './in-process';

// One `flotilla run -d` is one request ID, from the CLI through the manager to the agent that
// creates the container: the same ID on the manager's lines and the agent's for that create. A
// real manager and agent (over a hollow engine) in this process, with mutual TLS, logging at debug.

type Line = Record<string, unknown>;
let manager: RunningManager;
let agent: RunningAgent;
let home: string;
const managerLines: Line[] = [];
const agentLines: Line[] = [];

function debugLogger(lines: Line[], service: string): Logger {
  return createLogger({ level: 'debug', fields: { service }, write: (line) => lines.push(JSON.parse(line) as Line) });
}

async function flotilla(env: NodeJS.ProcessEnv, ...args: string[]) {
  const tls = testTls('operator');
  return runCliInProcess(['--manager', `127.0.0.1:${manager.port}`, '--tls-ca', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key, ...args], { XDG_CONFIG_HOME: home, ...env });
}

beforeAll(async () => {
  home = makeTempDir('flotilla-cli-request-id-');
  const backend = new HollowDockerBackend({ name: 'hollow-r', id: 'HOLLOWR:AAAA:BBBB', cpus: 2, memoryBytes: 4 * 1024 ** 3 });
  agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: debugLogger(agentLines, 'engine-agent'), security: { kind: 'mtls', tls: testTls('agent') } });
  const engine = `127.0.0.1:${agent.port}`;
  manager = await startManager(parseManagerConfig(['--listen', '127.0.0.1:0', ...tlsArgs('manager'), '--engine', engine, '--log-level', 'debug'], {}), debugLogger(managerLines, 'cluster-manager'));
  const client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`, { tls: testTls('operator') });
  await waitFor(async () => (await call(client, client.getEngine, { engine })).engine?.status === EngineStatus.ENGINE_STATUS_HEALTHY, { what: 'the engine to be healthy' });
  client.close();
});

afterAll(async () => {
  await manager?.stop(1000);
  await agent?.stop(1000);
  removeTempDir(home);
});

const createOnManager = '/flotilla.cluster.v1.ClusterService/CreateContainer';
const createOnAgent = '/flotilla.agent.v1.EngineAgentService/CreateContainer';
const startOnAgent = '/flotilla.agent.v1.EngineAgentService/StartContainer';

it('run -d: the manager and the agent log the create under the CLI command\'s request ID', async () => {
  const before = managerLines.length;
  expect((await flotilla({}, 'run', '-d', '--name', 'traced', 'busybox:local', 'sleep', '300')).code).toBe(0);
  // The CLI made the ID; find it on the manager's line for the create.
  const managed = managerLines.slice(before).find((l) => l.msg === 'call' && l.method === createOnManager);
  expect(managed).toMatchObject({ level: 'debug', code: 'OK', requestId: expect.stringMatching(/^[0-9a-f]{16}$/), durationMs: expect.any(Number) });
  const requestId = managed!.requestId;
  // The agent's call line for the create, its start (run -d starts it), and its own "container created" line carry the same ID.
  expect(agentLines).toContainEqual(expect.objectContaining({ msg: 'call', method: createOnAgent, code: 'OK', requestId }));
  expect(agentLines).toContainEqual(expect.objectContaining({ msg: 'call', method: startOnAgent, code: 'OK', requestId }));
  expect(agentLines).toContainEqual(expect.objectContaining({ msg: 'container created', name: 'traced', requestId, method: createOnAgent }));
  // Nothing else the agent answered carries it (its Watch stream, health, other commands).
  const elsewhere = agentLines.filter((l) => l.requestId === requestId && l.method !== createOnAgent && l.method !== startOnAgent);
  expect(elsewhere).toEqual([]);
});

it('FLOTILLA_REQUEST_ID chooses the ID, e.g. a pipeline\'s, and each command without one gets a fresh one', async () => {
  expect((await flotilla({ FLOTILLA_REQUEST_ID: 'deploy-2024.06_17' }, 'run', '-d', '--name', 'chosen', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect(managerLines).toContainEqual(expect.objectContaining({ msg: 'call', method: createOnManager, requestId: 'deploy-2024.06_17' }));
  expect(agentLines).toContainEqual(expect.objectContaining({ msg: 'call', method: createOnAgent, requestId: 'deploy-2024.06_17' }));
  // Later commands: stop and rm, each with its own ID, on the manager and on to the agent.
  for (const [command, agentMethod] of [['stop', 'StopContainer'], ['rm', 'RemoveContainer']] as const) {
    const before = managerLines.length;
    expect((await flotilla({}, command, 'chosen')).code).toBe(0);
    const line = managerLines.slice(before).find((l) => l.msg === 'call' && typeof l.method === 'string' && l.method.endsWith(`/${agentMethod}`));
    expect(line?.requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(agentLines).toContainEqual(expect.objectContaining({ msg: 'call', method: `/flotilla.agent.v1.EngineAgentService/${agentMethod}`, requestId: line!.requestId }));
  }
});
