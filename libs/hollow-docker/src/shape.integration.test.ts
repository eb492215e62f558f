import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { DockerodeBackend, startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { dial, silentLogger } from '@flotilla/grpc';
import type { Container } from '@flotilla/proto';
import { EngineAgentServiceClient, type WatchResponse } from '@flotilla/proto/agent';
import { cleanupAll, startEngines, StreamRecorder, type TestEngines } from '@flotilla/testing';
import { HollowDockerServer } from './server';

// The check that a hollow engine is faithful where it matters: the same containers on one real
// Docker engine and on a hollow one, the real engine-agent (its dockerode back end) beside each,
// and the agent's first Watch snapshot of both compared. IDs and times differ; shapes must not.

type Snapshot = Extract<NonNullable<WatchResponse['message']>, { $case: 'snapshot' }>['value'];

let engines: TestEngines;
let hollow: HollowDockerServer;
let dir: string;
const agents: RunningAgent[] = [];
const clients: EngineAgentServiceClient[] = [];

/** The same containers, made the same way, on any engine. */
async function populate(docker: Docker): Promise<void> {
  const running = await docker.createContainer({
    name: 'shape-running',
    Image: 'busybox:local',
    Cmd: ['sleep', '300'],
    Labels: { app: 'shape', tier: 'web' },
    HostConfig: { NetworkMode: 'none', Memory: 64 * 1024 * 1024, NanoCpus: 100_000_000, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } },
  });
  await running.start();
  await docker.createContainer({ name: 'shape-created', Image: 'busybox:local', Cmd: ['sleep', '300'], Labels: { app: 'shape' }, HostConfig: { NetworkMode: 'none' } });
  const exited = await docker.createContainer({ name: 'shape-exited', Image: 'busybox:local', Cmd: ['sh', '-c', 'exit 3'], HostConfig: { NetworkMode: 'none' } });
  await exited.start();
  await exited.wait();
  const killed = await docker.createContainer({ name: 'shape-killed', Image: 'busybox:local', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } });
  await killed.start();
  await killed.kill({ signal: 'SIGKILL' });
  await killed.wait();
}

async function snapshotOf(dockerHost: string): Promise<Snapshot> {
  const agent = await startAgent({ backend: new DockerodeBackend(dockerHost), listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: { kind: 'insecure' } });
  agents.push(agent);
  const client = dial(EngineAgentServiceClient, `127.0.0.1:${agent.port}`);
  clients.push(client);
  const watch = new StreamRecorder<WatchResponse>(client.watch({ heartbeatIntervalMs: 0 }));
  const first = await watch.nextMatching((r) => r.message?.$case === 'snapshot', 'the first Watch snapshot');
  watch.cancel();
  return (first.message as { $case: 'snapshot'; value: Snapshot }).value;
}

const keys = (o: object | undefined) => Object.keys(o ?? {}).sort();
const byName = (s: Snapshot) => new Map(s.containers.map((c: Container) => [c.names[0], c]));
/** What must be equal between the engines: everything but IDs, times and the status text's durations. */
function comparable(c: Container): Record<string, unknown> {
  return {
    names: c.names,
    image: c.image,
    command: c.command,
    state: c.state,
    status: c.status.replace(/\d+ seconds?|Less than a second|About a minute|\d+ minutes?/g, 'T'),
    labels: c.labels,
    nanoCpus: c.nanoCpus,
    cpuShares: c.cpuShares,
    memoryBytes: c.memoryBytes,
    portBindings: c.portBindings,
    networkMode: c.networkMode,
    exitCode: c.exitCode,
    restartPolicy: c.restartPolicy,
    hasImageId: c.imageId.startsWith('sha256:'),
    times: [c.created, c.startedAt, c.finishedAt].map((t) => (t ? 'set' : 'unset')),
  };
}

let real: Snapshot;
let fake: Snapshot;
let realDocker: Docker;
let hollowDocker: Docker;

