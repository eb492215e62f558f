import { Readable } from 'node:stream';
import { createLogger, dial, streamOf } from '@flotilla/grpc';
import type { ContainerStats } from '@flotilla/proto';
import { EngineAgentServiceClient, type ContainerStatsRequest, type ContainerStatsResponse } from '@flotilla/proto/agent';
import { cleanupAll, failureOf, startEngines, StreamRecorder, waitFor, type TestEngines } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { startAgent, type RunningAgent } from '../src';
import { DockerodeBackend } from '../src/docker/dockerode-backend';
import { HollowDockerBackend } from '../src/testing';
import { startAgentProcess, type AgentProcess } from './support';

// ContainerStats on one real Docker engine through one agent process; every container has its
// own name. Two in-process agents beside it show what happens to Docker's stream and to lines an
// engine gets wrong.
let engines: TestEngines;
let agent: AgentProcess;
const docker = (...args: string[]) => engines.docker('engine-1', args);
const MiB = 1024n * 1024n;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgentProcess(engines.engines[0]);
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
});

const a = () => agent.client;

/** Every sample of a call that must end OK. */
async function samples(request: ContainerStatsRequest, client = a()): Promise<ContainerStats[]> {
  const out: ContainerStats[] = [];
  for await (const response of streamOf(client.containerStats(request))) out.push(response.stats!);
  return out;
}

it('streams memory as it moves, then ends when the caller cancels', async () => {
  // The container writes 32 MiB to its /dev/shm (memory that is not page cache) once the test has
  // its first sample: a gate, not a sleep, so a slow start cannot hide the change.
  const id = await docker('run', '-d', '--network', 'none', '--name', 'stats-dd', 'busybox:local', 'sh', '-c', 'until [ -e /tmp/go ]; do sleep 1; done; dd if=/dev/zero of=/dev/shm/f bs=1M count=32; sleep 600');
  const stream = new StreamRecorder<ContainerStatsResponse>(a().containerStats({ id, stream: true }));
  const first = (await stream.nextMatching((r) => r.stats?.read !== undefined, 'a first sample')).stats!;
  expect(first).toMatchObject({ containerId: id, name: 'stats-dd' });
  expect(BigInt(first.memoryLimitBytes)).toBeGreaterThan(0n);
  expect(first.onlineCpus).toBeGreaterThan(0);
  expect((JSON.parse(first.rawJson) as { id: string }).id).toBe(id);

  await docker('exec', id, 'sh', '-c', ': > /tmp/go');
  const grown = (await stream.nextMatching((r) => BigInt(r.stats?.memoryUsageBytes ?? '0') >= BigInt(first.memoryUsageBytes) + 24n * MiB, 'a sample with 24 MiB more memory than the first', 0, 60_000)).stats!;
  expect(grown).toMatchObject({ containerId: id, name: 'stats-dd' });
  expect(grown.read).toBeInstanceOf(Date);
  // Samples after the first carry the one before.
  expect(grown.previousRead).toBeInstanceOf(Date);
  expect(BigInt(grown.systemCpuNs)).toBeGreaterThan(BigInt(grown.previousSystemCpuNs));
  expect(grown.memoryPercent).toBeGreaterThan(0);
  expect(stream.ended).toBe(false);

  stream.cancel();
  const ended = await stream.failure();
  expect((ended as Error & { code?: number }).code).toBe(status.CANCELLED);
  await docker('rm', '-f', id);
});

it('answers one sample without stream, with the CPU figures of the sample Docker took before it', async () => {
  // A busy container, so the CPU figures have something to show.
  const id = await docker('run', '-d', '--network', 'none', '--name', 'stats-busy', 'busybox:local', 'sh', '-c', 'while :; do :; done');
  try {
    const all = await samples({ id: 'stats-busy', stream: false });
    expect(all).toHaveLength(1);
    const [one] = all;
    expect(one).toMatchObject({ containerId: id, name: 'stats-busy', pids: '1' });
    expect(one.read).toBeInstanceOf(Date);
    expect(one.previousRead).toBeInstanceOf(Date);
    expect(one.previousRead!.getTime()).toBeLessThan(one.read!.getTime());
    const cpuDelta = Number(BigInt(one.cpuTotalNs) - BigInt(one.previousCpuTotalNs));
    const systemDelta = Number(BigInt(one.systemCpuNs) - BigInt(one.previousSystemCpuNs));
    expect(cpuDelta).toBeGreaterThan(0);
    expect(systemDelta).toBeGreaterThan(0);
    expect(one.onlineCpus).toBeGreaterThan(0);
    expect(one.cpuPercent).toBeCloseTo((cpuDelta / systemDelta) * one.onlineCpus * 100, 6);
    expect(one.cpuPercent).toBeGreaterThan(0);
    expect(one.cpuPercent).toBeLessThanOrEqual(100 * one.onlineCpus);
    expect(BigInt(one.memoryUsageBytes)).toBeGreaterThan(0n);
  } finally {
    await docker('rm', '-f', id);
  }
});

