import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { HollowDockerServer } from './server';

let dir: string;
let server: HollowDockerServer;
let docker: Docker;

interface HttpError {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
  message?: string;
}

async function failure(work: Promise<unknown>): Promise<HttpError> {
  try {
    await work;
  } catch (err) {
    return err as HttpError;
  }
  throw new Error('expected the call to fail');
}

/** Reads a stream of newline-delimited JSON until `done` says stop (or the stream ends). */
function readLines(stream: Readable, done: (lines: Array<Record<string, unknown>>) => boolean): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const lines: Array<Record<string, unknown>> = [];
    let rest = '';
    const finish = () => {
      stream.destroy();
      resolve(lines);
    };
    stream.on('data', (chunk: Buffer) => {
      rest += chunk.toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Record<string, unknown>);
      if (done(lines)) finish();
    });
    stream.on('end', () => resolve(lines));
    stream.on('error', reject);
  });
}

/** Splits Docker's multiplexed log frames into stdout and stderr text. */
function demux(buffer: Buffer): { out: string; err: string } {
  let out = '';
  let err = '';
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at + 4);
    const text = buffer.subarray(at + 8, at + 8 + size).toString();
    if (buffer[at] === 2) err += text;
    else out += text;
    at += 8 + size;
  }
  return { out, err };
}

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hollow-docker-'));
  server = await HollowDockerServer.start({ socketPath: path.join(dir, 'engine.sock'), name: 'hollow-test', labels: { zone: 'a' }, cpus: 8, memoryBytes: 32 * 1024 ** 3 });
  docker = new Docker({ socketPath: server.socketPath, version: 'v1.43' });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => server.clearFailures());

describe('engine', () => {
  it('answers ping, version and info', async () => {
    expect(String(await docker.ping())).toBe('OK');
    const version = await new Docker({ socketPath: server.socketPath }).version();
    expect(version).toMatchObject({ ApiVersion: '1.43', MinAPIVersion: '1.24', Os: 'linux' });
    expect(typeof version.Version).toBe('string');
    const info = await docker.info();
    expect(info).toMatchObject({ Name: 'hollow-test', NCPU: 8, MemTotal: 32 * 1024 ** 3, Labels: ['zone=a'], OSType: 'linux', Driver: 'overlay2' });
    expect(info.ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(info.SystemTime)).not.toBeNaN();
  });

  it('refuses API versions outside its range with 400', async () => {
    const tooNew = await failure(new Docker({ socketPath: server.socketPath, version: 'v1.50' }).info());
    expect(tooNew.statusCode).toBe(400);
    expect(tooNew.json?.message).toMatch(/client version 1.50 is too new/);
    const tooOld = await failure(new Docker({ socketPath: server.socketPath, version: 'v1.12' }).info());
    expect(tooOld.statusCode).toBe(400);
  });

  it('answers an unknown path with 404 page not found', async () => {
    const err = await failure(docker.getPlugin('x', 'x').inspect());
    expect(err.statusCode).toBe(404);
  });

  it('lists images, networks and volumes', async () => {
    const images = await docker.listImages();
    expect(images.some((i) => i.RepoTags?.includes('busybox:local'))).toBe(true);
    expect(images[0]).toEqual(expect.objectContaining({ Id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), Created: expect.any(Number), Size: expect.any(Number) }));
    const networks = await docker.listNetworks();
    expect(networks.map((n) => n.Name).sort()).toEqual(['bridge', 'host', 'none']);
    const none = networks.find((n) => n.Name === 'none')!;
    expect(await docker.getNetwork(none.Id).inspect()).toMatchObject({ Name: 'none', Driver: 'null', Scope: 'local' });
    expect((await failure(docker.getNetwork('nope').inspect())).statusCode).toBe(404);
    expect(await docker.listVolumes()).toEqual({ Volumes: [], Warnings: null });
    const volume = await failure(docker.getVolume('data').inspect());
    expect(volume.statusCode).toBe(404);
    expect(volume.json?.message).toBe('get data: no such volume');
  });
});