beforeAll(async () => {
  engines = await startEngines({ count: 1, engineLabels: { 1: { zone: 'a' } } });
  realDocker = new Docker({ socketPath: engines.engines[0].socket });
  const realNetworks = (await realDocker.listNetworks()).map((n) => n.Name);
  // The engine's configuration (labels, networks) is copied; what the engine reports about it must match.
  const realLabels = Object.fromEntries(((await realDocker.info()).Labels as string[]).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  dir = mkdtempSync(path.join(tmpdir(), 'hollow-shape-'));
  hollow = await HollowDockerServer.start({ socketPath: path.join(dir, 'hollow.sock'), labels: realLabels, networks: realNetworks, apiVersion: (await realDocker.version()).ApiVersion });
  hollowDocker = new Docker({ socketPath: hollow.socketPath });
  await Promise.all([populate(realDocker), populate(hollowDocker)]);
  [real, fake] = await Promise.all([snapshotOf(engines.engines[0].dockerHost), snapshotOf(hollow.dockerHost)]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(agents.map((a) => a.stop(1000)));
  await hollow?.close();
  await cleanupAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('gives the engine the same shape: fields, labels, API version', () => {
  expect(keys(fake)).toEqual(keys(real));
  expect(keys(fake.engine)).toEqual(keys(real.engine));
  expect(keys(fake.engine?.labels)).toEqual(keys(real.engine?.labels));
  expect(fake.engine?.labels.zone).toBe('a');
  expect(fake.engine?.apiVersion).toBe(real.engine?.apiVersion);
  for (const field of ['id', 'name', 'serverVersion', 'operatingSystem', 'kernelVersion', 'architecture', 'storageDriver'] as const) {
    expect([field, typeof fake.engine?.[field], fake.engine?.[field] !== '']).toEqual([field, typeof real.engine?.[field], real.engine?.[field] !== '']);
  }
  expect(fake.engine?.systemTime).toBeDefined();
});

it('gives every container the same shape, names, labels, states, commands and limits', () => {
  const [r, f] = [byName(real), byName(fake)];
  expect([...f.keys()].sort()).toEqual([...r.keys()].sort());
  expect(r.size).toBe(4);
  for (const [name, rc] of r) {
    const fc = f.get(name)!;
    expect([name, keys(fc)]).toEqual([name, keys(rc)]);
    expect(comparable(fc)).toEqual(comparable(rc));
  }
});

it('gives images and networks the same shape', () => {
  const realBusybox = real.images.find((i) => i.repoTags.includes('busybox:local'));
  const fakeBusybox = fake.images.find((i) => i.repoTags.includes('busybox:local'));
  expect(fakeBusybox).toBeDefined();
  expect(keys(fakeBusybox)).toEqual(keys(realBusybox));
  expect(fake.networks.map((n) => n.name).sort()).toEqual(real.networks.map((n) => n.name).sort());
  expect(keys(fake.networks[0])).toEqual(keys(real.networks[0]));
  expect(fake.volumes).toEqual(real.volumes);
});

it('answers Docker\'s raw inspect and info with no field a real engine lacks', async () => {
  const extra = (hollowObj: object, realObj: object) => keys(hollowObj).filter((k) => !(k in realObj));
  const missing = (hollowObj: object, realObj: object) => keys(realObj).filter((k) => !(k in hollowObj));
  const ri = await realDocker.getContainer('shape-running').inspect();
  const hi = await hollowDocker.getContainer('shape-running').inspect();
  for (const part of [undefined, 'State', 'Config', 'HostConfig'] as const) {
    const [h, rr] = part ? [(hi as unknown as Record<string, object>)[part], (ri as unknown as Record<string, object>)[part]] : [hi, ri];
    expect([part ?? 'inspect', extra(h, rr)]).toEqual([part ?? 'inspect', []]);
    // Fields the agent maps are all there; a few others a real engine has may be missing.
    expect([part ?? 'inspect', missing(h, rr).filter((k) => ['Id', 'Name', 'Created', 'Path', 'Args', 'Image', 'Status', 'Running', 'ExitCode', 'StartedAt', 'FinishedAt', 'Labels', 'Tty', 'NanoCpus', 'CpuShares', 'Memory', 'NetworkMode', 'PortBindings', 'RestartPolicy'].includes(k))]).toEqual([part ?? 'inspect', []]);
  }
  const rinfo = (await realDocker.info()) as object;
  const hinfo = (await hollowDocker.info()) as object;
  expect(extra(hinfo, rinfo)).toEqual([]);
  const rlist = (await realDocker.listContainers({ all: true }))[0] as object;
  const hlist = (await hollowDocker.listContainers({ all: true }))[0] as object;
  expect(keys(hlist)).toEqual(keys(rlist));
});
