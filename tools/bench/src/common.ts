// Shared plumbing of the benchmark programs: flags, statistics, the machine, RESULTS.md, the
// manager as its own process, and cleanup of everything a bench started (by PID, never by name).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { dial } from '@flotilla/grpc';
import { ClusterServiceClient } from '@flotilla/proto/cluster';
import { cleanupAll, repoRoot, spawnService, testTls, tlsArgs, type ServiceProcess } from '@flotilla/testing';

// ---- flags ----

export type FlagValue = number | string | boolean;

/** `--name value`, `--name=value` and bare `--flag` (booleans); unknown flags are an error. */
export function parseArgs<T extends Record<string, FlagValue>>(defaults: T, argv = process.argv.slice(2), usage = ''): T {
  const out: Record<string, FlagValue> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\nflags (defaults):\n${Object.entries(defaults).map(([k, v]) => `  --${k} ${JSON.stringify(v)}`).join('\n')}\n`);
      process.exit(0);
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown argument ${arg}; --help lists the flags`);
    const key = m[1];
    const kind = typeof defaults[key];
    let raw = m[2];
    if (raw === undefined) {
      if (kind === 'boolean' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) raw = 'true';
      else raw = argv[++i];
    }
    if (raw === undefined) throw new Error(`--${key} needs a value`);
    if (kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`--${key}: not a number: ${raw}`);
      out[key] = n;
    } else if (kind === 'boolean') out[key] = raw === 'true' || raw === '1';
    else out[key] = raw;
  }
  return out as T;
}

// ---- statistics ----

export interface Summary {
  n: number;
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values: with n < 100 samples, p99 is the maximum. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Summary of the finite values (a NaN marks a run that produced no figure). */
export function summarize(values: readonly number[]): Summary {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = s.length;
  const median = n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { n, median, p90: percentile(s, 90), p99: percentile(s, 99), min: s[0] ?? NaN, max: s[n - 1] ?? NaN, mean: n ? s.reduce((a, b) => a + b, 0) / n : NaN };
}

export function fmt(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return x.toFixed(digits);
}

export interface Row {
  what: string;
  unit: string;
  summary: Summary;
  digits?: number;
}

/** A Markdown table: metric, unit, median, p90, p99, min, max, n. */
export function table(rows: Row[]): string {
  const head = '| metric | unit | median | p90 | p99 | min | max | n |\n|---|---|---:|---:|---:|---:|---:|---:|';
  const body = rows.map(({ what, unit, summary: s, digits }) => `| ${what} | ${unit} | ${fmt(s.median, digits)} | ${fmt(s.p90, digits)} | ${fmt(s.p99, digits)} | ${fmt(s.min, digits)} | ${fmt(s.max, digits)} | ${s.n} |`);
  return [head, ...body].join('\n');
}

export interface GoalCheck {
  goal: string;
  measured: string;
  met: boolean;
}

export function goalTable(goals: GoalCheck[]): string {
  return ['| goal | measured | met |', '|---|---|---|', ...goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**NO**'} |`)].join('\n');
}

// ---- the machine ----

function tryRun(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch {
    return 'n/a';
  }
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'n/a';
  }
}

export function openFileLimit(): { soft: number; hard: number } {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').split(/\s{2,}/).slice(1, 3).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft: soft ?? NaN, hard: hard ?? NaN };
}

const loadAtStart = os.loadavg();

/** stdout of a command, or undefined when it cannot run or fails. */
function runOrUndefined(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The commit measured: `git describe` (tags if any, else the short hash) and the full hash, and
 * "dirty" when the work tree differs from HEAD: changed, staged or untracked files (ignored files
 * aside), not counting tools/bench/RESULTS.md, which the benches themselves append to.
 */
export function gitDescription(): string {
  const root = repoRoot();
  const git = (...args: string[]) => runOrUndefined('git', ['-C', root, ...args]);
  const head = git('rev-parse', 'HEAD');
  if (!head) return 'n/a (not a git work tree, or git is missing)';
  const described = git('describe', '--tags', '--always', '--abbrev=12') ?? head.slice(0, 12);
  const results = path.relative(root, resultsFile());
  const status = git('status', '--porcelain', '--untracked-files=all', '--', '.', `:(exclude)${results}`);
  if (status === undefined) return `${described} (${head}), work tree state unknown (git status failed)`;
  const changed = status.split('\n').filter(Boolean).length;
  return changed ? `${described}-dirty (${head}; the work tree differs from it in ${changed} file(s), untracked ones included, ${results} not counted)` : `${described} (${head}, clean work tree)`;
}

export function machine(): string {
  const nofile = openFileLimit();
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `- machine: \`nproc\` = ${tryRun('nproc', [])} (${os.cpus()[0]?.model ?? 'unknown CPU'}), memory ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB, kernel ${os.release()}, open-file limit ${nofile.soft}/${nofile.hard}`,
    `- versions: node ${process.version}, @grpc/grpc-js ${packageVersion('@grpc/grpc-js')}, ${tryRun('dockerd', ['--version'])}`,
    `- load average (1/5/15 min) when the bench started: ${load(loadAtStart)}; at the report: ${load(os.loadavg())}`,
    `- git: ${gitDescription()}`,
  ].join('\n');
}

/** The command that reproduces this run, from the repository root. */
export function commandLine(): string {
  return ['node', path.relative(repoRoot(), process.argv[1]), ...process.argv.slice(2)].join(' ');
}

export function resultsFile(): string {
  return path.join(repoRoot(), 'tools', 'bench', 'RESULTS.md');
}

/** Prints the results with the command and the machine, and appends them to RESULTS.md. */
export function report(title: string, body: string, append = true): void {
  process.stdout.write(`\n# ${title}\n\n  ${commandLine()}\n\n${machine()}\n\n${body.trim()}\n`);
  if (append) appendResults(title, body);
}

/** Appends a dated section to tools/bench/RESULTS.md. */
export function appendResults(title: string, body: string): void {
  const file = resultsFile();
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, '# Flotilla benchmark results\n\nEvery run of a bench appends a dated section here (newest last). See README.md for what each bench measures.\n');
  }
  const section = `\n## ${title} — ${new Date().toISOString()}\n\n\`\`\`sh\n${commandLine()}\n\`\`\`\n\n${machine()}\n\n${body.trim()}\n`;
  fs.appendFileSync(file, section);
  process.stdout.write(`\n(appended to ${path.relative(repoRoot(), file)})\n`);
}

