import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startEngines, type TestEngines } from './engines';
import { cleanupAll } from './processes';
import {
  busyboxRootfsTar,
  CONFIG_MEDIA_TYPE,
  LAYER_MEDIA_TYPE,
  MANIFEST_MEDIA_TYPE,
  startTestRegistry,
  type TestRegistry,
} from './registry';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(registry: TestRegistry, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: registry.port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function errorCodes(reply: Reply): string[] {
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(reply.body.toString('utf8')) as { errors: Array<{ code: string; message: string }> };
  for (const e of body.errors) expect(typeof e.message).toBe('string');
  return body.errors.map((e) => e.code);
}

let rootfs: Buffer;
let registry: TestRegistry | undefined;

beforeAll(async () => {
  rootfs = busyboxRootfsTar();
  registry = await startTestRegistry([
    { repository: 'flotilla/app', tag: '1', rootfsTar: rootfs },
    { repository: 'flotilla/greeter', tag: 'v1.0', rootfsTar: rootfs, cmd: ['echo', 'hello from cmd'] },
  ]);
});

afterAll(async () => {
  await registry?.close();
  await cleanupAll();
});

function reg(): TestRegistry {
  if (!registry) throw new Error('registry not started');
  return registry;
}

describe('busyboxRootfsTar', () => {
  it('is a tar of /bin/busybox and its applet symlinks, the same every time', () => {
    const listing = execFileSync('tar', ['-tvf', '-'], { input: rootfs, encoding: 'utf8' });
    const entries = listing.split('\n').filter(Boolean);
    const busybox = entries.find((l) => / \.\/bin\/busybox$/.test(l));
    expect(busybox).toMatch(/^-rwxr-xr-x 0\/0 /);
    for (const applet of ['sh', 'sleep', 'echo', 'true', 'cat']) {
      expect(entries.find((l) => l.endsWith(` ./bin/${applet} -> busybox`))).toMatch(/^l/);
    }
    expect(busyboxRootfsTar().equals(rootfs)).toBe(true);
  });
});

describe('test registry (HTTP)', () => {
  it('answers the API version check', async () => {
    const reply = await request(reg(), 'GET', '/v2/');
    expect(reply.status).toBe(200);
    expect(reply.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(JSON.parse(reply.body.toString('utf8'))).toEqual({});
    expect(reg().host).toBe(`127.0.0.1:${reg().port}`);
    expect(reg().reference('flotilla/app', '1')).toBe(`127.0.0.1:${reg().port}/flotilla/app:1`);
  });

  it('serves a schema 2 manifest whose digest matches its bytes, by tag and by digest', async () => {
    const reply = await request(reg(), 'GET', '/v2/flotilla/app/manifests/1');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(MANIFEST_MEDIA_TYPE);
    const digest = reply.headers['docker-content-digest'];
    expect(digest).toBe(sha256(reply.body));
    expect(digest).toBe(reg().digest('flotilla/app', '1'));
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);

    const manifest = JSON.parse(reply.body.toString('utf8'));
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, size: expect.any(Number), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      layers: [{ mediaType: LAYER_MEDIA_TYPE, size: expect.any(Number), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }],
    });

    const head = await request(reg(), 'HEAD', '/v2/flotilla/app/manifests/1');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['docker-content-digest']).toBe(digest);
    expect(head.headers['content-type']).toBe(MANIFEST_MEDIA_TYPE);
    expect(Number(head.headers['content-length'])).toBe(reply.body.length);

    const byDigest = await request(reg(), 'GET', `/v2/flotilla/app/manifests/${digest}`);
    expect(byDigest.status).toBe(200);
    expect(byDigest.body.equals(reply.body)).toBe(true);
    expect(byDigest.headers['docker-content-digest']).toBe(digest);
  });

  it('serves the config and layer blobs under their digests', async () => {
    for (const [repository, tag, cmd] of [
      ['flotilla/app', '1', ['sh']],
      ['flotilla/greeter', 'v1.0', ['echo', 'hello from cmd']],
    ] as const) {
      const manifest = JSON.parse((await request(reg(), 'GET', `/v2/${repository}/manifests/${tag}`)).body.toString('utf8'));

      const config = await request(reg(), 'GET', `/v2/${repository}/blobs/${manifest.config.digest}`);
      expect(config.status).toBe(200);
      expect(sha256(config.body)).toBe(manifest.config.digest);
      expect(config.body.length).toBe(manifest.config.size);
      expect(Number(config.headers['content-length'])).toBe(manifest.config.size);
      expect(config.headers['docker-content-digest']).toBe(manifest.config.digest);
      const image = JSON.parse(config.body.toString('utf8'));
      expect(image).toMatchObject({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: cmd, Env: [expect.stringMatching(/^PATH=.*\/bin/)] },
        rootfs: { type: 'layers', diff_ids: [sha256(rootfs)] },
      });
      expect(new Date(image.created).getTime()).not.toBeNaN();
      expect(image.history).toHaveLength(1);

      const layer = await request(reg(), 'GET', `/v2/${repository}/blobs/${manifest.layers[0].digest}`);
      expect(layer.status).toBe(200);
      expect(sha256(layer.body)).toBe(manifest.layers[0].digest);
      expect(layer.body.length).toBe(manifest.layers[0].size);
      expect(Number(layer.headers['content-length'])).toBe(manifest.layers[0].size);
      expect(layer.headers['docker-content-digest']).toBe(manifest.layers[0].digest);
      expect(gunzipSync(layer.body).equals(rootfs)).toBe(true);

      const head = await request(reg(), 'HEAD', `/v2/${repository}/blobs/${manifest.layers[0].digest}`);
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(Number(head.headers['content-length'])).toBe(manifest.layers[0].size);
    }
  });

  it('answers unknown names, tags and blobs with registry-style 404 errors', async () => {
    const unknownName = await request(reg(), 'GET', '/v2/flotilla/nope/manifests/1');
    expect(unknownName.status).toBe(404);
    expect(errorCodes(unknownName)).toEqual(['NAME_UNKNOWN']);

    const unknownTag = await request(reg(), 'GET', '/v2/flotilla/app/manifests/2');
    expect(unknownTag.status).toBe(404);
    expect(errorCodes(unknownTag)).toEqual(['MANIFEST_UNKNOWN']);

    const unknownDigest = await request(reg(), 'GET', `/v2/flotilla/app/manifests/sha256:${'0'.repeat(64)}`);
    expect(unknownDigest.status).toBe(404);
    expect(errorCodes(unknownDigest)).toEqual(['MANIFEST_UNKNOWN']);

    const unknownBlob = await request(reg(), 'GET', `/v2/flotilla/app/blobs/sha256:${'0'.repeat(64)}`);
    expect(unknownBlob.status).toBe(404);
    expect(errorCodes(unknownBlob)).toEqual(['BLOB_UNKNOWN']);

    const headUnknown = await request(reg(), 'HEAD', '/v2/flotilla/app/manifests/2');
    expect(headUnknown.status).toBe(404);
    expect(headUnknown.body.length).toBe(0);

    const upload = await request(reg(), 'POST', '/v2/flotilla/app/blobs/uploads/');
    expect(upload.status).toBe(405);
    expect(errorCodes(upload)).toEqual(['UNSUPPORTED']);

    expect(reg().requests).toEqual(expect.arrayContaining(['GET /v2/flotilla/nope/manifests/1', 'POST /v2/flotilla/app/blobs/uploads/']));
  });

  it('rejects invalid or duplicate images up front', async () => {
    await expect(startTestRegistry([{ repository: 'Flotilla/App', tag: '1', rootfsTar: rootfs }])).rejects.toThrow(/invalid repository/);
    await expect(startTestRegistry([{ repository: 'app', tag: '-x', rootfsTar: rootfs }])).rejects.toThrow(/invalid tag/);
    await expect(
      startTestRegistry([
        { repository: 'app', tag: '1', rootfsTar: rootfs },
        { repository: 'app', tag: '1', rootfsTar: rootfs },
      ]),
    ).rejects.toThrow(/given twice/);
  });
});

