import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger } from '@flotilla/grpc';
import { actingRoleKey, loadPolicy } from '@flotilla/policy';
import { CreateContainerRequest, EngineAgentServiceClient } from '@flotilla/proto/agent';
import { ClusterServiceClient, ContainerSpec, EngineStatus } from '@flotilla/proto/cluster';
import { makeTempDir, outcomeOf, removeTempDir, testTls, tlsArgs, waitFor } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { parseManagerConfig } from '../src/config';
import { startManager, type RunningManager } from '../src/manager';

// The container policy against the real manager and a real agent (over a hollow engine), in this
// process, every link mutual TLS with certificates from the test CA. The manager's policy lets
// operators have host networking and privileged mode; the agent's lets them have host networking
// and binds under /srv/data only, so a privileged create passes the manager and the agent refuses.
let dir: string;
let backend: HollowDockerBackend;
let agent: RunningAgent;
let manager: RunningManager;
let agentAddress: string;
const clients: Array<{ close(): void }> = [];

function clusterClient(role: 'operator' | 'reader'): ClusterServiceClient {
  const client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`, { tls: testTls(role), defaultDeadlineMs: 20_000 });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  dir = makeTempDir('flotilla-policy-test-');
  const agentPolicy = path.join(dir, 'agent-policy.json');
  writeFileSync(agentPolicy, JSON.stringify({ roles: { operator: { hostNetwork: true, bindPaths: ['/srv/data'] } } }));
  const managerPolicy = path.join(dir, 'manager-policy.json');
  writeFileSync(managerPolicy, JSON.stringify({ roles: { operator: { hostNetwork: true, privileged: true } } }));
  backend = new HollowDockerBackend({ name: 'hollow-policy' });
  agent = await startAgent({
    backend,
    listen: '127.0.0.1:0',
    heartbeatIntervalMs: 1000,
    logger: silentLogger,
    security: { kind: 'mtls', tls: testTls('agent') },
    containerPolicy: loadPolicy(agentPolicy, 'engine-agent'),
  });
  agentAddress = `127.0.0.1:${agent.port}`;
  const config = parseManagerConfig(['--listen', '127.0.0.1:0', ...tlsArgs('manager'), '--engine', agentAddress, '--container-policy', managerPolicy], {});
  manager = await startManager(config, silentLogger);
  const operator = clusterClient('operator');
  await waitFor(async () => (await call(operator, operator.getEngine, { engine: agentAddress })).engine?.status === EngineStatus.ENGINE_STATUS_HEALTHY, {
    what: 'the hollow engine to be healthy',
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await manager?.stop(1000);
  await agent?.stop(1000);
  removeTempDir(dir);
});

const spec = (fields: Partial<ContainerSpec>) => ContainerSpec.fromPartial({ image: 'busybox:local', ...fields });

describe('the manager\'s container policy', () => {
  it('refuses what it does not allow the caller\'s role, naming the field and its policy, in create and explain', async () => {
    const operator = clusterClient('operator');
    const reader = clusterClient('reader');
    const binds = await outcomeOf(call(operator, operator.createContainer, { spec: spec({ name: 'etc', binds: ['/etc:/host-etc'] }), start: false, requestId: '' }));
    expect(binds).toEqual({
      code: status.PERMISSION_DENIED,
      message: `binds[0] "/etc:/host-etc": the cluster-manager's container policy (${path.join(dir, 'manager-policy.json')}) does not allow binding host path /etc for role "operator" (allow it with "bindPaths" in --container-policy)`,
    });
    expect(await outcomeOf(call(reader, reader.explainPlacement, { spec: spec({ networkMode: 'host' }) }))).toMatchObject({
      code: status.PERMISSION_DENIED,
      message: expect.stringMatching(/^networkMode "host": the cluster-manager's container policy .* for role "reader"/),
    });
    expect(await outcomeOf(call(operator, operator.explainPlacement, { spec: spec({ networkMode: 'host' }) }))).toBe('ok');
    expect([...manager.cluster.all()].flatMap((e) => [...e.containers.values()])).toEqual([]);
  });

  it('creates what both policies allow', async () => {
    const operator = clusterClient('operator');
    const created = await call(operator, operator.createContainer, { spec: spec({ name: 'hostnet', networkMode: 'host' }), start: false, requestId: '' });
    expect(created.engine?.address).toBe(agentAddress);
  });

  it('is backed by the agent\'s own policy: what the manager allows and the agent does not is refused by the agent', async () => {
    const operator = clusterClient('operator');
    expect(await outcomeOf(call(operator, operator.createContainer, { spec: spec({ name: 'root', privileged: true }), start: false, requestId: '' }))).toMatchObject({
      code: status.PERMISSION_DENIED,
      message: expect.stringMatching(/^privileged true: the engine-agent's container policy \(.*agent-policy\.json\) does not allow privileged containers for role "operator"/),
    });
    expect([...manager.cluster.all()].flatMap((e) => [...e.containers.values()].map((c) => c.names[0]))).not.toContain('root');
  });
});

describe('the agent\'s container policy, called directly with a manager certificate', () => {
  const create = (fields: Partial<CreateContainerRequest>, actingRole: string | undefined) => {
    const client = dial(EngineAgentServiceClient, agentAddress, { tls: testTls('manager', 'stolen-manager'), defaultDeadlineMs: 20_000 });
    clients.push(client);
    const request = CreateContainerRequest.fromPartial({ image: 'busybox:local', ...fields });
    return outcomeOf(call(client, client.createContainer, request, { metadata: actingRole ? { [actingRoleKey]: actingRole } : {} }));
  };

  it('refuses what its policy forbids the role the manager acts for', async () => {
    expect(await create({ privileged: true }, 'operator')).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringMatching(/^privileged true: the engine-agent's container policy/) });
    expect(await create({ networkMode: 'host' }, 'reader')).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringContaining('for role "reader"') });
    expect(await create({ binds: ['/srv/data/../../etc:/etc'] }, 'operator')).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^binds\[0\] /) });
  });

  it('allows nothing of the host when the manager names no role, and allows what the policy gives the named role', async () => {
    expect(await create({ networkMode: 'host' }, undefined)).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringContaining('for a caller without a role') });
    expect(await create({ name: 'direct-bind', binds: ['/srv/data/app:/data'] }, 'operator')).toBe('ok');
  });
});
