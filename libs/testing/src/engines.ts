// Real, isolated Docker engines for integration tests, via tools/engines/engines.sh.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killPid, runSyncQuietly, track, untrack, type Cleanable } from './processes';
import { makeTempDir, removeTempDir } from './temp-dir';

export interface StartEnginesOptions {
  count: number;
  /** Labels for every engine (`--label k=v`). */
  labels?: Record<string, string>;
  /** Labels for one engine, keyed by its 1-based number (`--label@N k=v`). */
  engineLabels?: Record<number, Record<string, string>>;
  /** All engines share one key file, so they report the same engine ID. */
  sharedKey?: boolean;
  /** Where the engines live; by default a fresh temp dir, removed again by stop(). */
  dir?: string;
  /**
   * Each engine in a network namespace of its own (`--netns`): user-defined networks can be
   * created on it; host networking and published ports then live in that namespace, not on the
   * host's loopback. The namespace's name is in DIR/NAME/netns; stopping the engine deletes it.
   */
  netns?: boolean;
}

export interface TestEngine {
  /** engine-1, engine-2, ... */
  name: string;
  /** Path of the engine's unix socket (no unix:// prefix). */
  socket: string;
  /** unix://<socket>, for DOCKER_HOST or `docker -H`. */
  dockerHost: string;
  /** PID of the engine's dockerd as last listed (updated by startOne). */
  pid: number | undefined;
  /** With `netns`: the name of the engine's network namespace (`ip -n NAME ...`). */
  netns?: string;
}

export interface TestEngines {
  readonly dir: string;
  readonly engines: TestEngine[];
  /** The engine called `name`; throws if there is none. */
  engine(name: string): TestEngine;
  /** Stops every engine and removes the directory (when startEngines created it). Idempotent. */
  stop(): Promise<void>;
  stopOne(name: string): Promise<void>;
  /** Restarts a stopped or killed engine and waits until it answers. */
  startOne(name: string): Promise<void>;
  /** SIGKILLs the engine's dockerd (its containerd stays until startOne or stop). */
  killOne(name: string): Promise<void>;
  /**
   * Runs `docker -H unix://SOCK ...args`; resolves with trimmed stdout, rejects with stderr. With
   * `timeoutMs`, a call still running then is killed and rejects (a Docker that hangs on a call).
   */
  docker(name: string, args: string[], options?: { timeoutMs?: number }): Promise<string>;
  /** Re-reads `engines.sh list`. */
  list(): Promise<TestEngine[]>;
}

let repoRootCache: string | undefined;

/** The monorepo root: the nearest folder above this file that holds nx.json. */
export function repoRoot(): string {
  if (repoRootCache) return repoRootCache;
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'nx.json'))) return (repoRootCache = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${__dirname}`);
    dir = parent;
  }
}

export function enginesScript(): string {
  return path.join(repoRoot(), 'tools', 'engines', 'engines.sh');
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
    readonly exitCode: number | string | null,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** execFile as a promise; on failure rejects with a CommandError carrying stderr. */
function run(command: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 0, killSignal: 'SIGKILL', env: opts.env },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string };
        const how = e.killed ? `timed out after ${opts.timeoutMs} ms` : e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
        const detail = stderr.trim() || stdout.trim() || e.message;
        reject(new CommandError(`\`${[command, ...args].join(' ')}\` failed (${how}): ${detail}`, stdout, stderr, e.code ?? e.signal ?? null));
      },
    );
  });
}

function dockerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  return env;
}

function tailFile(file: string, n: number): string | undefined {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n).join('\n');
  } catch {
    return undefined;
  }
}

function engineLogs(dir: string, names?: string[], n = 30): string {
  let entries: string[];
  try {
    entries = names ?? fs.readdirSync(dir).filter((e) => /^engine-\d+$/.test(e)).sort();
  } catch {
    return '';
  }
  return entries
    .map((name) => {
      const tail = tailFile(path.join(dir, name, 'dockerd.log'), n);
      return tail === undefined ? '' : `\n--- last lines of ${path.join(dir, name, 'dockerd.log')} ---\n${tail}`;
    })
    .join('');
}

/** Parses `engines.sh list` output: NAME unix://SOCK PID (engines listen on their socket only). */
export function parseEngineList(text: string): TestEngine[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, dockerHost, pid] = line.split(/\s+/);
      if (!name || !dockerHost?.startsWith('unix://')) {
        throw new Error(`cannot parse engines.sh list line: ${JSON.stringify(line)}`);
      }
      return {
        name,
        socket: dockerHost.slice('unix://'.length),
        dockerHost,
        pid: pid ? Number(pid) : undefined,
      };
    });
}

