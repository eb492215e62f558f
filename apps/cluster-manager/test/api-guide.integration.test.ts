import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { call } from '@flotilla/grpc';
import { busyboxRootfsTar, cleanupAll, repoRoot, startTestRegistry, testTls, waitFor, type TestRegistry } from '@flotilla/testing';
import { startRealCluster, type RealCluster } from './support';

// Runs every example of docs/api.md as written, through `bash -c`, against two real engines
// (labelled zone=a and zone=b), their agents and a manager. The guide marks each example with
// `<!-- api-guide: NAME -->` before its ```sh block; the block marked `setup` defines the
// variables the examples use, which this test sets to its own cluster's instead. Every marked
// example must have a check here and every check an example, so the two cannot drift apart.

const guidePath = path.join(repoRoot(), 'docs', 'api.md');

interface Example {
  name: string;
  script: string;
}

/** The marked ```sh blocks of the guide, in order. */
function examples(): Example[] {
  const text = readFileSync(guidePath, 'utf8');
  const found: Example[] = [];
  for (const m of text.matchAll(/<!-- api-guide: ([a-z0-9-]+) -->\n```sh\n([\s\S]*?)\n```/g)) found.push({ name: m[1], script: m[2] });
  return found;
}

const all = examples();
const setup = all.find((e) => e.name === 'setup');
const runnable = all.filter((e) => e.name !== 'setup');

let cluster: RealCluster | undefined;
let registry: TestRegistry | undefined;
let env: NodeJS.ProcessEnv = {};
const children = new Set<ChildProcess>();
const deadlineMs = 90_000;

beforeAll(async () => {
  registry = await startTestRegistry([{ repository: 'guide/app', tag: '1', rootfsTar: busyboxRootfsTar() }]);
  cluster = await startRealCluster({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } });
  const tls = testTls('operator');
  env = {
    ...process.env,
    // The examples' `npx` must find this Node.js (24) and the repository's buf.
    PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    FLOTILLA_MANAGER: cluster.manager.address,
    CA: tls.ca,
    CERT: tls.cert,
    KEY: tls.key,
    IMAGE: registry.reference('guide/app', '1'),
    NO_COLOR: '1',
  };
});

