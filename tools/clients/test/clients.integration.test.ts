import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { cleanupAll, makeTempDir, removeTempDir, repoRoot, testTls, waitFor, type TestEngines } from '@flotilla/testing';
import { allContainers, startRealCluster, type ManagerProcess } from '../../../apps/cluster-manager/test/support';

// Flotilla from other languages: a Python and a Go client, generated at test time from proto/ with
// Debian's protoc (tools/clients/build.sh), against real engines (zone=a and zone=b), their agents
// and a manager, each a separate process, over mutual TLS with an operator certificate. Each
// client creates and starts a container constrained to zone==a, sees its `start` event on
// WatchEvents, reads the google.rpc details of an INVALID_ARGUMENT and removes the container.

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (killed after `timeoutMs`), never rejecting: the test judges. */
function runProgram(command: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20, env: options.env ?? process.env, cwd: options.cwd }, (err, stdout, stderr) => {
      const failure = err as (Error & { code?: number | string; signal?: string }) | null;
      resolve({
        code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
        signal: failure?.signal ?? null,
        stdout: String(stdout),
        stderr: String(stderr) + (failure && typeof failure.code !== 'number' ? `\n${failure.message}` : ''),
      });
    });
  });
}

function describeRun(run: Run): string {
  return `exit ${run.code}${run.signal ? ` (${run.signal})` : ''}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

interface EngineSeen {
  id: string;
  name: string;
  address: string;
}

/** The JSON line both clients print. */
interface Seen {
  client: string;
  container: { id: string; name: string; started: boolean; engine: EngineSeen };
  startEvent: { type: string; action: string; container: string; state: string; engine: EngineSeen };
  error: { code: string; statusCode: number; message: string; reason: string; domain: string; violations: Array<{ field: string; description: string }> };
  refusal: { code: string; reason: string; domain: string; placement: { summary: string; filters: string[] } | null };
  removed: boolean;
}

const clientsDir = path.join(repoRoot(), 'tools/clients');
// Debian's python3-grpcio and python3-protobuf are the system Python's, whatever is first on PATH.
const python = '/usr/bin/python3';
const CLIENT_TIMEOUT_MS = 90_000;

let out: string;
let engines: TestEngines;
let manager: ManagerProcess;
let ids: string[];
let addresses: string[];

beforeAll(async () => {
  out = makeTempDir('flotilla-clients-');
  // Generate both clients from proto/ (and build the Go one, offline) while the cluster starts.
  const build = (lang: string) => runProgram('bash', [path.join(clientsDir, 'build.sh'), lang, out], { timeoutMs: 240_000 });
  const [builtPython, builtGo, cluster] = await Promise.all([
    build('python'),
    build('go'),
    startRealCluster({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } }),
  ]);
  ({ engines, manager, ids, addresses } = cluster);
  if (builtPython.code !== 0) throw new Error(`build.sh python failed: ${describeRun(builtPython)}`);
  if (builtGo.code !== 0) throw new Error(`build.sh go failed: ${describeRun(builtGo)}`);
}, 300_000);

afterAll(async () => {
  await manager?.close();
  await cleanupAll();
  removeTempDir(out);
});

const clients: Record<string, (args: string[]) => Promise<Run>> = {
  python: (args) => runProgram(python, [path.join(clientsDir, 'python/flotilla_client.py'), ...args], { timeoutMs: CLIENT_TIMEOUT_MS, env: { ...process.env, PYTHONPATH: path.join(out, 'python') } }),
  go: (args) => runProgram(path.join(out, 'flotilla-go-client'), args, { timeoutMs: CLIENT_TIMEOUT_MS }),
};

it.each(['python', 'go'])('the %s client creates a zone==a container, sees it start, reads BadRequest, ErrorInfo and a PlacementExplanation, and removes it', async (lang) => {
  const tls = testTls('operator');
  const name = `${lang}-client`;
  const run = await clients[lang]!(['--address', manager.address, '--ca', tls.ca, '--cert', tls.cert, '--key', tls.key, '--name', name, '--constraint', 'zone==a']);
  if (run.code !== 0) throw new Error(`the ${lang} client failed: ${describeRun(run)}`);
  const lines = run.stdout.trim().split('\n');
  const seen = JSON.parse(lines[lines.length - 1]!) as Seen;

  expect(seen.client).toBe(lang);
  // Placed by the constraint on the zone=a engine, and started.
  expect(seen.container).toMatchObject({ name, started: true, engine: { id: ids[0], address: addresses[0] } });
  expect(seen.container.id).toMatch(/^[0-9a-f]{64}$/);
  // Its start event, from that engine.
  expect(seen.startEvent).toMatchObject({ type: 'container', action: 'start', container: seen.container.id, state: 'running', engine: { id: ids[0] } });
  // The google.rpc details of AddEngine("no-port-here"), from the grpc-status-details-bin trailer.
  expect(seen.error).toMatchObject({ code: 'INVALID_ARGUMENT', statusCode: 3, reason: 'INVALID_FIELD', domain: 'flotilla' });
  expect(seen.error.violations.map((v) => v.field)).toEqual(['address']);
  expect(seen.error.violations[0]!.description).toContain('no-port-here');
  // A create no engine can take: the PlacementExplanation among the google.rpc.Status details.
  expect(seen.refusal).toMatchObject({ code: 'FAILED_PRECONDITION', reason: 'NO_ENGINE_FITS', domain: 'flotilla' });
  expect(seen.refusal.placement?.filters).toEqual(addresses.map(() => 'constraint'));
  expect(seen.refusal.placement?.summary).not.toBe('');
  expect(seen.removed).toBe(true);

  // Gone from the engine itself, and from the cluster's view.
  const onEngine = await engines.docker('engine-1', ['ps', '-a', '-q', '--no-trunc']);
  expect(onEngine.split('\n')).not.toContain(seen.container.id);
  await waitFor(async () => ((await allContainers(manager.client, { all: true, names: [name] })).length === 0 ? true : undefined), { what: `${name} gone from the manager's list` });
});
