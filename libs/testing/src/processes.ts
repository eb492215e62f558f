// Service processes for integration tests, and the registry that cleans up after them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface SpawnServiceOptions {
  command: string;
  args: string[];
  /** Added to (and overriding) the parent's environment. */
  env?: Record<string, string>;
  /** Used in error messages. */
  name: string;
  /** Working directory; defaults to the parent's. */
  cwd?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type LineMatcher = RegExp | ((line: string) => boolean);

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** The most recent stdout and stderr lines (at most MAX_LINES), oldest first. */
  readonly lines: readonly string[];
  /** How many lines were seen in total, including those dropped from `lines`. */
  readonly totalLines: number;
  /** Set once the process has exited. */
  readonly exitInfo: ExitInfo | undefined;
  /** Settles when the process has exited and its output has been read. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /**
   * Resolves with the first line (already seen, or yet to come) that matches; with `since`, only
   * lines numbered `since` or later (see `totalLines`) count. Rejects with the recent output on
   * timeout (default 30 s) or when the process exits first.
   */
  waitForLine(match: LineMatcher, timeoutMs?: number, since?: number): Promise<string>;
  /** Sends a signal to the process, if it still runs. */
  signal(sig: NodeJS.Signals): void;
  /** SIGCONT, SIGTERM, then SIGKILL after `timeoutMs`; resolves with how it exited. Idempotent. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** The last `n` lines as one string, for error messages. */
  recentOutput(n?: number): string;
}

export const MAX_LINES = 2000;

// ---------------------------------------------------------------------------------------------
// Registry: everything a test started, so `cleanupAll()` (and, as a last resort, process exit)
// can stop it.

/** Something the registry can stop: a service, or a set of engines. */
export interface Cleanable {
  readonly description: string;
  stop(): Promise<unknown>;
  /** Synchronous last-resort kill, run from the process 'exit' hook. */
  killSync(): void;
}

const registry = new Set<Cleanable>();
let exitHookInstalled = false;

function exitHook(): void {
  for (const item of registry) {
    try {
      item.killSync();
    } catch {
      // keep going
    }
  }
  registry.clear();
}

/** Adds something to the cleanup registry. Used by spawnService and startEngines. */
export function track(item: Cleanable): void {
  registry.add(item);
  if (!exitHookInstalled) {
    process.on('exit', exitHook);
    exitHookInstalled = true;
  }
}

/** Removes something from the cleanup registry once it has been stopped. */
export function untrack(item: Cleanable): void {
  registry.delete(item);
  // Drop the hook when nothing is left, so test files run in one process do not pile up listeners.
  if (registry.size === 0 && exitHookInstalled) {
    process.removeListener('exit', exitHook);
    exitHookInstalled = false;
  }
}

/** Stops every service and engine set started and not yet stopped. Call it in afterAll. */
export async function cleanupAll(): Promise<void> {
  const items = [...registry];
  const results = await Promise.allSettled(items.map((item) => item.stop()));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${items[i].description}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [],
  );
  for (const item of items) untrack(item);
  if (failures.length > 0) throw new Error(`cleanupAll: ${failures.length} failed:\n${failures.join('\n')}`);
}

