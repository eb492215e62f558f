import { call, streamOf } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import { LogStream, requestIdLabel, type Container } from '@flotilla/proto';
import { CreateContainerRequest } from '@flotilla/proto/agent';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { actingRoleKey } from '@flotilla/policy';
import { busyboxRootfsTar, cleanupAll, makeTempDir, removeTempDir, startEngines, startTestRegistry, waitFor, type TestEngines } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { startAgentProcess, WatchRecorder, type AgentProcess } from './support';

// One real Docker engine and one agent process for this file; every container name is unique.
let engines: TestEngines;
let agent: AgentProcess;
let policyDir: string;
const docker = (...args: string[]) => engines.docker('engine-1', args);

beforeAll(async () => {
  engines = await startEngines({ count: 1, engineLabels: { 1: { zone: 'a' } } });
  // Host networking for operators, so a create can show Docker's own warnings (ports discarded).
  policyDir = makeTempDir('flotilla-agent-policy-');
  writeFileSync(path.join(policyDir, 'policy.json'), JSON.stringify({ roles: { operator: { hostNetwork: true } } }));
  agent = await startAgentProcess(engines.engines[0], '127.0.0.1:0', ['--container-policy', path.join(policyDir, 'policy.json')]);
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
  removeTempDir(policyDir);
});

async function codeOf(work: Promise<unknown>): Promise<{ code: status; message: string }> {
  try {
    await work;
  } catch (err) {
    if (err instanceof FlotillaError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('Watch', () => {
  it('starts with a snapshot that matches docker info and docker ps -a', async () => {
    await docker('run', '-d', '--network', 'none', '--name', 'snap-running', '--label', 'app=snap', '-m', '64m', 'busybox:local', 'sleep', '300');
    await docker('run', '--network', 'none', '--name', 'snap-exited', 'busybox:local', 'true');
    const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
    const snapshot = await watch.next('snapshot');
    watch.cancel();
    expect(watch.responses[0].sequence).toBe('1');

    const info = JSON.parse(await docker('info', '--format', '{{json .}}')) as { ID: string; Name: string; NCPU: number; MemTotal: number; ServerVersion: string; Labels: string[]; Driver: string; OSType: string };
    expect(snapshot.engine).toMatchObject({ id: info.ID, name: info.Name, cpus: String(info.NCPU), memoryBytes: String(info.MemTotal), serverVersion: info.ServerVersion, apiVersion: '1.41' });
    expect(snapshot.engine?.labels).toMatchObject({ zone: 'a', storagedriver: info.Driver, ostype: info.OSType });

    const ps = (await docker('ps', '-a', '--no-trunc', '--format', '{{json .}}')).split('\n').map((l) => JSON.parse(l) as { ID: string; Names: string; Image: string; State: string });
    const byId = new Map(snapshot.containers.map((c: Container) => [c.id, c]));
    expect([...byId.keys()].sort()).toEqual(ps.map((p) => p.ID).sort());
    for (const p of ps) expect(byId.get(p.ID)).toMatchObject({ names: [p.Names], image: p.Image, state: p.State });
    const running = snapshot.containers.find((c) => c.names[0] === 'snap-running');
    expect(running).toMatchObject({ labels: { app: 'snap' }, memoryBytes: String(64 * 1024 * 1024), networkMode: 'none', command: ['sleep', '300'] });
    expect(snapshot.images.some((i) => i.repoTags.includes('busybox:local'))).toBe(true);
    expect(snapshot.networks.map((n) => n.name).sort()).toEqual(['host', 'none']);
  });

  it('streams a container started with the docker CLI as deltas, with growing sequence numbers and heartbeats', async () => {
    const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
    await watch.next('snapshot');
    const id = await docker('run', '-d', '--network', 'none', '--name', 'delta-web', 'busybox:local', 'sleep', '300');
    const started = await watch.next('container', (d) => d.event?.action === 'start' && d.container?.id === id);
    expect(started.container).toMatchObject({ state: 'running', names: ['delta-web'] });
    expect(started.event?.actorAttributes.name).toBe('delta-web');
    await watch.next('heartbeat');
    await docker('rm', '-f', id);
    const destroyed = await watch.next('container', (d) => d.event?.action === 'destroy' && d.event.actorId === id);
    expect(destroyed.removed).toBe(true);
    watch.cancel();
    const sequences = watch.responses.map((r) => Number(r.sequence));
    expect(sequences).toEqual(sequences.map((_, i) => i + 1));
  });
});

describe('Watch heartbeats', () => {
  it("heartbeats a silent stream at the longer of the interval the caller asks for and the agent's own (200 ms here)", async () => {
    const slow = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 1500 }));
    const fast = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 50 }));
    try {
      expect((await slow.next('heartbeat')).intervalMs).toBe(1500);
      expect((await fast.next('heartbeat')).intervalMs).toBe(200);
    } finally {
      slow.cancel();
      fast.cancel();
    }
  });

  it('refuses an interval over 10 minutes, naming the field and the value', async () => {
    const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 600_001 }));
    const err = (await watch.failure()) as Error & { code?: number };
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toContain('heartbeat_interval_ms 600001');
  });
});