export function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

// ---- processes ----

/** VmRSS and VmHWM of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU time (user + system) a process has used, in ms. */
export function cpuMsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

/**
 * Spawns `node script args` tracked by libs/testing (so cleanup stops it by PID). When the process
 * needs more open files than this process's soft limit, it runs under `bash -c 'ulimit -n N; exec node ...'`
 * (exec keeps the PID), up to the hard limit.
 */
export function spawnNode(name: string, script: string, args: string[], opts: { nofile?: number; nodeArgs?: string[]; env?: Record<string, string> } = {}): ServiceProcess {
  const full = path.isAbsolute(script) ? script : path.join(repoRoot(), script);
  const nodeArgv = [...(opts.nodeArgs ?? []), full, ...args];
  const limit = openFileLimit();
  if (opts.nofile && opts.nofile > limit.soft) {
    if (opts.nofile > limit.hard) {
      throw new Error(`${name} needs ${opts.nofile} open files but the hard limit is ${limit.hard}; raise it (e.g. \`ulimit -Hn ${opts.nofile}\` as root, or LimitNOFILE) and retry`);
    }
    return spawnService({ name, command: 'bash', args: ['-c', `ulimit -n ${opts.nofile} && exec "$0" "$@"`, process.execPath, ...nodeArgv], env: opts.env });
  }
  return spawnService({ name, command: process.execPath, args: nodeArgv, env: opts.env });
}

/** Calls `fn` with every line (stdout and stderr) the process writes from now on. */
export function tapLines(proc: ServiceProcess, fn: (line: string) => void): void {
  void proc
    .waitForLine(
      (line) => {
        fn(line);
        return false;
      },
      2 ** 31 - 1,
      proc.totalLines,
    )
    .catch(() => undefined);
}

/** Counts the manager's "engine unhealthy" log lines by reason (numbers and addresses masked). */
export class UnhealthyReasons {
  readonly counts = new Map<string, number>();
  total = 0;

