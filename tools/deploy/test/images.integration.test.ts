// What is deployed, run as deployed: each service's image (tools/deploy/images.sh, apps/*/Dockerfile)
// built by a real Docker engine's legacy builder and run with --network host on a loopback port,
// with test certificates mounted, until Docker itself reports the container healthy through the
// image's HEALTHCHECK (grpc.health.v1 over mutual TLS with the service's own certificate); then one
// real call from the test. And the engine-agent's systemd unit, checked by systemd-analyze.
import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Role } from '@flotilla/pki';
import { freePort, makeTempDir, removeTempDir, repoRoot, spawnService, startEngines, testTls, waitFor, type TestEngines } from '@flotilla/testing';
import { checkHealth } from '../src/health-check';

const run = promisify(execFile);

/** The non-root user of the images (tools/deploy/images.sh). */
const imageUid = 10001;

let engines: TestEngines;
let dockerHost: string;
let socket: string;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  ({ dockerHost, socket } = engines.engines[0]);
}, 300_000);

afterAll(async () => {
  await engines?.stop();
});

function images(args: string[]): Promise<string> {
  return run('bash', [path.join(repoRoot(), 'tools/deploy/images.sh'), ...args], { env: { ...process.env, DOCKER_HOST: dockerHost }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout.trim());
}

function docker(args: string[]): Promise<string> {
  return engines.docker('engine-1', args);
}

/** The role's test certificate as the images expect it: ca.crt, tls.crt, tls.key, owned by the image's user. */
function certificateDir(role: Role): string {
  const files = testTls(role, `deploy-${role}`);
  const dir = makeTempDir(`flotilla-deploy-tls-${role}-`);
  copyFileSync(files.ca, path.join(dir, 'ca.crt'));
  copyFileSync(files.cert, path.join(dir, 'tls.crt'));
  copyFileSync(files.key, path.join(dir, 'tls.key'));
  for (const f of ['', 'ca.crt', 'tls.crt', 'tls.key']) chownSync(path.join(dir, f), imageUid, imageUid);
  return dir;
}

/** The container's output (the services log on stderr). */
async function containerLogs(name: string): Promise<string> {
  const r = await run('docker', ['-H', dockerHost, 'logs', '--tail', '20', name]).catch((err: { stdout?: string; stderr?: string }) => err);
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

interface ServiceCase {
  svc: 'engine-agent' | 'cluster-manager' | 'discovery';
  role: Role;
  prefix: string;
  /** More `docker run` arguments. */
  extra(): Promise<string[]>;
}

const cases: ServiceCase[] = [
  {
    svc: 'engine-agent',
    role: 'agent',
    prefix: 'FLOTILLA_AGENT',
    // Its Docker engine's socket, through the socket's group, as the README says.
    extra: async () => {
      const gid = (await run('stat', ['-c', '%g', socket])).stdout.trim();
      return ['-v', `${socket}:/var/run/docker.sock`, '--group-add', gid];
    },
  },
  { svc: 'cluster-manager', role: 'manager', prefix: 'FLOTILLA_MANAGER', extra: async () => [] },
  {
    svc: 'discovery',
    role: 'discovery',
    prefix: 'FLOTILLA_DISCOVERY',
    // A source and a manager that is not there: discovery serves anyway and retries its pushes.
    extra: async () => ['-e', 'FLOTILLA_DISCOVERY=nodes://127.0.0.1:1', '-e', `FLOTILLA_MANAGERS=127.0.0.1:${await freePort()}`],
  },
];

describe.each(cases)('the $svc image', ({ svc, role, prefix, extra }) => {
  it('builds from the deploy output, runs as non-root with mounted certificates, and Docker reports it healthy', async () => {
    const tag = `flotilla-test/${svc}:${process.pid}`;
    const name = `flotilla-test-${svc}-${process.pid}`;
    const tls = certificateDir(role);
    try {
      expect(await images(['build', svc, tag])).toBe(tag);
      const config = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config}}', tag])) as { User: string; Healthcheck: { Test: string[] } };
      expect(config.User).toBe(`${imageUid}:${imageUid}`);
      expect(config.Healthcheck.Test).toEqual(['CMD', 'node', '/app/health-check.js']);
      // Nothing but the deploy output and the base: no certificate or key in the image.
      const files = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'node', tag, '-e', "console.log(require('fs').readdirSync('/app').sort().join(' '), require('fs').existsSync('/etc/flotilla'))"]);
      expect(files).toBe('assets dist health-check.js main.js package.json false');

      const port = await freePort();
      await docker([
        'run', '--detach', '--name', name, '--network', 'host',
        // The image's own HEALTHCHECK command, run every second for the test.
        '--health-interval', '1s', '--health-start-period', '60s',
        '-v', `${tls}:/etc/flotilla/tls:ro`,
        '-e', `${prefix}_LISTEN=127.0.0.1:${port}`,
        ...(await extra()),
        tag,
      ]);
      const health = await waitFor(
        async () => {
          const state = JSON.parse(await docker(['inspect', '--format', '{{json .State}}', name])) as { Running: boolean; Health?: { Status: string; Log?: Array<{ Output: string }> } };
          if (!state.Running) throw new Error(`the container stopped: ${await containerLogs(name)}`);
          return state.Health?.Status === 'healthy' ? state.Health : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250, what: `${svc}'s container to be healthy` },
      );
      expect(health.Log?.at(-1)?.Output).toContain(`127.0.0.1:${port} SERVING`);
      // One real call from here: the standard health check, as a reader of the same CA.
      expect(await checkHealth(`127.0.0.1:${port}`, { kind: 'mtls', tls: testTls('reader') }, 10_000)).toBe('SERVING');
      // No process inside is root (the service, and a health check when one is running).
      const processes = (await docker(['top', name, '-o', 'pid,uid'])).split('\n').slice(1);
      expect([...new Set(processes.map((line) => line.trim().split(/\s+/)[1]))]).toEqual([String(imageUid)]);
    } finally {
      await docker(['rm', '--force', name]).catch(() => undefined);
      await docker(['rmi', '--force', tag]).catch(() => undefined);
      removeTempDir(tls);
    }
  }, 300_000);
});