describe('container operations', () => {
  it('makes a create with a request ID at most once: concurrent and later retries answer with the same container', async () => {
    // A manager that died while its create was here, and the client's retry through another manager.
    const request = CreateContainerRequest.fromPartial({ name: '', image: 'busybox:local', command: ['sleep', '300'], networkMode: 'none', labels: { [requestIdLabel]: 'retry-me-once', app: 'once' } });
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(agent.client, agent.client.createContainer, request)));
    const ids = new Set(answers.map((a) => a.id));
    expect(ids.size).toBe(1);
    const later = await call(agent.client, agent.client.createContainer, request);
    expect(later.id).toBe(answers[0].id);
    const onEngine = (await docker('ps', '-aq', '--no-trunc', '--filter', `label=${requestIdLabel}=retry-me-once`)).split('\n').filter(Boolean);
    expect(onEngine).toEqual([answers[0].id]);
    // Without a request ID, two creates are two containers, as on Docker.
    const plain = CreateContainerRequest.fromPartial({ image: 'busybox:local', command: ['true'], networkMode: 'none', labels: { app: 'twice' } });
    const [a, b] = await Promise.all([call(agent.client, agent.client.createContainer, plain), call(agent.client, agent.client.createContainer, plain)]);
    expect(a.id).not.toBe(b.id);
    await docker('rm', '-f', answers[0].id, a.id, b.id);
  });

  it('create, start, inspect, logs, stop, kill and remove work through the agent', async () => {
    const created = await call(agent.client, agent.client.createContainer, CreateContainerRequest.fromPartial({
      name: 'ops-web',
      image: 'busybox:local',
      command: ['sh', '-c', 'echo hello-out; echo hello-err >&2; sleep 300'],
      env: ['GREETING=hi'],
      labels: { app: 'ops' },
      nanoCpus: '500000000',
      cpuShares: '0',
      memoryBytes: String(32 * 1024 * 1024),
      portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 18080 }],
      networkMode: 'host',
      restartPolicy: { name: 'on-failure', maximumRetryCount: 2 },
      entrypoint: [],
    }), { metadata: { [actingRoleKey]: 'operator' } });
    expect(created.id).toMatch(/^[0-9a-f]{64}$/);
    // Docker discards published ports in host network mode, and says so.
    expect(created.warnings.join(' ')).toMatch(/discarded/i);

    await call(agent.client, agent.client.startContainer, { id: created.id });
    expect((await call(agent.client, agent.client.startContainer, { id: 'ops-web' })).alreadyRunning).toBe(true);
    const inspected = await call(agent.client, agent.client.inspectContainer, { id: 'ops-web' });
    expect(inspected.container).toMatchObject({ id: created.id, state: 'running', labels: { app: 'ops' }, nanoCpus: '500000000', memoryBytes: String(32 * 1024 * 1024), restartPolicy: 'on-failure' });
    expect(inspected.container?.portBindings).toEqual([{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 18080 }]);
    expect(JSON.parse(inspected.rawJson).Config.Env).toContain('GREETING=hi');

    const output = await waitFor(async () => {
      const chunks = [];
      for await (const chunk of streamOf(agent.client.containerLogs({ id: created.id, follow: false, stdout: false, stderr: false, tail: 0, timestamps: false }))) chunks.push(chunk);
      const out = chunks.filter((c) => c.stream === LogStream.LOG_STREAM_STDOUT).map((c) => Buffer.from(c.data).toString()).join('');
      const err = chunks.filter((c) => c.stream === LogStream.LOG_STREAM_STDERR).map((c) => Buffer.from(c.data).toString()).join('');
      return out.includes('hello-out') && err.includes('hello-err') ? { out, err } : undefined;
    });
    expect(output.out).not.toContain('hello-err');

    expect((await call(agent.client, agent.client.stopContainer, { id: created.id, timeoutSeconds: 0 })).alreadyStopped).toBe(false);
    expect((await call(agent.client, agent.client.stopContainer, { id: created.id, timeoutSeconds: 0 })).alreadyStopped).toBe(true);
    await call(agent.client, agent.client.startContainer, { id: created.id });
    await call(agent.client, agent.client.killContainer, { id: created.id, signal: 'SIGKILL' });
    expect(JSON.parse(await docker('inspect', created.id))[0].State.Running).toBe(false);
    await call(agent.client, agent.client.removeContainer, { id: created.id, force: false, volumes: true });
    expect(await codeOf(call(agent.client, agent.client.inspectContainer, { id: created.id }))).toMatchObject({ code: status.NOT_FOUND });
  });

  it('follows logs as the container writes them', async () => {
    const id = await docker('run', '-d', '--network', 'none', '--name', 'ops-follow', 'busybox:local', 'sh', '-c', 'echo first; sleep 1; echo second; sleep 300');
    const stream = agent.client.containerLogs({ id, follow: true, stdout: true, stderr: true, tail: 0, timestamps: false });
    let text = '';
    stream.on('data', (c: { data: Uint8Array }) => (text += Buffer.from(c.data).toString()));
    stream.on('error', () => undefined);
    await waitFor(() => text.includes('first') && text.includes('second'), { what: 'both lines on the followed log' });
    stream.cancel();
  });

  it('maps Docker errors onto statuses and keeps Docker message', async () => {
    await docker('run', '-d', '--network', 'none', '--name', 'err-running', 'busybox:local', 'sleep', '300');
    const c = agent.client;
    const base = CreateContainerRequest.fromPartial({ name: '', image: 'busybox:local', command: ['true'], networkMode: 'none' });
    expect(await codeOf(call(c, c.inspectContainer, { id: 'no-such-container' }))).toMatchObject({ code: status.NOT_FOUND, message: expect.stringContaining('No such container') });
    expect(await codeOf(call(c, c.createContainer, { ...base, name: 'err-running' }))).toMatchObject({ code: status.ALREADY_EXISTS, message: expect.stringContaining('is already in use') });
    expect(await codeOf(call(c, c.removeContainer, { id: 'err-running', force: false, volumes: false }))).toMatchObject({ code: status.FAILED_PRECONDITION, message: expect.stringContaining('running container') });
    expect(await codeOf(call(c, c.createContainer, { ...base, name: 'err-image', image: 'no-such-image:1' }))).toMatchObject({ code: status.NOT_FOUND, message: expect.stringContaining('No such image') });
    expect(await codeOf(call(c, c.createContainer, { ...base, image: 'Bad//Ref' }))).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await codeOf(call(c, c.createContainer, { ...base, image: '' }))).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^image ""/) });
    expect(await codeOf(call(c, c.startContainer, { id: '' }))).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^id ""/) });
    expect(await codeOf(call(c, c.killContainer, { id: 'err-running', signal: 'SIGNOPE' }))).toMatchObject({ code: status.INVALID_ARGUMENT });
    // A volume name goes into Docker's URL: anything outside Docker's grammar is refused first.
    for (const name of ['../containers/err-running', 'a?force=1', '']) {
      expect(await codeOf(call(c, c.inspectVolume, { name }))).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^name "/) });
      expect(await codeOf(call(c, c.removeVolume, { name, force: true }))).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^name "/) });
    }
    await docker('rm', '-f', 'err-running');
  });

  it('pulls an image with progress from a registry', async () => {
    const registry = await startTestRegistry([{ repository: 'flotilla/pulled', tag: '1', rootfsTar: busyboxRootfsTar(), cmd: ['echo', 'pulled'] }]);
    try {
      const image = registry.reference('flotilla/pulled', '1');
      const progress = [];
      for await (const line of streamOf(agent.client.pullImage({ image }))) progress.push(line.progress);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)?.status).toMatch(/Downloaded newer image|Image is up to date/);
      expect(progress.some((p) => p !== undefined && p.layerId !== '')).toBe(true);
      expect(await docker('images', '--format', '{{.Repository}}:{{.Tag}}')).toContain(image);
      // A tag the registry does not have is NOT_FOUND, with Docker's reason.
      const missing = registry.reference('flotilla/pulled', 'missing');
      const failed = await codeOf((async () => { for await (const _ of streamOf(agent.client.pullImage({ image: missing }))) void _; })());
      expect(failed).toMatchObject({ code: status.NOT_FOUND, message: expect.stringContaining('manifest unknown') });
    } finally {
      await registry.close();
    }
  });

  it('reports an unreachable registry as UNAVAILABLE and a bad reference as INVALID_ARGUMENT', async () => {
    const pull = (image: string) => (async () => {
      const lines = [];
      for await (const line of streamOf(agent.client.pullImage({ image }))) lines.push(line);
      return lines;
    })();
    const failed = await codeOf(pull('127.0.0.1:1/flotilla/none:1'));
    expect(failed.code).toBe(status.UNAVAILABLE);
    expect(failed.message).toMatch(/connection refused/);
    expect((await codeOf(pull('UPPER/case'))).code).toBe(status.INVALID_ARGUMENT);
  });
});
