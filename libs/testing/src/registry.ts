// A minimal, read-only Docker Registry HTTP API v2 server on 127.0.0.1, so tests can really pull.
// Docker treats registries on 127.0.0.0/8 as insecure, so engines pull from it over plain HTTP.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { track, untrack, type Cleanable } from './processes';
import { makeTempDir, removeTempDir } from './temp-dir';

/** One image the registry serves: a single-layer image built from an uncompressed rootfs tar. */
export interface TestImage {
  /** Repository path, e.g. `flotilla/app` (lowercase components separated by slashes). */
  repository: string;
  tag: string;
  /** Uncompressed tar of the image's root filesystem (see busyboxRootfsTar()). */
  rootfsTar: Buffer;
  /** The image's default command; `['sh']` when omitted. */
  cmd?: string[];
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** `127.0.0.1:PORT/repository:tag`, for `docker pull`. */
  reference(repository: string, tag: string): string;
  /** The manifest digest (`sha256:...`) served for repository:tag; throws if it is not served. */
  digest(repository: string, tag: string): string;
  /** Every request received, in order, as `METHOD /path` (query strings dropped). */
  requests: string[];
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

export const MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.docker.container.image.v1+json';
export const LAYER_MEDIA_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Fixed, so the same rootfs and command always give the same config (and image ID).
const CREATED = '2024-01-01T00:00:00Z';

// https://github.com/distribution/reference grammar (lowercase path components, tag).
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}


interface Repository {
  /** tag -> manifest digest */
  tags: Map<string, string>;
  /** digest -> manifest body */
  manifests: Map<string, Buffer>;
  /** digest -> blob (configs and layers of this repository's images) */
  blobs: Map<string, Buffer>;
}

function buildImage(image: TestImage): { manifest: Buffer; manifestDigest: string; config: Buffer; layer: Buffer } {
  const layer = gzipSync(image.rootfsTar);
  const cmd = image.cmd ?? ['sh'];
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: CREATED,
      config: { Cmd: cmd, Env: [DEFAULT_PATH] },
      rootfs: { type: 'layers', diff_ids: [sha256(image.rootfsTar)] },
      history: [{ created: CREATED, created_by: `flotilla test registry: ${image.repository}:${image.tag}` }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, size: config.length, digest: sha256(config) },
      layers: [{ mediaType: LAYER_MEDIA_TYPE, size: layer.length, digest: sha256(layer) }],
    }),
  );
  return { manifest, manifestDigest: sha256(manifest), config, layer };
}

interface RegistryError {
  code: 'NAME_UNKNOWN' | 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'UNSUPPORTED' | 'UNAUTHORIZED';
  message: string;
  detail?: unknown;
}

/**
 * Starts a registry on 127.0.0.1 (a free port) serving `images`; every manifest and blob is built
 * once, here. Registered for cleanupAll(); close() it when done.
 */
export interface TestRegistryOptions {
  /**
   * Answer only requests with these credentials (HTTP Basic, as Docker sends them after the
   * registry's 401 challenge); others get 401 UNAUTHORIZED.
   */
  auth?: { username: string; password: string };
  /** The port on 127.0.0.1; default a free one. */
  port?: number;
}

