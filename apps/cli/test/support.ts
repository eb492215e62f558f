import { execFile, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  deployedScript,
  freePort,
  makeTempDir,
  spawnService,
  startEngines,
  startNodeService,
  type RunningService,
  type ServiceProcess,
  testTls,
  type TestEngines,
  waitFor,
} from '@flotilla/testing';

/** The built CLI, as deployed (apps/cli/deploy/main.js). */
export function cliScript(): string {
  return deployedScript('apps/cli/dist/main.js');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A config directory of our own, so a config file of the user running the tests never interferes. */
export const configHome = makeTempDir('flotilla-cli-config-');

/** The environment the CLI runs in: none of the runner's FLOTILLA_* or NO_COLOR settings. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FLOTILLA_') && k !== 'NO_COLOR' && k !== 'COLUMNS') env[k] = v;
  // The CLI speaks to the test cluster as an operator, with a certificate from the test CA.
  const operator = testTls('operator');
  return { ...env, XDG_CONFIG_HOME: configHome, TERM: 'xterm-256color', FLOTILLA_TLS_CA: operator.ca, FLOTILLA_TLS_CERT: operator.cert, FLOTILLA_TLS_KEY: operator.key, ...extra };
}

/** Runs the built CLI as its own process, output piped; never rejects on a non-zero exit. */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; input?: string | Buffer } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [cliScript(), ...args],
      { env: cliEnv(options.env), encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as Error & { killed?: boolean; code?: number | string | null };
        if (e.killed) return reject(new Error(`flotilla ${args.join(' ')} timed out; stderr: ${stderr}`));
        if (typeof e.code === 'string') return reject(err);
        resolve({ code: typeof e.code === 'number' ? e.code : null, stdout, stderr });
      },
    );
    // What is piped in (exec -i); without it, stdin is an empty pipe.
    child.stdin?.end(options.input ?? '');
  });
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** True when util-linux `script` (Debian's bsdutils) is there to give the CLI a pseudo-terminal. */
export function hasScript(): boolean {
  return spawnSync('script', ['--version']).status === 0;
}

/**
 * Runs the built CLI on a pseudo-terminal `columns` wide (util-linux `script`), and returns what
 * the terminal received, with the pty's \r\n turned back into \n.
 */
export function runOnTerminal(args: string[], columns: number, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const command = `stty cols ${columns} rows 50 && exec ${[process.execPath, cliScript(), ...args].map(shellQuote).join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      { env: cliEnv(options.env), encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && (err as { killed?: boolean }).killed) return reject(new Error(`script ${command} timed out; output: ${stdout}`));
        const code = (err as { code?: unknown } | null)?.code;
        resolve({ code: err ? (typeof code === 'number' ? code : null) : 0, stdout: stdout.replace(/\r\n/g, '\n'), stderr });
      },
    );
  });
}

/** A step of a terminal session (see pty-session.py): wait for output, type, or resize the terminal. */
export type TerminalStep = { expect: string } | { send: string } | { resize: [rows: number, columns: number] };

/**
 * Runs the built CLI on a pseudo-terminal of `rows` x `columns` (python3's pty, which can resize
 * it as a user would), through `steps`; returns everything the terminal showed and the exit code
 * (99 when a step's expectation was not met within 60 s).
 */
export function runInTerminal(args: string[], steps: TerminalStep[], rows = 24, columns = 80, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const session = path.join(__dirname, 'pty-session.py');
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [session, JSON.stringify(steps), String(rows), String(columns), '--', process.execPath, cliScript(), ...args],
      { env: cliEnv(options.env), encoding: 'utf8', timeout: options.timeoutMs ?? 240_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && (err as { killed?: boolean }).killed) return reject(new Error(`the terminal session of flotilla ${args.join(' ')} timed out; output: ${stdout}`));
        const code = (err as { code?: unknown } | null)?.code;
        resolve({ code: err ? (typeof code === 'number' ? code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** The built CLI as a long-running process (events, logs -f, run in the foreground). */
export function spawnCli(name: string, args: string[], env: Record<string, string> = {}): ServiceProcess {
  const full = cliEnv(env);
  return spawnService({ name, command: process.execPath, args: [cliScript(), ...args], env: Object.fromEntries(Object.entries(full).filter((e): e is [string, string] => e[1] !== undefined)) });
}

export interface TestCluster {
  engines: TestEngines;
  agents: RunningService[];
  /** Engine-agent addresses, in engine order (engine-1 is zone=a, engine-2 zone=b, engine-3 zone=c). */
  agentAddresses: string[];
  manager: RunningService;
}

/**
 * Three real engines labelled zone=a/b/c, an engine-agent process beside each, and the
 * cluster-manager process with all three (debug logs, so tests can see event subscribers come and go).
 */
/** `netns`: each engine in a network namespace of its own, so networks can be made on it (startEngines). */
export async function startCluster(options: { netns?: boolean } = {}): Promise<TestCluster> {
  const engines = await startEngines({ count: 3, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' }, 3: { zone: 'c' } }, netns: options.netns });
  const agents: RunningService[] = [];
  const agentAddresses: string[] = [];
  for (const engine of engines.engines) {
    const port = await freePort();
    agents.push(
      await startNodeService({
        name: `agent-${engine.name}`,
        script: 'apps/engine-agent/dist/main.js',
        args: ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`, '--heartbeat-interval', '200ms'],
      }),
    );
    agentAddresses.push(`127.0.0.1:${port}`);
  }
  const manager = await startNodeService({
    name: 'manager',
    script: 'apps/cluster-manager/dist/main.js',
    args: ['--listen', '127.0.0.1:0', '--log-level', 'debug', '--engine', agentAddresses.join(','), '--pending-retry-min', '200ms', '--pending-retry-max', '1s'],
  });
  return { engines, agents, agentAddresses, manager };
}

/** Waits until `flotilla engine ls` (run by `flotilla`) shows the three engines of startCluster healthy. */
export async function untilEnginesHealthy(flotilla: (...args: string[]) => Promise<CliResult>): Promise<void> {
  await waitFor(
    async () => {
      const r = await flotilla('engine', 'ls', '--format', 'json');
      const list = JSON.parse(r.stdout) as Array<{ status?: string }>;
      return list.length === 3 && list.every((e) => e.status === 'ENGINE_STATUS_HEALTHY') ? true : undefined;
    },
    { what: 'three healthy engines in flotilla engine ls', timeoutMs: 60_000 },
  );
}

// eslint-disable-next-line no-control-regex
export const ansiPattern = /\x1b\[[0-9;?]*[A-Za-z]/;

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}