it('answers one sample of zeros for a container that never ran, streamed or not, and ends a stream when its container stops', async () => {
  const id = await docker('create', '--network', 'none', '--name', 'stats-created', 'busybox:local', 'sleep', '300');
  for (const stream of [false, true]) {
    const all = await samples({ id, stream });
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ containerId: id, name: 'stats-created', read: undefined, previousRead: undefined, memoryUsageBytes: '0', cpuTotalNs: '0', previousCpuTotalNs: '0', pids: '0', cpuPercent: 0 });
  }
  await docker('rm', id);

  const running = await docker('run', '-d', '--network', 'none', '--name', 'stats-stopping', 'busybox:local', 'sleep', '600');
  const stream = new StreamRecorder<ContainerStatsResponse>(a().containerStats({ id: running, stream: true }));
  await stream.nextMatching((r) => r.stats?.read !== undefined, 'a first sample');
  await docker('stop', '-t', '0', running);
  await waitFor(() => stream.ended || stream.error, { what: 'the stream to end after the stop', timeoutMs: 30_000 });
  expect(stream.error).toBeUndefined();
  expect(stream.items.at(-1)?.stats).toMatchObject({ read: undefined, memoryUsageBytes: '0', previousCpuTotalNs: '0' });
  await docker('rm', running);
});

it('refuses an unknown ID with NOT_FOUND and an empty one with INVALID_ARGUMENT naming id', async () => {
  const missing = await failureOf(samples({ id: 'stats-no-such', stream: false }));
  expect(missing.code).toBe(status.NOT_FOUND);
  expect(missing.message).toMatch(/No such container/);
  for (const id of ['', ' ']) {
    const empty = await failureOf(samples({ id, stream: true }));
    expect({ code: empty.code, field: empty.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'id' });
  }
});

describe('in-process agents', () => {
  const running: RunningAgent[] = [];
  const clients: EngineAgentServiceClient[] = [];
  const warnings: Array<{ msg: string; line?: string }> = [];

  async function inProcess(backend: DockerodeBackend | HollowDockerBackend): Promise<EngineAgentServiceClient> {
    const logger = createLogger({ level: 'warn', write: (line) => warnings.push(JSON.parse(line) as { msg: string; line?: string }) });
    const started = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger, security: { kind: 'insecure' } });
    running.push(started);
    const client = dial(EngineAgentServiceClient, `127.0.0.1:${started.port}`);
    clients.push(client);
    return client;
  }

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const started of running) await started.stop(1000);
  });

  it("closes Docker's stream when the caller cancels", async () => {
    const streams: Readable[] = [];
    class Recording extends DockerodeBackend {
      override async containerStats(id: string, stream: boolean): Promise<Readable> {
        const source = await super.containerStats(id, stream);
        streams.push(source);
        return source;
      }
    }
    const client = await inProcess(new Recording(engines.engines[0].dockerHost));
    const id = await docker('run', '-d', '--network', 'none', '--name', 'stats-cancel', 'busybox:local', 'sleep', '600');
    const stream = new StreamRecorder<ContainerStatsResponse>(client.containerStats({ id, stream: true }));
    await stream.nextMatching((r) => r.stats?.read !== undefined, 'a first sample');
    expect(streams).toHaveLength(1);
    expect(streams[0].destroyed).toBe(false);
    stream.cancel();
    await waitFor(() => streams[0].destroyed, { what: "Docker's stats stream to be closed" });
    await docker('rm', '-f', id);
  });

  it('skips malformed lines and lines over the cap, warning once for the long ones', async () => {
    const sample = (n: number) => JSON.stringify({ read: `2026-11-29T13:52:5${n}Z`, preread: '0001-01-01T00:00:00Z', id: 'scripted', name: '/scripted', memory_stats: { usage: n * 1000, limit: 10_000 } });
    const long = `{"pad":"${'x'.repeat(300 * 1024)}"}`;
    class Scripted extends HollowDockerBackend {
      override async containerStats(): Promise<Readable> {
        // A sample split across chunks, a malformed line, two lines over the cap.
        const second = sample(2);
        return Readable.from([`${sample(1)}\nnot json at all ${'y'.repeat(400)}\n${long}\n${second.slice(0, 10)}`, `${second.slice(10)}\n${long}\n`]);
      }
    }
    const client = await inProcess(new Scripted());
    const all = await samples({ id: 'scripted', stream: true }, client);
    expect(all.map((s) => s.memoryUsageBytes)).toEqual(['1000', '2000']);
    const malformed = warnings.filter((w) => w.msg === 'skipping a malformed stats line');
    expect(malformed).toHaveLength(1);
    expect(malformed[0].line).toHaveLength(300);
    expect(warnings.filter((w) => w.msg === 'skipping stats lines over the line cap')).toHaveLength(1);
  });
});