  constructor(proc: ServiceProcess) {
    tapLines(proc, (line) => {
      if (!line.includes('"engine unhealthy"')) return;
      this.total++;
      let reason = '?';
      try {
        reason = String((JSON.parse(line) as { error?: unknown }).error ?? '?');
      } catch {
        // not JSON
      }
      reason = reason.replace(/\d+(\.\d+)?/g, 'N').slice(0, 120);
      this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    });
  }

  summary(): string {
    if (!this.total) return 'none';
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([r, n]) => `${n}× "${r}"`).join('; ');
  }
}

export interface ManagerProcess {
  process: ServiceProcess;
  pid: number;
  address: string;
  client: ClusterServiceClient;
  /** A client with a discovery certificate: only discovery may push engine sets (SyncEngines). */
  pusher: ClusterServiceClient;
  close(): Promise<void>;
}

/** Client channel options: GetInfo/ListEngines at 5,000 engines are larger than grpc-js's default 4 MiB receive limit. */
export const bigMessages = { 'grpc.max_receive_message_length': -1 };

/**
 * `--manager-env "NAME=value NAME2=value2"`: more environment for the manager process, for A/B
 * experiments (e.g. `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536`). Empty: none.
 */
export function managerEnvFrom(flag: string): Record<string, string> | undefined {
  const words = flag.split(' ').filter(Boolean);
  if (words.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`--manager-env: "${word}" is not NAME=value`);
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}

/** The words a bench's report adds for a non-default manager environment. */
export function managerEnvNote(flag: string): string {
  return flag.trim() ? `, **the manager's environment plus \`${flag.trim()}\`**` : '';
}

/** The built cluster-manager (apps/cluster-manager/dist/main.js) as its own process on a free port. */
export async function startManagerProcess(args: string[] = [], opts: { nofile?: number; nodeArgs?: string[]; script?: string; env?: Record<string, string> } = {}): Promise<ManagerProcess> {
  const proc = spawnNode('cluster-manager', opts.script || 'apps/cluster-manager/dist/main.js', ['--listen', '127.0.0.1:0', ...tlsArgs('manager'), ...args], opts);
  const line = await proc.waitForLine(/"msg":"listening"/, 30_000);
  const port = (JSON.parse(line) as { port: number }).port;
  const address = `127.0.0.1:${port}`;
  // The bench's own channel pings rarely: with libs/grpc's default keepalive (10 s, 5 s timeout) a
  // manager busy for more than 5 s misses the ping and the bench's calls fail with "Connection dropped".
  const client = dial(ClusterServiceClient, address, { tls: testTls('operator'), defaultDeadlineMs: 120_000, channelOptions: bigMessages, keepalive: { timeMs: 60_000, timeoutMs: 60_000 } });
  const pusher = dial(ClusterServiceClient, address, { tls: testTls('discovery'), defaultDeadlineMs: 120_000, keepalive: { timeMs: 60_000, timeoutMs: 60_000 } });
  return {
    process: proc,
    pid: proc.pid,
    address,
    client,
    pusher,
    async close() {
      client.close();
      pusher.close();
      await proc.stop(10_000);
    },
  };
}

/** On Ctrl-C or SIGTERM, stops everything started (by PID) before exiting. */
export function installSignalCleanup(extra?: () => Promise<void>): void {
  let once = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (once) return;
    once = true;
    log(`${signal}: stopping everything this bench started`);
    void (async () => {
      // Bounded: a bench's own cleanup may wait on work in flight (an agent restart); the processes come first.
      await Promise.race([extra?.().catch(() => undefined), sleep(10_000)]);
      await cleanupAll().catch(() => undefined);
      process.exit(130);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function now(): number {
  return performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a bench's main function: failures print and exit 1, everything started is stopped either way. */
export function runMain(main: () => Promise<void>, extraCleanup?: () => Promise<void>): void {
  installSignalCleanup(extraCleanup);
  main().then(
    async () => {
      await extraCleanup?.().catch(() => undefined);
      await cleanupAll();
      process.exit(0);
    },
    async (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await extraCleanup?.().catch(() => undefined);
      await cleanupAll().catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
      process.exit(1);
    },
  );
}
