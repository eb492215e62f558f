import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { DockerodeBackend, EventLineSplitter, parseEventLine } from '@flotilla/engine-agent';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, UnavailableError } from '@flotilla/errors';
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