describe('the engine-agent systemd unit', () => {
  const unitDir = path.join(repoRoot(), 'tools/deploy/systemd');
  const unit = 'flotilla-engine-agent.service';

  it('passes systemd-analyze verify, with no warning, installed as the README says', async () => {
    // A root file system holding what the unit names: Node.js at /usr/local/bin/node, the deploy
    // output at /opt/flotilla/engine-agent, the unit, and the system's own units it orders against.
    const root = makeTempDir('flotilla-deploy-systemd-');
    try {
      mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
      mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
      mkdirSync(path.join(root, 'usr/lib/systemd'), { recursive: true });
      cpSync('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
      copyFileSync(process.execPath, path.join(root, 'usr/local/bin/node'));
      cpSync(path.join(repoRoot(), 'apps/engine-agent/deploy'), path.join(root, 'opt/flotilla/engine-agent'), { recursive: true });
      copyFileSync(path.join(unitDir, unit), path.join(root, 'etc/systemd/system', unit));
      const result = await run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', unit], { timeout: 60_000 });
      expect(result.stderr).toBe('');
    } finally {
      removeTempDir(root);
    }
  });

  it('runs the deployed agent with the settings of its environment file (each a variable the agent reads) against a real engine', async () => {
    const envFile = readFileSync(path.join(unitDir, 'engine-agent.env'), 'utf8');
    const settings = Object.fromEntries(
      envFile
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const help = (await run(process.execPath, [path.join(repoRoot(), 'apps/engine-agent/deploy/main.js'), '--help'], { env: {} })).stdout;
    for (const variable of Object.keys(settings)) expect({ variable, known: help.includes(variable) }).toEqual({ variable, known: true });

    // Its paths replaced by this machine's (certificates, engine, a loopback port), as installed.
    const tls = testTls('agent', 'deploy-unit-agent');
    const port = await freePort();
    const env: Record<string, string> = {
      ...settings,
      FLOTILLA_DOCKER_HOST: dockerHost,
      FLOTILLA_AGENT_LISTEN: `127.0.0.1:${port}`,
      FLOTILLA_AGENT_TLS_CA: tls.ca,
      FLOTILLA_AGENT_TLS_CERT: tls.cert,
      FLOTILLA_AGENT_TLS_KEY: tls.key,
    };
    const agent = spawnService({ name: 'unit-agent', command: process.execPath, args: [path.join(repoRoot(), 'apps/engine-agent/deploy/main.js')], env });
    try {
      await agent.waitForLine(/"msg":"Docker engine reachable"/, 30_000);
      expect(await checkHealth(`127.0.0.1:${port}`, { kind: 'mtls', tls: testTls('reader') }, 10_000)).toBe('SERVING');
    } finally {
      await agent.stop();
    }
  });
});
