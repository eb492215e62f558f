import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { nowNano } from './engine';
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

/** One request as sent, with status and body as answered (for answers dockerode reads past). */
function raw(method: string, urlPath: string): Promise<{ status: number; contentType: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: server.socketPath, method, path: urlPath }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Docker's `seconds.nanoseconds` for this moment, from the engines' clock: later than every event so far, earlier than any to come. */
function now(): string {
  const t = nowNano();
  return `${t / 1_000_000_000n}.${(t % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** The events from `since` to now, replayed with `filters` (a past `until` ends the stream). */
async function replay(since: string, filters: Record<string, string[]>): Promise<Array<Record<string, unknown>>> {
  return readLines((await docker.getEvents({ since, until: now(), filters: JSON.stringify(filters) } as never)) as unknown as Readable, () => false);
}

const MiB = 1024 * 1024;

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

  it('updates limits and the restart policy as later inspected, with an update event; 404, 400 and 409 as Docker', async () => {
    const c = await docker.createContainer({ name: 'upd', Image: 'busybox:local', Cmd: ['sleep', '300'], Labels: { app: 'u' }, HostConfig: { Memory: 64 * MiB } });
    await c.start();
    const since = now();
    // Docker answers Warnings null when it has none.
    expect(await c.update({ NanoCpus: 500_000_000, CpuShares: 512, Memory: 96 * MiB, MemoryReservation: 32 * MiB, CpusetCpus: '0-1', PidsLimit: 100, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } })).toEqual({ Warnings: null });
    const updated = { NanoCpus: 500_000_000, CpuShares: 512, Memory: 96 * MiB, MemoryReservation: 32 * MiB, MemorySwap: 128 * MiB, CpusetCpus: '0-1', PidsLimit: 100, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } };
    expect((await c.inspect()).HostConfig).toMatchObject(updated);
    expect(((await c.stats({ stream: false })) as unknown as { memory_stats: { limit: number } }).memory_stats.limit).toBe(96 * MiB);
    // Fields left out (or zero) stay; a PidsLimit of 0 or below means unlimited (0).
    await c.update({ CpuShares: 256, PidsLimit: -1, Memory: 0 });
    expect((await c.inspect()).HostConfig).toMatchObject({ ...updated, CpuShares: 256, PidsLimit: 0 });

    const refused: Array<[Record<string, unknown>, number, string]> = [
      [{ Memory: 1024 }, 400, 'Minimum memory limit allowed is 6MB'],
      [{ RestartPolicy: { Name: 'sometimes' } }, 400, "invalid restart policy 'sometimes'"],
      [{ NanoCpus: 64e9 }, 400, 'Range of CPUs is from 0.01 to 8.00, as there are only 8 CPUs available'],
      [{ CpusetCpus: '0-99' }, 400, 'Requested CPUs are not available - requested 0-99, available: 0-7'],
      // Against what is set: NanoCpus excludes a CFS quota; Memory above the swap limit needs MemorySwap too.
      [{ CpuQuota: 50_000 }, 409, `Cannot update container ${c.id}: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set`],
      [{ Memory: 512 * MiB, CpuShares: 1024 }, 409, `Cannot update container ${c.id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`],
    ];
    for (const [body, status, message] of refused) {
      const err = await failure(c.update(body));
      expect([body, err.statusCode, err.json?.message]).toEqual([body, status, message]);
    }
    // A refused update changes nothing.
    expect((await c.inspect()).HostConfig).toMatchObject({ ...updated, CpuShares: 256, PidsLimit: 0 });
    await c.update({ Memory: 512 * MiB, MemorySwap: -1 });
    expect((await c.inspect()).HostConfig).toMatchObject({ Memory: 512 * MiB, MemorySwap: -1 });
    const missing = await failure(docker.getContainer('nope').update({ Memory: 64 * MiB }));
    expect([missing.statusCode, missing.json?.message]).toEqual([404, 'No such container: nope']);

    const events = await replay(since, { container: ['upd'], event: ['update'] });
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ Type: 'container', Action: 'update', status: 'update', id: c.id, from: 'busybox:local', Actor: { ID: c.id, Attributes: { name: 'upd', image: 'busybox:local', app: 'u' } } });
    await c.remove({ force: true });
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

  it('inspects by ID, ID prefix, NAME:TAG or NAME (NAME:latest), names with slashes too; 404 and 400 as Docker', async () => {
    const app = server.engine.addImage('registry.local:5000/team/app:v1', { labels: { team: 'a' } });
    const latest = server.engine.addImage('registry.local:5000/team/app');
    const info = await docker.getImage('registry.local:5000/team/app:v1').inspect();
    expect(info).toMatchObject({ Id: app.id, RepoTags: ['registry.local:5000/team/app:v1'], Size: expect.any(Number), Config: { Labels: { team: 'a' } }, Metadata: { LastTagTime: '0001-01-01T00:00:00Z' } });
    expect(info.RepoDigests).toEqual([expect.stringMatching(/^registry\.local:5000\/team\/app@sha256:[0-9a-f]{64}$/)]);
    expect(info.Created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const hexId = app.id.slice('sha256:'.length);
    for (const name of [app.id, hexId, hexId.slice(0, 12), `sha256:${hexId.slice(0, 12)}`]) expect([name, (await docker.getImage(name).inspect()).Id]).toEqual([name, app.id]);
    expect((await docker.getImage('registry.local:5000/team/app').inspect()).Id).toBe(latest.id);
    // `busybox` is short for docker.io/library/busybox.
    expect((await docker.getImage('docker.io/library/busybox:local').inspect()).RepoTags).toEqual(['busybox:local']);

    const missing = await failure(docker.getImage('registry.local:5000/team/nope').inspect());
    expect([missing.statusCode, missing.json?.message]).toEqual([404, 'No such image: registry.local:5000/team/nope:latest']);
    const unknownId = await failure(docker.getImage(`sha256:${'0'.repeat(64)}`).inspect());
    expect([unknownId.statusCode, unknownId.json?.message]).toEqual([404, `No such image: sha256:${'0'.repeat(64)}`]);
    const bad = await failure(docker.getImage('Team/App').inspect());
    expect([bad.statusCode, bad.json?.message]).toEqual([400, 'invalid reference format: repository name must be lowercase']);
  });

  it('tags: 201 without a body, the tag moving from any image that had it, with an image tag event; 404 and 400 as Docker', async () => {
    const one = server.engine.addImage('tag-one:1', { labels: { team: 't' } });
    const two = server.engine.addImage('tag-two:1');
    const since = now();
    const reply = await raw('POST', `/v1.43/images/tag-one:1/tag?repo=${encodeURIComponent('registry.local:5000/team/tagged')}&tag=v2`);
    expect(reply).toEqual({ status: 201, contentType: undefined, body: '' });
    await docker.getImage('tag-one:1').tag({ repo: 'shared' });
    const user = await docker.createContainer({ name: 'tag-user', Image: 'shared', Cmd: ['sleep', '300'] });
    const inspected = await docker.getImage(one.id).inspect();
    // Docker's order: by full name (docker.io/library/... before registry.local:5000/...).
    expect(inspected.RepoTags).toEqual(['shared:latest', 'tag-one:1', 'registry.local:5000/team/tagged:v2']);
    // Tagging sets the time of the last tag (dockerode's types lack Metadata).
    expect(Date.parse((inspected as unknown as { Metadata: { LastTagTime: string } }).Metadata.LastTagTime)).toBeGreaterThan(0);

    // Tagging another image moves the tag; the container made from `shared` is then listed by its image's ID.
    await docker.getImage(two.id).tag({ repo: 'shared', tag: 'latest' });
    await docker.getImage('tag-two:1').tag({ repo: 'registry.local:5000/team/tagged', tag: 'v2' });
    const listed = new Map((await docker.listImages()).map((i) => [i.Id, i.RepoTags]));
    expect(listed.get(one.id)).toEqual(['tag-one:1']);
    expect(listed.get(two.id)).toEqual(['shared:latest', 'tag-two:1', 'registry.local:5000/team/tagged:v2']);
    expect((await docker.listContainers({ all: true, filters: JSON.stringify({ name: ['tag-user'] }) }))[0]).toMatchObject({ Image: one.id, ImageID: one.id });
    expect((await user.inspect()).Config.Image).toBe('shared');
    expect(await docker.listContainers({ all: true, filters: JSON.stringify({ ancestor: ['shared'] }) })).toHaveLength(0);
    expect((await docker.listContainers({ all: true, filters: JSON.stringify({ ancestor: ['tag-one:1'] }) })).map((c) => c.Id)).toEqual([user.id]);

    const events = await replay(since, { type: ['image'] });
    expect(events.map((e) => [e.Action, (e.Actor as { ID: string }).ID, (e.Actor as { Attributes: Record<string, string> }).Attributes.name])).toEqual([
      ['tag', one.id, 'registry.local:5000/team/tagged:v2'],
      ['tag', one.id, 'shared'],
      ['tag', two.id, 'shared:latest'],
      ['tag', two.id, 'registry.local:5000/team/tagged:v2'],
    ]);
    expect(events[0]).toMatchObject({ Type: 'image', status: 'tag', id: one.id, Actor: { Attributes: { team: 't' } } });

    const refused: Array<[string, { repo: string; tag?: string }, number, string]> = [
      ['nope', { repo: 'x' }, 404, 'No such image: nope:latest'],
      ['tag-one:1', { repo: 'Upper' }, 400, 'invalid reference format: repository name must be lowercase'],
      ['tag-one:1', { repo: 'bad repo' }, 400, 'invalid reference format'],
      ['tag-one:1', { repo: 'ok', tag: '-x' }, 400, 'invalid tag format'],
    ];
    for (const [name, options, status, message] of refused) {
      const err = await failure(docker.getImage(name).tag(options));
      expect([name, options, err.statusCode, err.json?.message]).toEqual([name, options, status, message]);
    }
    await user.remove();
  });

  it('removes images as Docker does: untags while references remain, deletes with the last; refuses what containers or several tags hold', async () => {
    const image = server.engine.addImage('rm-app:1', { labels: { team: 'r' } });
    const short = image.id.slice('sha256:'.length, 'sha256:'.length + 12);
    await docker.getImage('rm-app:1').tag({ repo: 'rm-app', tag: '2' });
    await docker.getImage('rm-app:1').tag({ repo: 'registry.local:5000/rm/app', tag: 'v1' });
    const since = now();

    const several = await failure(docker.getImage(image.id).remove());
    expect([several.statusCode, several.json?.message]).toEqual([409, `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`]);
    expect(await docker.getImage('registry.local:5000/rm/app:v1').remove()).toEqual([{ Untagged: 'registry.local:5000/rm/app:v1' }]);
    expect(await docker.getImage('rm-app:2').remove({ noprune: true })).toEqual([{ Untagged: 'rm-app:2' }]);
    const gone = await failure(docker.getImage('rm-app:2').remove());
    expect([gone.statusCode, gone.json?.message]).toEqual([404, 'No such image: rm-app:2']);

    // A container holds the last reference: without force neither the tag nor the ID goes; running, not even with force by ID.
    const c = await docker.createContainer({ name: 'rm-user', Image: 'rm-app:1', Cmd: ['sleep', '300'] });
    const byTag = await failure(docker.getImage('rm-app:1').remove());
    expect([byTag.statusCode, byTag.json?.message]).toEqual([409, `conflict: unable to remove repository reference "rm-app:1" (must force) - container ${c.id.slice(0, 12)} is using its referenced image ${short}`]);
    const stopped = await failure(docker.getImage(short).remove());
    expect([stopped.statusCode, stopped.json?.message]).toEqual([409, `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${c.id.slice(0, 12)}`]);
    await c.start();
    const running = await failure(docker.getImage(image.id).remove({ force: true }));
    expect([running.statusCode, running.json?.message]).toEqual([409, `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${c.id.slice(0, 12)}`]);

    // Forced by tag: the tag (and its repository's digest) go; the image stays for its container, untagged.
    const forced = await docker.getImage('rm-app:1').remove({ force: true });
    expect(forced).toEqual([{ Untagged: 'rm-app:1' }, { Untagged: expect.stringMatching(/^rm-app@sha256:[0-9a-f]{64}$/) }]);
    expect((await docker.listImages()).find((i) => i.Id === image.id)).toMatchObject({ RepoTags: [], RepoDigests: [] });
    // Clients before API 1.43 see Docker 20.10's `<none>`.
    const old = new Docker({ socketPath: server.socketPath, version: 'v1.41' });
    expect((await old.listImages()).find((i) => i.Id === image.id)).toMatchObject({ RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] });
    expect((await docker.listContainers({ filters: JSON.stringify({ name: ['rm-user'] }) }))[0]).toMatchObject({ Image: image.id, ImageID: image.id });
    expect((await c.inspect()).Image).toBe(image.id);

    await c.remove({ force: true });
    const deleted = await docker.getImage(short).remove();
    expect(deleted).toEqual([{ Deleted: image.id }, { Deleted: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]);
    expect((await failure(docker.getImage(image.id).inspect())).statusCode).toBe(404);
    expect((await docker.listImages()).map((i) => i.Id)).not.toContain(image.id);

    // The usual case: the last tag deletes the image with it.
    const solo = server.engine.addImage('rm-solo:1');
    expect(await docker.getImage('rm-solo:1').remove()).toEqual([{ Untagged: 'rm-solo:1' }, { Untagged: expect.stringMatching(/^rm-solo@sha256:/) }, { Deleted: solo.id }, { Deleted: expect.stringMatching(/^sha256:/) }]);

    const events = await replay(since, { image: [image.id] });
    expect(events.map((e) => e.Action)).toEqual(['untag', 'untag', 'untag', 'delete']);
    // Untag names the image ID, with its labels; delete comes after the image is gone, without them.
    expect(events[0]).toMatchObject({ Type: 'image', id: image.id, Actor: { ID: image.id, Attributes: { name: image.id, team: 'r' } } });
    expect(events[3]).toMatchObject({ Action: 'delete', Actor: { ID: image.id, Attributes: { name: image.id } } });
    expect((events[3].Actor as { Attributes: Record<string, string> }).Attributes.team).toBeUndefined();
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