/** Sends a signal to a PID, ignoring a process that is already gone. */
export function killPid(pid: number | undefined, sig: NodeJS.Signals | number): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs a command synchronously, ignoring failures (for the exit hook). */
export function runSyncQuietly(command: string, args: string[], timeoutMs: number): void {
  try {
    spawnSync(command, args, { stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' });
  } catch {
    // ignore
  }
}

// ---------------------------------------------------------------------------------------------

// After the process exits, its output pipes normally close at once; a grandchild that inherited
// them could hold them open, so stop waiting for them after this long.
const OUTPUT_DRAIN_MS = 2000;

function toMatcher(match: LineMatcher): (line: string) => boolean {
  if (typeof match === 'function') return match;
  return (line) => {
    match.lastIndex = 0;
    return match.test(line);
  };
}

/** Spawns a service with piped stdio, keeps its recent output, and registers it for cleanup. */
export function spawnService(opts: SpawnServiceOptions): ServiceProcess {
  const child: ChildProcess = spawn(opts.command, opts.args, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Spawn failures (and failed kills) are reported as 'error' events; never let one go unhandled.
  child.on('error', () => undefined);
  if (child.pid === undefined) {
    throw new Error(`spawnService ${opts.name}: could not spawn ${opts.command} (missing or not executable?)`);
  }
  const pid = child.pid;
  // Nobody writes to the service's stdin; an EPIPE there must not crash the test run.
  child.stdin?.on('error', () => undefined);

  const lines: string[] = [];
  let totalLines = 0;
  const waiters = new Set<{ test: (line: string) => boolean; since: number; resolve: (line: string) => void }>();

  function addLine(line: string): void {
    totalLines++;
    lines.push(line);
    if (lines.length > MAX_LINES + 200) lines.splice(0, lines.length - MAX_LINES);
    for (const w of [...waiters]) {
      if (totalLines - 1 >= w.since && w.test(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  }

  function readLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        addLine(partial.slice(0, nl).replace(/\r$/, ''));
        partial = partial.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (partial) addLine(partial);
      partial = '';
    });
    stream.on('error', () => undefined);
  }
  readLines(child.stdout);
  readLines(child.stderr);

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = (info: ExitInfo) => {
      if (drainTimer) clearTimeout(drainTimer);
      exitInfo ??= info;
      resolve(exitInfo);
    };
    child.once('close', (code, signal) => finish({ code, signal }));
    child.once('exit', (code, signal) => {
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ code, signal });
      }, OUTPUT_DRAIN_MS);
      drainTimer.unref();
    });
  });

  function recentOutput(n = 40): string {
    const tail = lines.slice(-n);
    return tail.length ? tail.map((l) => `  | ${l}`).join('\n') : '  (no output)';
  }

  function describeExit(info: ExitInfo): string {
    return info.signal ? `signal ${info.signal}` : `code ${info.code}`;
  }

  function waitForLine(match: LineMatcher, timeoutMs = 30_000, since = 0): Promise<string> {
    const test = toMatcher(match);
    const firstKept = totalLines - lines.length;
    for (let i = Math.max(0, since - firstKept); i < lines.length; i++) {
      if (test(lines[i])) return Promise.resolve(lines[i]);
    }
    if (exitInfo) {
      return Promise.reject(
        new Error(`${opts.name} exited (${describeExit(exitInfo)}) before printing a line matching ${String(match)}; recent output:\n${recentOutput()}`),
      );
    }
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        test,
        since,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(`${opts.name}: no line matching ${String(match)} within ${timeoutMs} ms; recent output:\n${recentOutput()}`),
        );
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((info) => {
        if (!waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(
          new Error(`${opts.name} exited (${describeExit(info)}) before printing a line matching ${String(match)}; recent output:\n${recentOutput()}`),
        );
      });
    });
  }

  function running(): boolean {
    return exitInfo === undefined && child.exitCode === null && child.signalCode === null;
  }

  function signal(sig: NodeJS.Signals): void {
    if (running()) killPid(pid, sig);
  }

  let stopping: Promise<ExitInfo> | undefined;
  function stop(timeoutMs = 5000): Promise<ExitInfo> {
    stopping ??= (async () => {
      if (running()) {
        signal('SIGCONT');
        signal('SIGTERM');
        const timer = setTimeout(() => signal('SIGKILL'), timeoutMs);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    })();
    return stopping;
  }

  const cleanable: Cleanable = {
    description: `service ${opts.name} (PID ${pid})`,
    stop: () => stop(),
    killSync: () => {
      if (running()) killPid(pid, 'SIGKILL');
    },
  };
  track(cleanable);
  void exited.then(() => untrack(cleanable));

  return {
    name: opts.name,
    pid,
    get lines() {
      return lines.length > MAX_LINES ? lines.slice(-MAX_LINES) : lines;
    },
    get totalLines() {
      return totalLines;
    },
    get exitInfo() {
      return exitInfo;
    },
    exited,
    waitForLine,
    signal,
    stop,
    recentOutput,
  };
}