describe('test registry (real docker pull)', () => {
  let engines: TestEngines;

  beforeAll(async () => {
    engines = await startEngines({ count: 1 });
  });

  afterAll(async () => {
    await engines?.stop();
  });

  it('lets an engine pull and run an image', async () => {
    const ref = reg().reference('flotilla/app', '1');
    await engines.docker('engine-1', ['pull', ref]);
    expect(reg().requests).toEqual(
      expect.arrayContaining([
        'GET /v2/',
        expect.stringMatching(/^(GET|HEAD) \/v2\/flotilla\/app\/manifests\/(1|sha256:)/),
        expect.stringMatching(/^GET \/v2\/flotilla\/app\/blobs\/sha256:/),
      ]),
    );

    expect(await engines.docker('engine-1', ['run', '--rm', '--network', 'none', ref, 'echo', 'pulled'])).toBe('pulled');

    const images = (await engines.docker('engine-1', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n');
    expect(images).toContain(ref);
    const repoDigests = JSON.parse(await engines.docker('engine-1', ['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]));
    expect(repoDigests).toEqual([`${reg().host}/flotilla/app@${reg().digest('flotilla/app', '1')}`]);
  });

  it('runs the image config command by default', async () => {
    const ref = reg().reference('flotilla/greeter', 'v1.0');
    await engines.docker('engine-1', ['pull', ref]);
    expect(await engines.docker('engine-1', ['run', '--rm', '--network', 'none', ref])).toBe('hello from cmd');
  });

  it('fails to pull an unknown tag or repository', async () => {
    await expect(engines.docker('engine-1', ['pull', reg().reference('flotilla/app', 'missing')])).rejects.toThrow(/manifest unknown|not found/);
    await expect(engines.docker('engine-1', ['pull', reg().reference('flotilla/nope', '1')])).rejects.toThrow(/manifest unknown|not found|name unknown/);
  });
});