afterAll(async () => {
  for (const child of children) stopGroup(child, 'SIGKILL');
  await registry?.close();
  await cluster?.manager.close();
  await cleanupAll();
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Signals the example's whole process group (bash, npx, buf). */
function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts an example in its own process group. `until` ends a streaming example: once it holds for
 * the output so far, the example is stopped (SIGINT, as Ctrl-C would); every wait has a deadline.
 */
async function run(example: Example, options: { until?: (stdout: string) => boolean; whileRunning?: () => Promise<void> } = {}): Promise<Outcome> {
  const child = spawn('bash', ['-c', example.script], { cwd: repoRoot(), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  try {
    if (options.whileRunning) await options.whileRunning();
    if (options.until) {
      const until = options.until;
      await waitFor(() => until(stdout) || done, { timeoutMs: deadlineMs, what: `example ${example.name} to show what it is checked for` });
      stopGroup(child, 'SIGINT');
    }
    const timer = setTimeout(() => stopGroup(child, 'SIGKILL'), deadlineMs);
    const code = await exited;
    clearTimeout(timer);
    // To see what each example prints, e.g. when editing the guide.
    if (process.env.FLOTILLA_API_GUIDE_SHOW) process.stdout.write(`--- ${example.name} (exit ${code})\n${stdout}${stderr}\n`);
    return { code, stdout, stderr };
  } catch (err) {
    stopGroup(child, 'SIGKILL');
    throw new Error(`${(err as Error).message}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`);
  } finally {
    children.delete(child);
  }
}

function json<T>(outcome: Outcome): T {
  if (outcome.code !== 0) throw new Error(`exit code ${outcome.code}\nstdout: ${outcome.stdout}\nstderr: ${outcome.stderr}`);
  return JSON.parse(outcome.stdout) as T;
}

/** The JSON messages a streaming `buf curl` printed, one object after another. */
function messages<T>(stdout: string): T[] {
  const out: T[] = [];
  for (const m of stdout.matchAll(/^\{[\s\S]*?^\}$/gm)) out.push(JSON.parse(m[0]) as T);
  return out;
}

const c = () => cluster!;
const logLine = 'd2ViIGlzIHVwCg=='; // base64 of "web is up\n"

type Check = (example: Example) => Promise<void>;

const checks: Record<string, Check> = {
  'get-info': async (e) => {
    const info = json<{ strategy: string; engineCounts: { healthy: number } }>(await run(e));
    expect(info.strategy).toBe('spread');
    expect(info.engineCounts.healthy).toBe(2);
  },
  'list-engines': async (e) => {
    const page = json<{ engines: Array<{ address: string; status: string }>; nextPageToken?: string }>(await run(e));
    expect(page.engines).toEqual([expect.objectContaining({ address: [...c().addresses].sort()[0], status: 'ENGINE_STATUS_HEALTHY' })]);
    expect(page.nextPageToken).toBeTruthy();
  },
  'create-container': async (e) => {
    const created = json<{ id: string; name: string; engine: { address: string }; started: boolean; foundByRequestId?: boolean }>(await run(e));
    expect(created).toMatchObject({ name: 'web', started: true, engine: { address: c().addresses[1] } });
    expect(created.foundByRequestId).toBeUndefined();
  },
  'create-container-again': async (e) => {
    const created = json<{ name: string; engine: { address: string }; foundByRequestId?: boolean }>(await run(e));
    expect(created).toMatchObject({ name: 'web', engine: { address: c().addresses[1] }, foundByRequestId: true });
  },
  'list-containers': async (e) => {
    const page = json<{ containers: Array<{ container: { names: string[]; state: string }; engine: { address: string } }> }>(await run(e));
    expect(page.containers).toHaveLength(1);
    expect(page.containers[0]).toMatchObject({ container: { names: ['web'], state: 'running' }, engine: { address: c().addresses[1] } });
  },
  'explain-placement': async (e) => {
    const answer = json<{ chosen?: unknown; explanation: { engines: Array<{ filter: string; reason: string }> } }>(await run(e));
    expect(answer.chosen).toBeUndefined();
    expect(answer.explanation.engines).toHaveLength(2);
    for (const engine of answer.explanation.engines) expect(engine).toMatchObject({ filter: 'constraint', reason: expect.stringContaining('zone==z') });
  },
  'error-no-engine-fits': async (e) => {
    const outcome = await run(e);
    expect(outcome.code).not.toBe(0);
    // buf prints the error as JSON on stderr; npx may print a Node.js warning line before it.
    const error = JSON.parse(outcome.stderr.slice(outcome.stderr.search(/^\{/m))) as { code: string; message: string; details: Array<{ type: string; debug?: unknown }> };
    expect(error.code).toBe('failed_precondition');
    expect(error.message).toMatch(/^no engine can take the container: .*zone==z/);
    expect(error.details.map((d) => d.type)).toEqual(expect.arrayContaining(['google.rpc.ErrorInfo', 'flotilla.cluster.v1.PlacementExplanation']));
  },
  'watch-events': async (e) => {
    const seen = c().manager.process.totalLines;
    const outcome = await run(e, {
      // Once the subscription is live, the container stops: its "die" must come through.
      whileRunning: async () => {
        await c().manager.process.waitForLine(/event subscriber connected/, deadlineMs, seen);
        await call(c().manager.client, c().manager.client.stopContainer, { container: 'web', timeoutSeconds: 0 });
      },
      until: (stdout) => /"action": "die"/.test(stdout),
    });
    const events = messages<{ event: { type: string; action: string; engine: { address: string } } }>(outcome.stdout);
    expect(events).toContainEqual({ event: expect.objectContaining({ type: 'container', action: 'die', engine: expect.objectContaining({ address: c().addresses[1] }) }) });
    await call(c().manager.client, c().manager.client.startContainer, { container: 'web' });
  },
  'container-logs': async (e) => {
    const outcome = await run(e, { until: (stdout) => stdout.includes(logLine) });
    expect(messages<{ data: string }>(outcome.stdout).map((m) => m.data)).toContain(logLine);
  },
  'pull-image': async (e) => {
    const outcome = await run(e);
    expect(outcome.code).toBe(0);
    const ends = messages<{ engine: { address: string }; done?: boolean; error?: string }>(outcome.stdout).filter((m) => m.done);
    expect(ends.map((m) => m.engine.address).sort()).toEqual([...c().addresses].sort());
    for (const end of ends) expect(end.error).toBeUndefined();
  },
  'list-images': async (e) => {
    const page = json<{ images: Array<{ image: { id: string; repoTags: string[] }; engine: { address: string } }> }>(await run(e));
    expect(page.images.map((i) => i.engine.address).sort()).toEqual([...c().addresses].sort());
    for (const entry of page.images) expect(entry.image.repoTags).toContain('busybox:local');
  },
  'exec-container': async (e) => {
    const outcome = await run(e);
    expect(outcome.code).toBe(0);
    const answers = messages<{ started?: { engine: { address: string } }; stdout?: string; exit?: { exitCode: number } }>(outcome.stdout);
    expect(answers[0].started?.engine.address).toBe(c().addresses[1]);
    expect(Buffer.from(answers.map((a) => a.stdout ?? '').join(''), 'base64').toString()).toBe('hello from web\n');
    expect(answers.at(-1)?.exit?.exitCode).toBe(3);
  },
  'remove-container': async (e) => {
    const removed = json<{ engine: { address: string } }>(await run(e));
    expect(removed.engine.address).toBe(c().addresses[1]);
  },
};

it('has a setup block defining exactly the variables this test sets', () => {
  expect(setup).toBeDefined();
  const defined = [...setup!.script.matchAll(/\bexport\s+([^\n#]*)/g)].flatMap((m) => [...m[1].matchAll(/\b([A-Z_]+)=/g)].map((v) => v[1]));
  expect(defined.sort()).toEqual(['CA', 'CERT', 'FLOTILLA_MANAGER', 'IMAGE', 'KEY']);
});

it('checks every example of the guide, and has no check without an example', () => {
  expect(runnable.map((e) => e.name).sort()).toEqual(Object.keys(checks).sort());
});

describe.each(runnable.map((e) => [e.name, e] as const))('docs/api.md example %s', (name, example) => {
  it('runs as written and answers as the guide says', async () => {
    const check = checks[name];
    if (!check) throw new Error(`no check for example ${name}`);
    await check(example);
  });
});