export async function startTestRegistry(images: TestImage[], options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const repos = new Map<string, Repository>();
  for (const image of images) {
    if (!NAME_RE.test(image.repository)) throw new Error(`startTestRegistry: invalid repository name ${JSON.stringify(image.repository)}`);
    if (!TAG_RE.test(image.tag)) throw new Error(`startTestRegistry: invalid tag ${JSON.stringify(image.tag)}`);
    let repo = repos.get(image.repository);
    if (!repo) repos.set(image.repository, (repo = { tags: new Map(), manifests: new Map(), blobs: new Map() }));
    if (repo.tags.has(image.tag)) throw new Error(`startTestRegistry: ${image.repository}:${image.tag} given twice`);
    const built = buildImage(image);
    repo.tags.set(image.tag, built.manifestDigest);
    repo.manifests.set(built.manifestDigest, built.manifest);
    repo.blobs.set(sha256(built.config), built.config);
    repo.blobs.set(sha256(built.layer), built.layer);
  }

  const requests: string[] = [];

  const send = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: Buffer,
    headers: Record<string, string>,
  ): void => {
    res.writeHead(status, {
      'Docker-Distribution-API-Version': 'registry/2.0',
      'Content-Length': String(body.length),
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const fail = (req: http.IncomingMessage, res: http.ServerResponse, status: number, error: RegistryError): void => {
    send(req, res, status, Buffer.from(JSON.stringify({ errors: [error] })), { 'Content-Type': 'application/json; charset=utf-8' });
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const method = req.method ?? 'GET';
    const url = (req.url ?? '/').split('?')[0];
    requests.push(`${method} ${url}`);

    if (options.auth) {
      const expected = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.setHeader('WWW-Authenticate', 'Basic realm="flotilla test registry"');
        return fail(req, res, 401, { code: 'UNAUTHORIZED', message: 'authentication required', detail: null });
      }
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return fail(req, res, 405, { code: 'UNSUPPORTED', message: 'the operation is unsupported', detail: { method } });
    }
    if (url === '/v2' || url === '/v2/') {
      return send(req, res, 200, Buffer.from('{}'), { 'Content-Type': 'application/json; charset=utf-8' });
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
    if (!m) return fail(req, res, 404, { code: 'UNSUPPORTED', message: 'the operation is unsupported', detail: { path: url } });
    const [, name, kind, ref] = m;
    const repo = repos.get(name);
    if (!repo) return fail(req, res, 404, { code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name } });

    if (kind === 'manifests') {
      const digest = ref.startsWith('sha256:') ? ref : repo.tags.get(ref);
      const manifest = digest === undefined ? undefined : repo.manifests.get(digest);
      if (digest === undefined || manifest === undefined) {
        return fail(req, res, 404, { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { name, reference: ref } });
      }
      return send(req, res, 200, manifest, { 'Content-Type': MANIFEST_MEDIA_TYPE, 'Docker-Content-Digest': digest, ETag: `"${digest}"` });
    }

    const blob = repo.blobs.get(ref);
    if (!blob) return fail(req, res, 404, { code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { name, digest: ref } });
    return send(req, res, 200, blob, {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': ref,
      ETag: `"${ref}"`,
      'Cache-Control': 'max-age=31536000',
    });
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(err instanceof Error ? err.message : String(err));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Docker keeps connections alive; drop them so close() does not wait for their timeouts.
      server.closeAllConnections();
    }).finally(() => untrack(cleanable));
    return closed;
  };
  const cleanable: Cleanable = {
    description: `test registry on ${host}`,
    stop: close,
    // The server lives inside this process and ends with it.
    killSync: () => undefined,
  };
  track(cleanable);

  return {
    host,
    port,
    reference: (repository, tag) => `${host}/${repository}:${tag}`,
    digest(repository, tag) {
      const digest = repos.get(repository)?.tags.get(tag);
      if (!digest) throw new Error(`test registry on ${host} does not serve ${repository}:${tag}`);
      return digest;
    },
    requests,
    close,
  };
}

const APPLETS = ['sh', 'sleep', 'echo', 'true', 'cat'];
let busyboxTarCache: Buffer | undefined;

/**
 * An uncompressed tar of a minimal rootfs: /bin/busybox (a copy of the host's static busybox),
 * /bin/{sh,sleep,echo,true,cat} -> busybox, and empty /etc and /tmp. Entries are sorted and owned by
 * root with mtime 0, so the tar (and an image built from it) is the same every time.
 */
export function busyboxRootfsTar(): Buffer {
  if (busyboxTarCache) return Buffer.from(busyboxTarCache);
  let busybox: string;
  try {
    busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('busyboxRootfsTar: no busybox on PATH (tools/engines/engines.sh install provides busybox-static)');
  }
  const dir = makeTempDir('flotilla-rootfs-');
  try {
    const root = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(root, 'etc'));
    fs.mkdirSync(path.join(root, 'tmp'));
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    fs.copyFileSync(busybox, path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
    const tar = path.join(dir, 'rootfs.tar');
    execFileSync(
      'tar',
      ['-C', root, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '.'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    busyboxTarCache = fs.readFileSync(tar);
    return Buffer.from(busyboxTarCache);
  } finally {
    removeTempDir(dir);
  }
}
