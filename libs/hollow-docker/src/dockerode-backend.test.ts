import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { DockerodeBackend, EventLineSplitter, parseEventLine } from '@flotilla/engine-agent';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@flotilla/errors';
import { failureOf } from '@flotilla/testing';
import { HollowDockerServer } from './server';

// The engine-agent's real Docker back end (dockerode) against a hollow engine: the agent's
// Docker path, without a real engine.
let dir: string;
let server: HollowDockerServer;
let backend: DockerodeBackend;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hollow-backend-'));
  server = await HollowDockerServer.start({ socketPath: path.join(dir, 'engine.sock'), name: 'hollow-b' });
  backend = new DockerodeBackend(server.dockerHost);
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function read(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

it('negotiates, reads the engine and maps Docker errors as for a real engine', async () => {
  expect(await backend.connect()).toEqual({ apiVersion: '1.43', engineMaxApiVersion: '1.43' });
  await backend.ping(1000);
  expect((await backend.info()).Name).toBe('hollow-b');
  expect((await backend.listImages()).length).toBeGreaterThan(0);
  expect((await backend.listNetworks()).map((n) => n.Name).sort()).toEqual(['bridge', 'host', 'none']);
  expect(await backend.listVolumes()).toEqual([]);
  await expect(backend.inspectVolume('x')).rejects.toBeInstanceOf(NotFoundError);

  const since = `${Math.floor(Date.now() / 1000) - 1}.000000000`;
  const { id, warnings } = await backend.createContainer({ name: 'agent-web', Image: 'busybox:local', Cmd: ['sh', '-c', 'echo hello; sleep 300'], Labels: { app: 'a' }, HostConfig: { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } } });
  expect(warnings.join(' ')).toMatch(/discarded/);
  await expect(backend.createContainer({ name: 'agent-web', Image: 'busybox:local', HostConfig: {} })).rejects.toBeInstanceOf(AlreadyExistsError);
  await expect(backend.createContainer({ Image: 'nope:1', HostConfig: {} })).rejects.toBeInstanceOf(NotFoundError);
  expect(await backend.listContainerIds()).toContain(id);
  expect(await backend.startContainer(id)).toBe(true);
  expect(await backend.startContainer(id)).toBe(false);
  expect((await backend.inspectContainer('agent-web')).State?.Status).toBe('running');
  expect(await read(await backend.containerLogs(id, { follow: false, stdout: true, stderr: true, timestamps: false }))).toContain('hello\n');
  // Stats come as Docker's line, one sample without stream.
  const stats = JSON.parse(await read(await backend.containerStats(id, false))) as { id: string; preread: string };
  expect(stats.id).toBe(id);
  expect(Date.parse(stats.preread)).not.toBeNaN();
  await expect(backend.containerStats('no-such', false)).rejects.toBeInstanceOf(NotFoundError);
  await expect(backend.removeContainer(id, false, false)).rejects.toBeInstanceOf(FailedPreconditionError);
  expect(await backend.stopContainer(id, 0)).toBe(true);
  expect(await backend.stopContainer(id, 0)).toBe(false);
  await expect(backend.killContainer(id, 'SIGKILL')).rejects.toBeInstanceOf(FailedPreconditionError);
  await backend.removeContainer(id, false, false);
  await expect(backend.inspectContainer(id)).rejects.toBeInstanceOf(NotFoundError);

  const pulled = await read(await backend.pullImage('alpine:3.19'));
  expect(pulled).toMatch(/Downloaded newer image for alpine:3.19/);

  // The agent's own event parser reads the stream.
  const events = await backend.events(since);
  const splitter = new EventLineSplitter();
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    events.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) {
        const parsed = parseEventLine(line);
        if ('event' in parsed) seen.push(`${parsed.event.type}:${parsed.event.action}`);
      }
      if (seen.includes('image:pull')) resolve();
    });
  });
  events.destroy();
  expect(seen).toEqual(['container:create', 'container:start', 'container:kill', 'container:die', 'container:stop', 'container:destroy', 'image:pull']);

  server.failNext('GET /_ping', 500);
  await expect(backend.ping(1000)).rejects.toBeInstanceOf(UnavailableError);
  server.setReachable(false);
  await expect(backend.info()).rejects.toBeInstanceOf(UnavailableError);
  server.setReachable(true);
  expect((await backend.info()).Name).toBe('hollow-b');
});

