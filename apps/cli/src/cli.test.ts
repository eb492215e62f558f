import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, makeTempDir, removeTempDir } from '@flotilla/testing';
import { commandHelp, mainHelp, runCli } from './cli';
import { commands } from './commands';
import { isGroup } from './command';
import type { Io, Output } from './io';

// The CLI in process, with recorded output, for everything that needs no cluster.

function output(isTTY = false, columns?: number): Output & { text: string } {
  const out = {
    text: '',
    write(chunk: string | Uint8Array) {
      out.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    },
    isTTY,
    columns,
    flush: async () => undefined,
  };
  return out;
}

let home: string;
beforeAll(() => {
  home = makeTempDir('flotilla-cli-');
});
afterAll(() => removeTempDir(home));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io: Io & { stdout: ReturnType<typeof output>; stderr: ReturnType<typeof output> } = { stdout: output(), stderr: output(), env: { XDG_CONFIG_HOME: home, ...env }, now: () => Date.now() };
  const code = await runCli(args, io);
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

it('prints help, with every command and the exit codes, and exits 0', async () => {
  for (const args of [[], ['--help'], ['-h'], ['help']]) {
    const r = await cli(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(mainHelp());
  }
  const help = mainHelp();
  for (const c of commands) expect(help).toContain(`  ${c.name} `);
  expect(help).toMatch(/Exit codes:\n {2}0 {4}success/);
  expect(help).toMatch(/3 {4}the cluster-manager cannot be reached/);
  expect(help).toContain('FLOTILLA_MANAGER');
});

it('prints each command\'s help with --help, -h or help COMMAND', async () => {
  for (const c of commands) {
    if (isGroup(c)) {
      expect((await cli([c.name])).stdout).toContain(`Usage: flotilla ${c.name} COMMAND`);
      for (const s of c.subcommands) {
        const r = await cli([c.name, s.name, '--help']);
        expect(r).toEqual({ code: 0, stdout: commandHelp(s, `${c.name} ${s.name}`), stderr: '' });
        expect((await cli(['help', c.name, s.name])).stdout).toBe(r.stdout);
      }
    } else {
      // run's -h is --hostname, as in docker run.
      const r = await cli([c.name, c.name === 'run' ? '--help' : '-h']);
      expect(r).toEqual({ code: 0, stdout: commandHelp(c, c.name), stderr: '' });
      expect(r.stdout).toMatch(/Exit codes: /);
      expect((await cli(['help', c.name])).stdout).toBe(r.stdout);
    }
  }
  expect((await cli(['run', '--help'])).stdout).toMatch(/-e, --env KEY=VALUE/);
});

it.each([
  [['bogus'], 'flotilla: unknown command "bogus" for "flotilla" (see flotilla --help)\n'],
  [['stp', 'web'], 'flotilla: unknown command "stp" for "flotilla"; did you mean "stop"? (see flotilla --help)\n'],
  [['engine', 'lss'], 'flotilla: unknown command "lss" for "flotilla engine"; did you mean "ls"? (see flotilla engine --help)\n'],
  [['ps', '--bogus'], 'flotilla: unknown flag --bogus for "flotilla ps" (see flotilla ps --help)\n'],
  [['ps', 'extra'], 'flotilla: "flotilla ps" takes no arguments, got "extra" (see flotilla ps --help)\n'],
  [['stop'], 'flotilla: "flotilla stop" needs CONTAINER (see flotilla stop --help)\n'],
  [['run'], 'flotilla: "flotilla run" needs IMAGE (see flotilla run --help)\n'],
  [['run', '-m', 'lots', 'busybox'], 'flotilla: --memory "lots": expected a size such as 64m, 512k, 1g or a number of bytes\n'],
  [['run', '--mount', 'type=volume,source=x', 'busybox'], 'flotilla: --mount "type=volume,source=x": a target is required (target=/PATH)\n'],
  [['run', '--no-healthcheck', '--health-cmd', 'true', 'busybox'], 'flotilla: --no-healthcheck conflicts with --health-* options\n'],
  [['run', '-h'], 'flotilla: flag -h (--hostname) needs a value (NAME)\n'],
  [['ps', '--format', '{{.Name'], 'flotilla: --format "{{.Name": unclosed {{\n'],
  [['ps', '--filter', 'colour=red'], expect.stringMatching(/unknown filter "colour"; known: engine \(or node\), label, status, name\n$/)],
  [['--manager', 'nope', 'ps'], 'flotilla: --manager "nope": expected host:port, with IPv6 hosts in brackets ([::1]:2375)\n'],
  [['completion', 'fish'], 'flotilla: completion for "fish" is not available; use bash or zsh\n'],
])('%j is a usage error: exit 2 and one line', async (args, stderr) => {
  const r = await cli(args);
  expect(r).toEqual({ code: 2, stdout: '', stderr });
});

it('reports an unreachable manager in one line and exits 3', async () => {
  const port = await freePort();
  const r = await cli(['ps'], { FLOTILLA_MANAGER: `127.0.0.1:${port}` });
  expect(r).toEqual({ code: 3, stdout: '', stderr: `flotilla: cannot reach the cluster-manager at 127.0.0.1:${port} (connection refused); start it or pass --manager HOST:PORT\n` });
});

it('takes the manager from the config file when there is no flag or environment variable', async () => {
  const port = await freePort();
  fs.mkdirSync(path.join(home, 'flotilla'), { recursive: true });
  fs.writeFileSync(path.join(home, 'flotilla', 'config.json'), JSON.stringify({ manager: `127.0.0.1:${port}` }));
  try {
    expect((await cli(['info'])).stderr).toContain(`cluster-manager at 127.0.0.1:${port} `);
    expect((await cli(['info'], { FLOTILLA_MANAGER: '127.0.0.1:1' })).stderr).toContain('cluster-manager at 127.0.0.1:1 ');
    expect((await cli(['--manager', '127.0.0.1:2', 'info'], { FLOTILLA_MANAGER: '127.0.0.1:1' })).stderr).toContain('cluster-manager at 127.0.0.1:2 ');
    // Global flags go before or after the command.
    expect((await cli(['info', '-H', '127.0.0.1:3'])).stderr).toContain('cluster-manager at 127.0.0.1:3 ');
  } finally {
    fs.rmSync(path.join(home, 'flotilla'), { recursive: true, force: true });
  }
});

describe('shell completion', () => {
  it('prints a bash script that bash accepts and that completes commands, flags and values', async () => {
    const r = await cli(['completion', 'bash']);
    expect(r.code).toBe(0);
    const file = path.join(home, 'flotilla.bash');
    fs.writeFileSync(file, r.stdout);
    execFileSync('bash', ['-n', file]);
    const complete = (...words: string[]) =>
      execFileSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _flotilla; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    expect(complete('flotilla', 'en')).toBe('engine');
    expect(complete('flotilla', 'engine', '')).toBe('ls add rm inspect');
    expect(complete('flotilla', 'run', '--net')).toBe('--network');
    expect(complete('flotilla', 'run', '--network', '')).toBe('none host bridge');
    expect(complete('flotilla', '-H', 'x:1', 'ps', '--filter', 'st')).toBe('status=');
    expect(complete('flotilla', 'run', '-d', 'busybox', '')).toBe('');
    expect(complete('flotilla', 'stop', '-')).toContain('--time');
  });

  // tools/setup.sh installs zsh, so this runs everywhere the test command runs.
  it('prints a zsh script that zsh accepts', async () => {
    const r = await cli(['completion', 'zsh']);
    const file = path.join(home, '_flotilla');
    fs.writeFileSync(file, r.stdout);
    execFileSync('zsh', ['-n', file]);
    const script = `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -r -- "$*"; }; source ${file}; words=(flotilla engine ''); CURRENT=3; _flotilla`;
    expect(execFileSync('zsh', ['-f', '-c', script], { encoding: 'utf8' }).trim()).toBe('ls add rm inspect');
  });
});

it('prints its version and build', async () => {
  expect((await cli(['--version'])).stdout).toMatch(/^flotilla \d+\.\d+\.\d+ \(build ([0-9a-f]{7,64}|unknown)\)\n$/);
  // The built CLI, too, as deployed.
  const built = spawnSync(process.execPath, [path.join(__dirname, '..', 'deploy', 'main.js'), '--version'], { encoding: 'utf8', env: {} });
  expect(built.status).toBe(0);
  expect(built.stdout).toMatch(/^flotilla \d+\.\d+\.\d+ \(build ([0-9a-f]{7,64}|unknown)\)\n$/);
});

it('refuses a FLOTILLA_REQUEST_ID that is no request ID, before calling anything', async () => {
  const r = await cli(['ps'], { FLOTILLA_REQUEST_ID: 'has spaces' });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/FLOTILLA_REQUEST_ID "has spaces": expected 1 to 64 of A-Z a-z 0-9 \. _ -/);
});
