import { spawn } from 'node:child_process';
import { call, dial } from '@flotilla/grpc';
import { CertificateAuthority } from '@flotilla/pki';
import { EngineAgentServiceClient } from '@flotilla/proto/agent';
import { ClusterServiceClient, ContainerSpec, EngineStatus, ListEnginesRequest } from '@flotilla/proto/cluster';
import {
  cleanupAll,
  freePort,
  listeningTcpPorts,
  makeTempDir,
  outcomeOf,
  processesMentioning,
  processName,
  removeTempDir,
  startEngines,
  startNodeService,
  testTls,
  waitFor,
  type RunningService,
  type TestEngines,
} from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { engineIn, startAgentProcess, startManagerProcess, type ManagerProcess } from './support';

// The security model against the real services: one real engine, its agent and a manager, each a
// process of its own, every link mutual TLS with certificates from the test CA.
let engines: TestEngines;
let agent: RunningService;
let manager: ManagerProcess;
let foreignDir: string;
const clients: Array<{ close(): void }> = [];

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgentProcess(engines.engines[0], await freePort());
  manager = await startManagerProcess(['--engine', agent.address]);
  await engineIn(manager.client, agent.address, EngineStatus.ENGINE_STATUS_HEALTHY);
  foreignDir = makeTempDir('flotilla-foreign-ca-');
});

afterAll(async () => {
  for (const c of clients) c.close();
  await manager?.close();
  await cleanupAll();
  removeTempDir(foreignDir);
});

type Files = { ca?: string; cert?: string; key?: string };
const asRole = (role: Parameters<typeof testTls>[0]): Files => testTls(role);
function clusterClient(tls: Files | undefined): ClusterServiceClient {
  const c = dial(ClusterServiceClient, manager.address, { tls, defaultDeadlineMs: 20_000 });
  clients.push(c);
  return c;
}
function agentClient(tls: Files | undefined): EngineAgentServiceClient {
  const c = dial(EngineAgentServiceClient, agent.address, { tls, defaultDeadlineMs: 20_000 });
  clients.push(c);
  return c;
}
const listAll = ListEnginesRequest.fromPartial({});

describe('who may connect', () => {
  it('refuses a client without a certificate, and a plaintext one, on the manager and on the agent', async () => {
    const noCert = { ca: testTls('operator').ca };
    for (const attempt of [
      outcomeOf(call(clusterClient(noCert), clusterClient(noCert).getInfo, {})),
      outcomeOf(call(clusterClient(undefined), clusterClient(undefined).getInfo, {})),
      outcomeOf(call(agentClient(noCert), agentClient(noCert).inspectContainer, { id: 'x' })),
      outcomeOf(call(agentClient(undefined), agentClient(undefined).inspectContainer, { id: 'x' })),
    ]) {
      expect(await attempt).toMatchObject({ code: status.UNAVAILABLE });
    }
  });

  it('refuses a certificate from another CA, even with a good role', async () => {
    const foreign = CertificateAuthority.create(foreignDir);
    const issued = foreign.issue({ role: 'operator', name: 'mallory' });
    const tls = { ca: testTls('operator').ca, cert: issued.cert, key: issued.key };
    expect(await outcomeOf(call(clusterClient(tls), clusterClient(tls).getInfo, {}))).toMatchObject({ code: status.UNAVAILABLE });
    const managerLike = foreign.issue({ role: 'manager', name: 'fake-manager' });
    const agentTls = { ca: testTls('operator').ca, cert: managerLike.cert, key: managerLike.key };
    expect(await outcomeOf(call(agentClient(agentTls), agentClient(agentTls).inspectContainer, { id: 'x' }))).toMatchObject({ code: status.UNAVAILABLE });
  });
});

