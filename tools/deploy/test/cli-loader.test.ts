// The CLI's deployed loader (apps/cli/deploy/main.js, written by tools/deploy/bundle.js): it runs the
// bundle from V8's code cache, one file per command, written as a command first exits with 0 and
// read afterwards; a cache V8 rejects is written again; a broken cache folder only makes it slower.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deployedScript, makeTempDir, removeTempDir } from '@flotilla/testing';

const cli = deployedScript('apps/cli/dist/main.js');

let home: string;
beforeEach(() => {
  home = makeTempDir('flotilla-cli-loader-');
});
afterEach(() => removeTempDir(home));

function flotilla(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FLOTILLA_') && !k.startsWith('NODE_')) base[k] = v;
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: { ...base, XDG_CACHE_HOME: path.join(home, 'cache'), XDG_CONFIG_HOME: path.join(home, 'config'), ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheDir = (): string => path.join(home, 'cache', 'flotilla', 'code-cache');
const cacheFiles = (): string[] => (fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()).sort() : []);
const cacheOf = (command: string): string => {
  const name = cacheFiles().find((f) => f.endsWith(`-${process.version}-${process.arch}-${command}.bin`));
  if (!name) throw new Error(`no cache for ${command}: ${cacheFiles().join(', ') || 'none'}`);
  return path.join(cacheDir(), name);
};

test('the first run of a command writes its cache, private to the user; later runs read it and leave it alone', () => {
  const first = flotilla(['--version']);
  expect(first.status).toBe(0);
  expect(first.stdout).toMatch(/^flotilla \d+\.\d+\.\d+/);
  const file = cacheOf('--version');
  expect(path.basename(file)).toMatch(/^cli-[0-9a-f]{16}-/);
  expect(fs.statSync(file).size).toBeGreaterThan(0);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.statSync(cacheDir()).mode & 0o777).toBe(0o700);
  const written = fs.readFileSync(file);

  const second = flotilla(['--version']);
  expect(second.status).toBe(0);
  expect(second.stdout).toBe(first.stdout);
  // Accepted by V8, so not written again.
  expect(fs.readFileSync(file).equals(written)).toBe(true);

  // Another command has a cache of its own.
  expect(flotilla(['--help']).status).toBe(0);
  expect(cacheOf('--help')).not.toBe(file);
});

test('a cache V8 rejects is replaced, and the command still works', () => {
  expect(flotilla(['--version']).status).toBe(0);
  const file = cacheOf('--version');
  const garbage = Buffer.alloc(4096, 0x5a);
  fs.writeFileSync(file, garbage);
  const r = flotilla(['--version']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^flotilla /);
  expect(fs.readFileSync(file).equals(garbage)).toBe(false);
});

test('a command that fails writes no cache', () => {
  const r = flotilla(['no-such-command']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('unknown command "no-such-command"');
  expect(cacheFiles()).toEqual([]);
});

test("the caches of another build are removed when this build writes one; NODE_DISABLE_COMPILE_CACHE=1 writes none", () => {
  expect(flotilla(['--version'], { NODE_DISABLE_COMPILE_CACHE: '1' }).status).toBe(0);
  expect(cacheFiles()).toEqual([]);

  fs.mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
  const stale = path.join(cacheDir(), `cli-0000000000000000-${process.version}-${process.arch}-ps.bin`);
  fs.writeFileSync(stale, 'old');
  expect(flotilla(['--version']).status).toBe(0);
  expect(fs.existsSync(stale)).toBe(false);
  expect(cacheFiles()).toHaveLength(1);
});

test('keeps at most 64 caches per build, so first words that vary (a flag value before the command) cannot fill the disk', () => {
  const build = /const build = '(cli-[0-9a-f]{16}-)'/.exec(fs.readFileSync(cli, 'utf8'))?.[1];
  expect(build).toBeDefined();
  fs.mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
  for (let i = 0; i < 64; i++) fs.writeFileSync(path.join(cacheDir(), `${build}${process.version}-${process.arch}-word${i}.bin`), 'x');
  expect(flotilla(['--version']).status).toBe(0);
  expect(cacheFiles()).toHaveLength(64);
  expect(cacheFiles().some((f) => f.endsWith('---version.bin'))).toBe(false);
  // One fewer, and the command writes its own.
  fs.rmSync(path.join(cacheDir(), `${build}${process.version}-${process.arch}-word0.bin`));
  expect(flotilla(['--version']).status).toBe(0);
  expect(cacheOf('--version')).toBeTruthy();
});

test('reads and writes no cache in a folder others may write to', () => {
  fs.mkdirSync(cacheDir(), { recursive: true });
  fs.chmodSync(cacheDir(), 0o777);
  const r = flotilla(['--version']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^flotilla /);
  expect(cacheFiles()).toEqual([]);
});

test('without a usable cache folder the CLI runs as well', () => {
  // XDG_CACHE_HOME is a file: no folder can be made under it.
  const file = path.join(home, 'not-a-folder');
  fs.writeFileSync(file, '');
  const r = flotilla(['--version'], { XDG_CACHE_HOME: file });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^flotilla /);
});
