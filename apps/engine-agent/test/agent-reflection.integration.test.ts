import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createLogger, dial } from '@flotilla/grpc';
import { EngineAgentServiceClient } from '@flotilla/proto/agent';
import { bufCurlArgs, cleanupAll, repoRoot, spawnService, startEngines, testTls, waitFor, type TestEngines } from '@flotilla/testing';
import { DockerodeBackend } from '../src/docker/dockerode-backend';
import { startAgent, type RunningAgent } from '../src/agent';
import { startAgentProcess, WatchRecorder, type AgentProcess } from './support';

const run = promisify(execFile);
const buf = path.join(repoRoot(), 'node_modules', '.bin', 'buf');

let engines: TestEngines;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
});

afterAll(async () => {
  await cleanupAll();
});

describe('an independent client (buf curl, through reflection)', () => {
  let agent: AgentProcess;
  beforeAll(async () => {
    agent = await startAgentProcess(engines.engines[0]);
  });
  afterAll(async () => agent?.close());

  // As the manager: the only role an agent answers (health and reflection answer any certificate of the cluster).
  const curl = async (method: string, ...args: string[]) => (await run(buf, bufCurlArgs('manager', agent.address, method, args), { timeout: 60_000 })).stdout;

  it('lists the services it serves, and no other', async () => {
    const services = (await curl('', '--list-services')).split('\n').filter(Boolean).sort();
    expect(services).toEqual(['flotilla.agent.v1.EngineAgentService', 'flotilla.version.v1.VersionService', 'grpc.health.v1.Health']);
  });

  it('answers its program, version and build through the version service', async () => {
    const out = JSON.parse(await curl('flotilla.version.v1.VersionService/GetVersion', '-d', '{}')) as Record<string, string>;
    const line = (await run(process.execPath, [path.join(repoRoot(), 'apps', 'engine-agent', 'deploy', 'main.js'), '--version'])).stdout;
    expect(line).toBe(`${out.program} ${out.version} (build ${out.build})\n`);
    expect(out).toMatchObject({ program: 'flotilla-engine-agent', runtime: process.version });
  });

  it('calls the health service', async () => {
    const out = JSON.parse(await curl('grpc.health.v1.Health/Check', '-d', '{"service":"flotilla.agent.v1.EngineAgentService"}')) as { status: string };
    expect(out.status).toBe('SERVING');
  });

  it('streams a snapshot whose engine ID matches docker info', async () => {
    const engineId = await engines.docker('engine-1', ['info', '--format', '{{.ID}}']);
    // buf curl keeps the stream open: it runs until the first message is printed whole (its
    // closing brace alone on a line), then is stopped, and what it printed is read.
    const watching = spawnService({ name: 'buf-curl-watch', command: buf, args: bufCurlArgs('manager', agent.address, 'flotilla.agent.v1.EngineAgentService/Watch', ['--connect-timeout', '30']) });
    let out: string;
    try {
      await watching.waitForLine(/^}$/, 60_000);
      out = watching.lines.join('\n');
    } finally {
      await watching.stop();
    }
    const first = JSON.parse(out.slice(0, out.indexOf('\n}') + 2)) as { sequence: string; snapshot: { engine: { id: string } } };
    expect(first.sequence).toBe('1');
    expect(first.snapshot.engine.id).toBe(engineId);
  });
});

describe('watchers', () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    const backend = new DockerodeBackend(engines.engines[0].dockerHost);
    agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 200, logger: createLogger({ level: 'warn' }), security: { kind: 'mtls', tls: testTls('agent') } });
  });
  afterAll(async () => agent?.stop(1000));

  it('share one Docker event subscription and each get every event', async () => {
    const clients = [0, 1].map(() => dial(EngineAgentServiceClient, `127.0.0.1:${agent.port}`, { tls: testTls('manager') }));
    const watches = clients.map((c) => new WatchRecorder(c.watch({ heartbeatIntervalMs: 0 })));
    await Promise.all(watches.map((w) => w.next('snapshot')));
    const id = await engines.docker('engine-1', ['create', '--network', 'none', '--name', 'shared-sub', 'busybox:local', 'true']);
    await Promise.all(watches.map((w) => w.next('container', (d) => d.container?.id === id)));
    expect(agent.monitor.eventSubscriptions).toBe(1);
    expect(agent.monitor.watcherCount).toBe(2);
    watches.forEach((w) => w.cancel());
    await waitFor(() => agent.monitor.watcherCount === 0, { what: 'watchers to be gone after cancel' });
    clients.forEach((c) => c.close());
  });
});

describe('shutdown', () => {
  it('ends open streams and exits 0 on SIGTERM, within the grace period', async () => {
    const agent = await startAgentProcess(engines.engines[0]);
    const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
    await watch.next('snapshot');
    const exit = await agent.process.stop(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    await waitFor(() => watch.ended || watch.error, { what: 'the Watch stream to end' });
    expect(agent.process.lines.some((l) => l.includes('"signal received"'))).toBe(true);
    agent.client.close();
  });
});