describe('roles', () => {
  it('lets an operator use the cluster API, and not SyncEngines', async () => {
    const c = clusterClient(asRole('operator'));
    expect(await outcomeOf(call(c, c.getInfo, {}))).toBe('ok');
    expect(await outcomeOf(call(c, c.listEngines, listAll))).toBe('ok');
    expect(await outcomeOf(call(c, c.syncEngines, { source: 'nodes://x', generation: '1', addresses: [] }))).toMatchObject({
      code: status.PERMISSION_DENIED,
      message: expect.stringContaining('allowed: discovery'),
    });
  });

  it('lets a reader list, inspect, watch and explain, and nothing that changes the cluster', async () => {
    const c = clusterClient(asRole('reader'));
    expect(await outcomeOf(call(c, c.getInfo, {}))).toBe('ok');
    expect(await outcomeOf(call(c, c.getEngine, { engine: agent.address }))).toBe('ok');
    expect(await outcomeOf(call(c, c.listVolumes, { engines: [], names: [], labels: {}, pageSize: 0, pageToken: '' }))).toBe('ok');
    for (const attempt of [
      call(c, c.addEngine, { address: '127.0.0.1:1' }),
      call(c, c.removeEngine, { engine: agent.address }),
      call(c, c.createContainer, { spec: ContainerSpec.fromPartial({ name: 'x', image: 'busybox:local' }), start: false, requestId: '' }),
      call(c, c.removeContainer, { container: 'x', force: true, volumes: false }),
      call(c, c.createVolume, { name: 'reader-vol', engines: [], allEngines: true, driver: '', labels: {}, driverOpts: {} }),
      call(c, c.removeVolume, { name: 'reader-vol', engine: '', force: false }),
    ]) {
      expect(await outcomeOf(attempt)).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringContaining('role "reader"') });
    }
    // Nothing changed: the engine is still there and healthy.
    await engineIn(manager.client, agent.address, EngineStatus.ENGINE_STATUS_HEALTHY);
  });

  it('lets discovery call SyncEngines only', async () => {
    const c = clusterClient(asRole('discovery'));
    expect(await outcomeOf(call(c, c.getInfo, {}))).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringContaining('role "discovery"') });
    expect(await outcomeOf(call(c, c.syncEngines, { source: 'nodes://security-test', generation: '1', addresses: [] }))).toBe('ok');
  });

  it('lets only a manager call an engine-agent: an operator calling it directly skips nothing', async () => {
    for (const role of ['operator', 'reader', 'discovery', 'agent'] as const) {
      const c = agentClient(asRole(role));
      expect(await outcomeOf(call(c, c.inspectContainer, { id: 'no-such' }))).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringContaining(`role "${role}"`) });
    }
    const asManager = agentClient(asRole('manager'));
    expect(await outcomeOf(call(asManager, asManager.inspectContainer, { id: 'no-such' }))).toMatchObject({ code: status.NOT_FOUND });
  });

  it('logs every refusal with the caller it refused', async () => {
    const c = agentClient(asRole('operator'));
    await outcomeOf(call(c, c.inspectContainer, { id: 'logged' }));
    await agent.process.waitForLine((line) => line.includes('"permission denied"') && line.includes('"caller":"test-operator"') && line.includes('"role":"operator"'), 30_000);
  });
});

describe('starting without certificates', () => {
  it('refuses to start, naming the missing flags', async () => {
    const services = [
      { name: 'bare-manager', script: 'apps/cluster-manager/dist/main.js', args: ['--listen', '127.0.0.1:0'] },
      { name: 'bare-agent', script: 'apps/engine-agent/dist/main.js', args: ['--listen', '127.0.0.1:0', '--docker-host', engines.engines[0].dockerHost] },
      { name: 'bare-discovery', script: 'apps/discovery/dist/main.js', args: ['--listen', '127.0.0.1:0', '--discovery', 'nodes://127.0.0.1:1', '--manager', manager.address] },
    ];
    for (const service of services) {
      await expect(startNodeService({ ...service, identity: 'none' })).rejects.toThrow(/mutual TLS is required: give --tls-ca, --tls-cert and --tls-key/);
    }
  });

  it('accepts --insecure only on loopback, and warns in its log', async () => {
    const refused = startNodeService({ name: 'insecure-wildcard', script: 'apps/cluster-manager/dist/main.js', args: ['--listen', '0.0.0.0:0'], identity: 'insecure' });
    await expect(refused).rejects.toThrow(/--insecure is accepted only on a loopback address/);
    const loopback = await startNodeService({ name: 'insecure-loopback', script: 'apps/cluster-manager/dist/main.js', args: ['--listen', '127.0.0.1:0'], identity: 'insecure' });
    const warning = JSON.parse(await loopback.process.waitForLine(/INSECURE/)) as { level: string };
    expect(warning.level).toBe('warn');
    await loopback.process.stop();
  });
});

describe('the Docker engine', () => {
  it('listens on its unix socket only, which an unprivileged local user cannot open', async () => {
    const engine = engines.engines[0];
    // The engine's own processes (dockerd and its containerd), not the agent that names its socket.
    const pids = processesMentioning(engine.socket).filter((pid) => /^(dockerd|containerd)/.test(processName(pid)));
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.flatMap((pid) => listeningTcpPorts(pid))).toEqual([]);
    // As nobody (uid 65534), with the same Node.js binary: connecting to the socket is refused.
    const script = `require('net').connect(${JSON.stringify(engine.socket)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const answer = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out.trim()));
    });
    expect(answer).toMatch(/^(EACCES|ENOENT)$/);
    expect(answer).not.toBe('CONNECTED');
  });

  it('cannot be reached through the cluster by a local user without a certificate', async () => {
    // What the outside review did as nobody: the cluster API in plaintext. The manager answers no one without a certificate.
    const script = [
      `const h = require('http2').connect('http://${manager.address}');`,
      `const done = (what) => { console.log(what); process.exit(0); };`,
      `h.on('error', (e) => done('REFUSED ' + e.code)); h.on('close', () => done('REFUSED closed'));`,
      `const r = h.request({ ':path': '/flotilla.cluster.v1.ClusterService/GetInfo', ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' });`,
      `r.on('response', (hd) => done('ANSWERED ' + JSON.stringify(hd)));`,
      `r.on('error', (e) => done('REFUSED ' + e.code)); r.on('close', () => done('REFUSED stream closed ' + r.rstCode));`,
      `r.end(Buffer.alloc(5));`,
    ].join('\n');
    const answer = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out.trim()));
    });
    expect(answer).toMatch(/^REFUSED /);
    // And the cluster is as it was.
    const engine = await waitFor(async () => (await call(manager.client, manager.client.getEngine, { engine: agent.address })).engine, { what: 'the engine' });
    expect(engine.status).toBe(EngineStatus.ENGINE_STATUS_HEALTHY);
  });
});