function labelArgs(opts: StartEnginesOptions): string[] {
  const args: string[] = [];
  const check = (k: string, v: string) => {
    if (/\s/.test(k) || /\s/.test(v)) throw new Error(`engine label ${k}=${v}: keys and values must not contain whitespace`);
    return `${k}=${v}`;
  };
  for (const [k, v] of Object.entries(opts.labels ?? {})) args.push('--label', check(k, v));
  for (const [n, labels] of Object.entries(opts.engineLabels ?? {})) {
    const i = Number(n);
    if (!Number.isInteger(i) || i < 1 || i > opts.count) throw new Error(`engineLabels: no engine ${n} among ${opts.count}`);
    for (const [k, v] of Object.entries(labels)) args.push(`--label@${i}`, check(k, v));
  }
  if (opts.sharedKey) args.push('--shared-key');
  if (opts.netns) args.push('--netns');
  return args;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The network namespace of an engine started with `netns` (its DIR/NAME/netns), if any. */
export function readNetns(engineDir: string): string | undefined {
  try {
    const ns = fs.readFileSync(path.join(engineDir, 'netns'), 'utf8').trim();
    return /^flotilla-[0-9a-f]{12}$/.test(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

const START_TIMEOUT_PER_ENGINE_MS = 120_000;
const STOP_TIMEOUT_MS = 120_000;

/** Starts `count` real engines under a fresh directory and registers them for cleanupAll(). */
export async function startEngines(opts: StartEnginesOptions): Promise<TestEngines> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`startEngines: count must be a positive integer, got ${opts.count}`);
  const script = enginesScript();
  const extra = labelArgs(opts);
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir !== undefined ? path.resolve(opts.dir) : makeTempDir('flotilla-engines-');
  fs.mkdirSync(dir, { recursive: true });
  const env = dockerEnv();

  const sh = (args: string[], timeoutMs: number) => run('bash', [script, ...args], { timeoutMs, env });

  let stopped: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        await sh(['stop', dir], STOP_TIMEOUT_MS);
      } finally {
        if (ownsDir) removeTempDir(dir);
        untrack(cleanable);
      }
    })();
    return stopped;
  };

  const cleanable: Cleanable = {
    description: `engines under ${dir}`,
    stop: stopAll,
    killSync: () => {
      // Last resort at process exit: a graceful stop first, then SIGKILL whatever remains.
      runSyncQuietly('bash', [script, 'stop', dir], 30_000);
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir).filter((e) => /^engine-\d+$/.test(e));
      } catch {
        // gone already
      }
      for (const name of names) {
        killPid(readPid(path.join(dir, name, 'launcher.pid')), 'SIGKILL');
        killPid(readPid(path.join(dir, name, 'exec', 'containerd', 'containerd.pid')), 'SIGKILL');
        killPid(readPid(path.join(dir, name, 'forward.pid')), 'SIGKILL');
        const ns = readNetns(path.join(dir, name));
        if (ns) runSyncQuietly('ip', ['netns', 'del', ns], 10_000);
      }
      if (ownsDir) removeTempDir(dir);
    },
  };
  track(cleanable);

  let engines: TestEngine[];
  try {
    const { stdout } = await sh(['start', dir, String(opts.count), ...extra], opts.count * START_TIMEOUT_PER_ENGINE_MS);
    engines = parseEngineList(stdout);
    if (engines.length !== opts.count) {
      throw new Error(`engines.sh start listed ${engines.length} engines, expected ${opts.count}:\n${stdout}`);
    }
    if (opts.netns) {
      for (const e of engines) {
        e.netns = readNetns(path.join(dir, e.name));
        if (!e.netns) throw new Error(`engines.sh start with --netns recorded no namespace for ${e.name}`);
      }
    }
  } catch (err) {
    const logs = engineLogs(dir);
    await stopAll().catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`startEngines(${opts.count}) failed: ${message}${logs}`);
  }

  const find = (name: string): TestEngine => {
    const engine = engines.find((e) => e.name === name);
    if (!engine) throw new Error(`no engine ${name} under ${dir} (have ${engines.map((e) => e.name).join(', ')})`);
    return engine;
  };

  const list = async (): Promise<TestEngine[]> => {
    const fresh = parseEngineList((await sh(['list', dir], 30_000)).stdout);
    // Keep the objects handed out so far up to date.
    for (const f of fresh) {
      const known = engines.find((e) => e.name === f.name);
      if (known) Object.assign(known, f);
    }
    return fresh;
  };

  const withLog = async (name: string, what: Promise<unknown>): Promise<void> => {
    try {
      await what;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${message}${engineLogs(dir, [name])}`);
    }
  };

  return {
    dir,
    engines,
    engine: find,
    stop: stopAll,
    async stopOne(name) {
      find(name);
      await withLog(name, sh(['stop-one', dir, name], STOP_TIMEOUT_MS));
    },
    async startOne(name) {
      find(name);
      await withLog(name, sh(['start-one', dir, name], START_TIMEOUT_PER_ENGINE_MS));
      await list();
    },
    async killOne(name) {
      find(name);
      await withLog(name, sh(['kill-one', dir, name], 30_000));
    },
    async docker(name, args, options = {}) {
      const { stdout } = await run('docker', ['-H', find(name).dockerHost, ...args], { env, timeoutMs: options.timeoutMs });
      return stdout.trim();
    },
    list,
  };
}
