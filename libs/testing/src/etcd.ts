// A real etcd (Debian's etcd-server, v3 API) for integration tests: its own data dir and ports on
// 127.0.0.1, stopped by cleanupAll().
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { freePort } from './ports';
import { spawnService, track, untrack, type Cleanable, type ServiceProcess } from './processes';
import { makeTempDir, removeTempDir } from './temp-dir';
import { waitFor } from './wait-for';

export const etcdBinary = '/usr/bin/etcd';

export interface StartEtcdOptions {
  /** Where etcd keeps its data; by default a fresh temp dir, removed again by stop(). */
  dir?: string;
  /** How long to wait for etcd to report itself healthy. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Serves clients over TLS with this certificate and key (PEM files); with `ca`, clients must
   * present a certificate it signed (mutual TLS). The health probe presents `probeCert`/`probeKey`.
   */
  tls?: { cert: string; key: string; ca?: string; probeCert?: string; probeKey?: string };
}

export interface TestEtcd {
  /** http://127.0.0.1:PORT (https with TLS), for the etcd3 client. */
  readonly url: string;
  /** 127.0.0.1:PORT, for etcd:// discovery URIs. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** The running etcd process; undefined while stopped. */
  readonly process: ServiceProcess | undefined;
  /** Stops etcd (SIGTERM, then SIGKILL) and keeps its data, so restart() brings it back as it was. */
  halt(): Promise<void>;
  /** Stops etcd if it runs and starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** Stops etcd and removes its data dir (when startEtcd created it). Idempotent. */
  stop(): Promise<void>;
}

/** True when etcd's /health answers {"health":"true"}. */
async function healthy(url: string, tls: StartEtcdOptions['tls']): Promise<boolean> {
  try {
    if (!tls) {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === 'true';
    }
    const body = await new Promise<string>((resolve, reject) => {
      const read = (file: string | undefined) => (file ? fs.readFileSync(file) : undefined);
      // No SNI: etcd is reached by IP address, which SNI may not carry.
      const req = https.get(`${url}/health`, { ca: read(tls.ca) ?? read(tls.cert), cert: read(tls.probeCert), key: read(tls.probeKey), timeout: 2000, servername: '' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
    return (JSON.parse(body) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** Starts etcd on free loopback ports with its own data dir and waits until it is healthy. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<TestEtcd> {
  if (!fs.existsSync(etcdBinary)) throw new Error(`startEtcd: ${etcdBinary} is missing; run tools/setup.sh (it installs etcd-server)`);
  const ownsDir = opts.dir === undefined;
  const root = opts.dir !== undefined ? path.resolve(opts.dir) : makeTempDir('flotilla-etcd-');
  const dataDir = path.join(root, 'data');
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  let proc: ServiceProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      '--name', 'default',
      '--data-dir', dataDir,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--initial-cluster-state', 'new',
      // Tests restart etcd often; a small snapshot count keeps restarts quick.
      '--snapshot-count', '1000',
      ...(opts.tls ? ['--cert-file', opts.tls.cert, '--key-file', opts.tls.key] : []),
      ...(opts.tls?.ca ? ['--trusted-ca-file', opts.tls.ca, '--client-cert-auth'] : []),
    ];
    // etcd refuses to start on architectures it does not support officially unless told to.
    const env: Record<string, string> = process.arch === 'x64' ? {} : { ETCD_UNSUPPORTED_ARCH: process.arch === 'arm64' ? 'arm64' : process.arch };
    const started = spawnService({ name: `etcd:${clientPort}`, command: etcdBinary, args, env });
    proc = started;
    try {
      await waitFor(
        async () => {
          if (started.exitInfo) throw new Error(`etcd exited (${JSON.stringify(started.exitInfo)}):\n${started.recentOutput()}`);
          return healthy(url, opts.tls);
        },
        { timeoutMs, intervalMs: 100, what: `etcd at ${url} to be healthy` },
      );
    } catch (err) {
      await started.stop();
      if (started.exitInfo) throw new Error(`startEtcd: ${(err as Error).message}\n${started.recentOutput()}`);
      throw err;
    }
  };

  const halt = async (): Promise<void> => {
    const running = proc;
    proc = undefined;
    await running?.stop(10_000);
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        await halt();
      } finally {
        if (ownsDir) removeTempDir(root);
        untrack(cleanable);
      }
    })();
    return stopped;
  };

  const cleanable: Cleanable = {
    description: `etcd at ${url} (data ${dataDir})`,
    stop,
    killSync: () => {
      // The process itself is tracked by spawnService; only the data is left to remove.
      if (ownsDir) removeTempDir(root);
    },
  };
  track(cleanable);

  try {
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    endpoint: `127.0.0.1:${clientPort}`,
    dataDir,
    get process() {
      return proc;
    },
    halt,
    async restart() {
      await halt();
      await launch();
    },
    stop,
  };
}