describe('containers', () => {
  it('create, start, inspect, list, stop, kill and remove, with Docker shapes', async () => {
    const c = await docker.createContainer({ name: 'web', Image: 'busybox:local', Cmd: ['sleep', '300'], Labels: { app: 'web' }, HostConfig: { NanoCpus: 500_000_000, Memory: 64 * 1024 * 1024, NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    let info = await c.inspect();
    expect(info).toMatchObject({ Id: c.id, Name: '/web', Path: 'sleep', Args: ['300'], State: { Status: 'created', Running: false, Pid: 0, StartedAt: '0001-01-01T00:00:00Z' } });
    expect(info.Config).toMatchObject({ Image: 'busybox:local', Labels: { app: 'web' }, Cmd: ['sleep', '300'], Tty: false });
    expect(info.HostConfig).toMatchObject({ NanoCpus: 500_000_000, Memory: 64 * 1024 * 1024, NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } });
    expect(info.Image).toMatch(/^sha256:/);

    expect((await docker.listContainers()).map((x) => x.Id)).not.toContain(c.id);
    await c.start();
    info = await c.inspect();
    expect(info.State).toMatchObject({ Status: 'running', Running: true });
    expect(info.State.Pid).toBeGreaterThan(0);
    expect(Date.parse(info.State.StartedAt)).not.toBeNaN();
    const listed = (await docker.listContainers()).find((x) => x.Id === c.id)!;
    expect(listed).toMatchObject({ Names: ['/web'], Image: 'busybox:local', Command: 'sleep 300', State: 'running', Labels: { app: 'web' }, HostConfig: { NetworkMode: 'none' } });
    expect(listed.Status).toMatch(/^Up /);
    expect(await docker.listContainers({ all: true, filters: JSON.stringify({ label: ['app=web'] }) })).toHaveLength(1);
    expect(await docker.listContainers({ all: true, filters: JSON.stringify({ label: ['app=nope'] }) })).toHaveLength(0);

    // 304 on start of a running container, stop of a stopped one.
    expect((await failure(c.start())).statusCode).toBe(304);
    await c.stop({ t: 0 });
    expect((await c.inspect()).State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 143 });
    expect((await failure(c.stop())).statusCode).toBe(304);
    expect((await docker.listContainers({ all: true })).find((x) => x.Id === c.id)?.Status).toMatch(/^Exited \(143\)/);

    // 409 on kill of a stopped container; kill of a running one.
    expect((await failure(c.kill())).statusCode).toBe(409);
    await c.start();
    await c.kill({ signal: 'SIGKILL' });
    expect((await c.inspect()).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    expect((await failure(c.kill({ signal: 'SIGNOPE' }))).statusCode).toBe(400);

    // 409 on remove of a running container without force.
    await c.start();
    const running = await failure(c.remove());
    expect(running.statusCode).toBe(409);
    expect(running.json?.message).toMatch(/container is running/);
    await c.remove({ force: true });
    const gone = await failure(c.inspect());
    expect(gone.statusCode).toBe(404);
    expect(gone.json?.message).toBe(`No such container: ${c.id}`);
  });

  it('finds containers by name and unique ID prefix', async () => {
    const c = await docker.createContainer({ name: 'by-name', Image: 'busybox:local', Cmd: ['sleep', '1'] });
    expect((await docker.getContainer('by-name').inspect()).Id).toBe(c.id);
    expect((await docker.getContainer(c.id.slice(0, 12)).inspect()).Id).toBe(c.id);
    await c.remove();
  });

  it('answers create errors as Docker does: 409 name in use, 404 no such image, 400 bad name or body', async () => {
    const c = await docker.createContainer({ name: 'dup', Image: 'busybox:local', Cmd: ['true'] });
    const dup = await failure(docker.createContainer({ name: 'dup', Image: 'busybox:local', Cmd: ['true'] }));
    expect(dup.statusCode).toBe(409);
    expect(dup.json?.message).toMatch(/^Conflict\. The container name "\/dup" is already in use by container/);
    const image = await failure(docker.createContainer({ Image: 'nothere:1', Cmd: ['true'] }));
    expect(image.statusCode).toBe(404);
    expect(image.json?.message).toBe('No such image: nothere:1');
    expect((await failure(docker.createContainer({ name: 'bad name!', Image: 'busybox:local' }))).statusCode).toBe(400);
    expect((await failure(docker.createContainer({ Image: 'busybox:local', HostConfig: { Memory: 1024 } }))).statusCode).toBe(400);
    expect((await failure(docker.getContainer('nope').start())).statusCode).toBe(404);
    expect((await failure(docker.getContainer('nope').remove())).statusCode).toBe(404);
    await c.remove();
  });

  it('runs true/false/sh -c "exit N" to their exit codes, and wait answers it', async () => {
    for (const [cmd, code] of [[['true'], 0], [['false'], 1], [['sh', '-c', 'echo hi; exit 3'], 3]] as const) {
      const c = await docker.createContainer({ Image: 'busybox:local', Cmd: [...cmd] });
      await c.start();
      expect(await c.wait()).toEqual({ StatusCode: code, Error: null });
      expect((await c.inspect()).State).toMatchObject({ Status: 'exited', ExitCode: code });
      await c.remove();
    }
  });

  it('serves logs as multiplexed frames, with tail and timestamps, and follows a running container', async () => {
    const c = await docker.createContainer({ name: 'logs', Image: 'busybox:local', Cmd: ['sh', '-c', 'echo one; echo two >&2; echo three; sleep 300'] });
    await c.start();
    const once = demux((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    expect(once).toEqual({ out: 'one\nthree\n', err: 'two\n' });
    expect(demux((await c.logs({ stdout: true, stderr: false, tail: 1 })) as unknown as Buffer)).toEqual({ out: 'three\n', err: '' });
    const stamped = demux((await c.logs({ stdout: true, timestamps: true })) as unknown as Buffer).out;
    expect(stamped.split('\n')[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one$/);
    expect((await failure(c.logs({ stdout: false, stderr: false }))).statusCode).toBe(400);

    const follow = (await c.logs({ follow: true, stdout: true, stderr: true, tail: 0 })) as unknown as Readable;
    const body = collect(follow);
    server.engine.appendLog('logs', 1, 'later\n');
    await c.stop();
    expect(demux(await body)).toEqual({ out: 'later\n', err: '' });
    await c.remove();
  });
});

describe('stats', () => {
  interface Sample {
    read: string;
    preread: string;
    id: string;
    name: string;
    cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
    precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
    memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
    networks?: Record<string, { rx_bytes: number }>;
  }
  const zeroTime = '0001-01-01T00:00:00Z';

  it('answers one sample without stream: zeros for a container not running, primed CPU figures for a running one', async () => {
    const c = await docker.createContainer({ name: 'stats-one', Image: 'busybox:local', Cmd: ['sleep', '300'], HostConfig: { Memory: 64 * 1024 * 1024 } });
    const idle = (await c.stats({ stream: false })) as unknown as Sample;
    expect(idle).toMatchObject({ read: zeroTime, preread: zeroTime, id: c.id, name: '/stats-one', memory_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 } } });
    await c.start();
    const one = (await c.stats({ stream: false })) as unknown as Sample;
    expect(one).toMatchObject({ id: c.id, name: '/stats-one', cpu_stats: { online_cpus: 8 }, memory_stats: { usage: 5 * 1024 * 1024, limit: 64 * 1024 * 1024, stats: { inactive_file: 1024 * 1024 } }, networks: { eth0: {} } });
    expect(Date.parse(one.read) - Date.parse(one.preread)).toBe(1000);
    expect(one.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(one.precpu_stats.cpu_usage.total_usage);
    expect(one.cpu_stats.system_cpu_usage).toBeGreaterThan(one.precpu_stats.system_cpu_usage ?? Infinity);
    const oneShot = (await c.stats({ stream: false, 'one-shot': true })) as unknown as Sample;
    expect(oneShot.preread).toBe(zeroTime);
    expect((await failure(docker.getContainer('no-such').stats({ stream: false }))).statusCode).toBe(404);
    await c.remove({ force: true });
  });

  it('streams a sample a second by default, each with the one before, and ends when the container is removed', async () => {
    const c = await docker.createContainer({ name: 'stats-stream', Image: 'busybox:local', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    const stream = (await c.stats()) as unknown as Readable;
    let removing: Promise<unknown> | undefined;
    const lines = (await readLines(stream, (seen) => {
      if (seen.length === 2) removing ??= c.remove({ force: true });
      return false;
    })) as unknown as Sample[];
    await removing;
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const [first, second] = lines;
    expect(first.preread).toBe(zeroTime);
    expect(first.precpu_stats.cpu_usage.total_usage).toBe(0);
    expect(second.preread).toBe(first.read);
    expect(second.precpu_stats).toEqual(first.cpu_stats);
    expect(first.networks).toBeUndefined();
  });

  it('goes on streaming zeros for a container that is not running, as Docker does', async () => {
    const c = await docker.createContainer({ name: 'stats-idle', Image: 'busybox:local', Cmd: ['sleep', '300'] });
    const lines = (await readLines((await c.stats({ stream: true })) as unknown as Readable, (seen) => seen.length >= 2)) as unknown as Sample[];
    expect(lines.map((l) => l.read)).toEqual([zeroTime, zeroTime]);
    await c.remove();
  });
});

describe('images', () => {
  it('pulls with progress lines and an image event; refuses bad and unknown references', async () => {
    const stream = (await docker.pull('alpine:3.19')) as Readable;
    const lines = await readLines(stream, () => false);
    expect(lines[0]).toMatchObject({ status: 'Pulling from library/alpine', id: '3.19' });
    expect(lines.at(-1)).toEqual({ status: 'Status: Downloaded newer image for alpine:3.19' });
    expect((await docker.listImages()).some((i) => i.RepoTags?.includes('alpine:3.19'))).toBe(true);
    expect((await docker.getImage('alpine:3.19').inspect()).RepoTags).toEqual(['alpine:3.19']);
    const bad = await failure(docker.pull('Bad Ref'));
    expect(bad.statusCode).toBe(400);
    expect(bad.message).toMatch(/invalid reference format/);
  });

  it('answers a denied pull with 404 and a registry error inside the stream', async () => {
    const denied = await HollowDockerServer.start({ socketPath: path.join(dir, 'denied.sock'), pullable: (ref) => !ref.startsWith('private/'), pullStreamError: (ref) => (ref.startsWith('flaky') ? 'Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout' : undefined) });
    try {
      const d = new Docker({ socketPath: denied.socketPath });
      const err = await failure(d.pull('private/app:1'));
      expect(err.statusCode).toBe(404);
      expect(err.message).toMatch(/pull access denied for private\/app/);
      const lines = await readLines((await d.pull('flaky:1')) as Readable, () => false);
      expect(lines.at(-1)).toMatchObject({ error: expect.stringMatching(/TLS handshake timeout/) });
    } finally {
      await denied.close();
    }
  });
});

describe('events', () => {
  it('replays create/start/die/destroy in order from since, until a past until', async () => {
    const since = (Date.now() / 1000 - 0.001).toFixed(3);
    const c = await docker.createContainer({ name: 'ev-replay', Image: 'busybox:local', Cmd: ['true'], Labels: { team: 'x' } });
    await c.start();
    await c.wait();
    await c.remove();
    const until = (Date.now() / 1000 + 0.001).toFixed(3);
    const stream = (await docker.getEvents({ since, until, filters: JSON.stringify({ container: ['ev-replay'] }) } as never)) as unknown as Readable;
    const events = await readLines(stream, () => false);
    expect(events.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(events[0]).toMatchObject({ Type: 'container', status: 'create', id: c.id, from: 'busybox:local', scope: 'local', Actor: { ID: c.id, Attributes: { name: 'ev-replay', image: 'busybox:local', team: 'x' } } });
    expect(events[2].Actor).toMatchObject({ Attributes: { exitCode: '0' } });
    // In order of time. (JSON.parse reads timeNano, about 1.8e18, as a double: nanoseconds apart
    // may read as equal, so only "not earlier" can be checked here.)
    const nanos = events.map((e) => Number(e.timeNano));
    for (let i = 1; i < nanos.length; i++) expect(nanos[i]).toBeGreaterThanOrEqual(nanos[i - 1]);
    expect(typeof events[0].time).toBe('number');
  });

  it('streams new events live, filtered by type and event', async () => {
    const stream = (await docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['start', 'die', 'destroy'] }) })) as Readable;
    const reading = readLines(stream, (lines) => lines.some((l) => l.Action === 'destroy'));
    const c = await docker.createContainer({ name: 'ev-live', Image: 'busybox:local', Cmd: ['sleep', '300'] });
    await c.start();
    await c.remove({ force: true });
    const events = await reading;
    expect(events.map((e) => e.Action)).toEqual(['start', 'die', 'destroy']);
  });
});

describe('failure injection and limits', () => {
  it('fails the next matching request with Docker\'s error body, then answers again', async () => {
    server.failNext('GET /info', 500, 'boom');
    const err = await failure(docker.info());
    expect(err.statusCode).toBe(500);
    expect(err.json).toEqual({ message: 'boom' });
    expect((await docker.info()).Name).toBe('hollow-test');
    server.failNext('POST /containers/*/start', 409, 'busy');
    const c = await docker.createContainer({ Image: 'busybox:local', Cmd: ['sleep', '1'] });
    expect((await failure(c.start())).statusCode).toBe(409);
    await c.start();
    await c.remove({ force: true });
  });

  it('drops connections, fails by probability, adds latency', async () => {
    server.injectFailure({ match: 'GET /version', drop: true, times: 1 });
    expect((await failure(docker.version())).code).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    const flaky = await HollowDockerServer.start({ socketPath: path.join(dir, 'flaky.sock'), failures: [{ match: 'GET /info', probability: 0.5, status: 503 }], random: (() => { let i = 0; return () => (i++ % 2 === 0 ? 0.1 : 0.9); })() });
    try {
      const d = new Docker({ socketPath: flaky.socketPath });
      expect((await failure(d.info())).statusCode).toBe(503);
      await d.info();
      flaky.setLatency(150);
      const t0 = performance.now();
      await d.ping();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      await flaky.close();
    }
  });

  it('caps bodies and containers', async () => {
    const small = await HollowDockerServer.start({ socketPath: path.join(dir, 'small.sock'), maxBodyBytes: 1024, maxContainers: 2 });
    try {
      const d = new Docker({ socketPath: small.socketPath });
      const big = await failure(d.createContainer({ Image: 'busybox:local', Labels: { big: 'x'.repeat(4096) } }));
      expect(big.statusCode).toBe(413);
      await d.createContainer({ Image: 'busybox:local', Cmd: ['true'] });
      await d.createContainer({ Image: 'busybox:local', Cmd: ['true'] });
      const full = await failure(d.createContainer({ Image: 'busybox:local', Cmd: ['true'] }));
      expect(full.statusCode).toBe(500);
      expect(full.json?.message).toMatch(/maximum of 2 containers/);
    } finally {
      await small.close();
    }
  });

  it('goes unreachable and comes back with its state', async () => {
    const c = await docker.createContainer({ name: 'survivor', Image: 'busybox:local', Cmd: ['true'] });
    const events = (await docker.getEvents()) as Readable;
    const ended = new Promise<void>((resolve) => {
      events.on('close', resolve);
      events.on('end', resolve);
      events.on('error', () => resolve());
    });
    server.setReachable(false);
    await ended;
    const err = await failure(new Docker({ socketPath: server.socketPath }).ping());
    expect(err.code ?? String(err)).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    server.setReachable(true);
    expect((await docker.getContainer('survivor').inspect()).Id).toBe(c.id);
    await c.remove();
  });

  it('listens on a loopback port too', async () => {
    const tcp = await HollowDockerServer.start({ name: 'tcp' });
    try {
      expect(tcp.dockerHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const d = new Docker({ host: '127.0.0.1', port: tcp.port, protocol: 'http' });
      expect((await d.info()).Name).toBe('tcp');
    } finally {
      await tcp.close();
    }
  });
});