it('inspects, tags and removes images and updates containers through the agent\'s calls, mapping Docker errors', async () => {
  const MiB = 1024 * 1024;
  const image = server.engine.addImage('registry.local:5000/team/app:v1', { labels: { team: 'a' } });
  const inspected = await backend.inspectImage('registry.local:5000/team/app:v1');
  expect(inspected).toMatchObject({ Id: image.id, RepoTags: ['registry.local:5000/team/app:v1'], Config: { Labels: { team: 'a' } } });
  expect(Date.parse(String(inspected.Created))).not.toBeNaN();
  await expect(backend.inspectImage('registry.local:5000/team/nope')).rejects.toBeInstanceOf(NotFoundError);
  await expect(backend.inspectImage('Upper/Case')).rejects.toBeInstanceOf(InvalidArgumentError);

  // An empty tag is `latest`, as for docker tag.
  await backend.tagImage('registry.local:5000/team/app:v1', 'registry.local:5000/team/app', '');
  await backend.tagImage(image.id, 'app-copy', 'v2');
  expect((await backend.inspectImage('registry.local:5000/team/app')).RepoTags).toEqual(['app-copy:v2', 'registry.local:5000/team/app:latest', 'registry.local:5000/team/app:v1']);
  await expect(backend.tagImage('nope:1', 'x', 'y')).rejects.toBeInstanceOf(NotFoundError);
  await expect(backend.tagImage(image.id, 'Bad', 'y')).rejects.toBeInstanceOf(InvalidArgumentError);

  const { id } = await backend.createContainer({ name: 'agent-upd', Image: 'app-copy:v2', Cmd: ['sleep', '300'], HostConfig: { Memory: 64 * MiB } });
  expect(await backend.startContainer(id)).toBe(true);
  expect(await backend.updateContainer(id, { NanoCpus: 250_000_000, Memory: 100 * MiB, CpuShares: 256, PidsLimit: 50, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } })).toEqual({ Warnings: null });
  expect((await backend.inspectContainer(id)).HostConfig).toMatchObject({ NanoCpus: 250_000_000, Memory: 100 * MiB, CpuShares: 256, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
  await expect(backend.updateContainer('no-such', { Memory: 64 * MiB })).rejects.toBeInstanceOf(NotFoundError);
  const tooSmall = await failureOf(backend.updateContainer(id, { Memory: 1024 }));
  expect([tooSmall instanceof InvalidArgumentError, tooSmall.message]).toEqual([true, 'Minimum memory limit allowed is 6MB']);
  // Docker refuses a memory limit above the swap limit unless MemorySwap changes with it.
  await expect(backend.updateContainer(id, { Memory: 512 * MiB })).rejects.toBeInstanceOf(FailedPreconditionError);

  // The container's image has several tags: the ID needs force, a tag just goes.
  await expect(backend.removeImage(image.id, false, false)).rejects.toBeInstanceOf(FailedPreconditionError);
  expect(await backend.removeImage('registry.local:5000/team/app', false, false)).toEqual([{ Untagged: 'registry.local:5000/team/app:latest' }]);
  expect(await backend.removeImage('registry.local:5000/team/app:v1', false, false)).toEqual([{ Untagged: 'registry.local:5000/team/app:v1' }, { Untagged: expect.stringMatching(/^registry\.local:5000\/team\/app@sha256:/) }]);
  // The last tag of an image a container uses: 409 without force; running, its image cannot be deleted at all.
  await expect(backend.removeImage('app-copy:v2', false, false)).rejects.toBeInstanceOf(FailedPreconditionError);
  const running = await failureOf(backend.removeImage(image.id, true, false));
  expect(running).toBeInstanceOf(FailedPreconditionError);
  expect(running.message).toMatch(/\(cannot be forced\) - image is being used by running container/);
  await backend.removeContainer(id, true, false);
  expect(await backend.removeImage('app-copy:v2', false, true)).toEqual([{ Untagged: 'app-copy:v2' }, { Deleted: image.id }, { Deleted: expect.stringMatching(/^sha256:/) }]);
  await expect(backend.removeImage('app-copy:v2', false, false)).rejects.toBeInstanceOf(NotFoundError);
  expect((await backend.listImages()).map((i) => i.Id)).not.toContain(image.id);
});
