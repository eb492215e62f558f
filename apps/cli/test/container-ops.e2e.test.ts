import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAll, makeTempDir, removeTempDir } from '@flotilla/testing';
import { configHome, runCli, runInTerminal, spawnCli, startCluster, untilEnginesHealthy, type TestCluster } from './support';

// The built CLI against three real engines, their agents and a manager of its own: pause,
// unpause, rename, update, wait, top and stats, as a docker user types them.

let cluster: TestCluster;
let manager: string;
const flotilla = (...args: string[]) => runCli(['--manager', manager, ...args], { timeoutMs: 120_000 });
const stateOf = async (name: string) => (await flotilla('ps', '-a', '--filter', `name=${name}`, '--format', '{{.State}}')).stdout.trim();

beforeAll(async () => {
  cluster = await startCluster();
  manager = cluster.manager.address;
  await untilEnginesHealthy(flotilla);
});

afterAll(async () => {
  await cleanupAll();
  removeTempDir(configHome);
});

it('pause and unpause print each container, and say why a second pause is refused', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-p', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect(await flotilla('pause', 'e2e-ops-p')).toMatchObject({ code: 0, stdout: 'e2e-ops-p\n', stderr: '' });
  expect(await stateOf('e2e-ops-p')).toBe('paused');
  const again = await flotilla('pause', 'e2e-ops-p');
  expect(again.code).toBe(5);
  expect(again.stderr).toMatch(/"e2e-ops-p".*paused/);
  expect(await flotilla('unpause', 'e2e-ops-p')).toMatchObject({ code: 0, stdout: 'e2e-ops-p\n', stderr: '' });
  expect(await stateOf('e2e-ops-p')).toBe('running');
  // One unknown among several: the others still work, the exit code says one failed.
  const mixed = await flotilla('pause', 'e2e-ops-none', 'e2e-ops-p');
  expect(mixed.code).toBe(4);
  expect(mixed.stdout).toBe('e2e-ops-p\n');
  expect(mixed.stderr).toContain('e2e-ops-none');
  expect((await flotilla('rm', '-f', 'e2e-ops-p')).code).toBe(0);
});

it('rename gives a container a new name the cluster knows at once, and refuses a taken one', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-a', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-b', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect(await flotilla('rename', 'e2e-ops-a', 'e2e-ops-c')).toMatchObject({ code: 0, stdout: '', stderr: '' });
  expect((await flotilla('inspect', '--format', '{{.Name}}', 'e2e-ops-c')).stdout).toBe('/e2e-ops-c\n');
  const taken = await flotilla('rename', 'e2e-ops-c', 'e2e-ops-b');
  expect(taken.code).toBe(6);
  expect(taken.stderr).toContain('"e2e-ops-b"');
  const bad = await flotilla('rename', 'e2e-ops-c', 'no way');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('new_name');
  expect((await flotilla('rename', 'e2e-ops-c')).code).toBe(2);
  expect((await flotilla('rm', '-f', 'e2e-ops-c', 'e2e-ops-b')).code).toBe(0);
});

it('wait prints each exit code, as docker wait', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-3', '--network', 'none', 'busybox:local', 'sh', '-c', 'exit 3')).code).toBe(0);
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-0', '--network', 'none', 'busybox:local', 'true')).code).toBe(0);
  expect(await flotilla('wait', 'e2e-ops-3', 'e2e-ops-0')).toMatchObject({ code: 0, stdout: '3\n0\n', stderr: '' });
  const bad = await flotilla('wait', '--condition', 'exited', 'e2e-ops-3');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--condition');
  const unknown = await flotilla('wait', 'e2e-ops-none');
  expect(unknown.code).toBe(4);
  expect(unknown.stderr).toContain('e2e-ops-none');
  expect((await flotilla('rm', '-f', 'e2e-ops-3', 'e2e-ops-0')).code).toBe(0);
});

it('top prints the processes as a table, passes ps options on, and refuses unsafe ones', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-top', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  const top = await flotilla('top', 'e2e-ops-top');
  expect(top.code).toBe(0);
  expect(top.stdout).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
  expect(top.stdout).toMatch(/sleep 300\n/);
  // Everything after the container is ps's, flags included.
  const custom = await flotilla('top', 'e2e-ops-top', '-o', 'pid,comm');
  expect(custom.code).toBe(0);
  expect(custom.stdout).toMatch(/^PID\s+COMMAND\n\d+\s+sleep\n$/);
  const unsafe = await flotilla('top', 'e2e-ops-top', 'aux;id');
  expect(unsafe.code).toBe(2);
  expect(unsafe.stderr).toContain('ps_args');
  expect((await flotilla('stop', '-t', '0', 'e2e-ops-top')).code).toBe(0);
  const stopped = await flotilla('top', 'e2e-ops-top');
  expect(stopped.code).toBe(5);
  expect(stopped.stderr).toContain('e2e-ops-top');
  expect((await flotilla('rm', '-f', 'e2e-ops-top')).code).toBe(0);
});

it('update changes the limits docker update does, and says why a raise that does not fit is refused', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-up', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  const updated = await flotilla('update', '--memory', '48m', '--pids-limit', '64', '--restart', 'unless-stopped', 'e2e-ops-up');
  expect(updated).toMatchObject({ code: 0, stdout: 'e2e-ops-up\n' });
  // Docker's warnings, if any (e.g. that IPv4 forwarding is off here), each named by its container.
  for (const line of updated.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^e2e-ops-up: /);
  const inspected = await flotilla('inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}', 'e2e-ops-up');
  expect(inspected.stdout).toBe(`${48 * 1024 * 1024} 64 unless-stopped\n`);
  const tooMuch = await flotilla('update', '--memory', '4096g', 'e2e-ops-up');
  expect(tooMuch.code).toBe(5);
  expect(tooMuch.stderr).toMatch(/cannot take the update of container "e2e-ops-up".*free/);
  const none = await flotilla('update', 'e2e-ops-up');
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('give at least one limit');
  expect((await flotilla('update', '--memory', 'lots', 'e2e-ops-up')).code).toBe(2);
  expect((await flotilla('rm', '-f', 'e2e-ops-up')).code).toBe(0);
});

it('stats prints one sample as a table or JSON with --no-stream, and streams one JSON line per sample until Ctrl-C', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-stats', '--network', 'none', 'busybox:local', 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=16; sleep 300')).code).toBe(0);
  const once = await flotilla('stats', '--no-stream', 'e2e-ops-stats');
  expect(once).toMatchObject({ code: 0, stderr: '' });
  const [header, row, ...rest] = once.stdout.split('\n');
  expect(header).toMatch(/^CONTAINER ID\s+NAME\s+ENGINE\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  expect(row).toMatch(/^[0-9a-f]{12}\s+e2e-ops-stats\s+\S+\s+\d+\.\d\d%\s+[\d.]+ \w+ \/ [\d.]+ \w+\s+\d+\.\d\d%/);
  expect(rest).toEqual(['']);

  const json = await flotilla('stats', '--no-stream', '--format', 'json', 'e2e-ops-stats');
  const [sample] = JSON.parse(json.stdout) as Array<{ stats: { name: string; memoryUsageBytes: string; rawJson: string }; engine: { address: string } }>;
  expect(sample.stats.name).toBe('e2e-ops-stats');
  // The container wrote 16 MiB into its memory-backed /dev/shm before sleeping.
  expect(Number(sample.stats.memoryUsageBytes)).toBeGreaterThanOrEqual(16 * 1024 * 1024);
  expect(cluster.agentAddresses).toContain(sample.engine.address);

  const template = await flotilla('stats', '--no-stream', '--format', '{{.Name}} {{.Engine}}', 'e2e-ops-stats', 'e2e-ops-none');
  expect(template.code).toBe(4);
  expect(template.stdout).toMatch(/^e2e-ops-stats \S+\n$/);
  expect(template.stderr).toContain('e2e-ops-none');

  const streaming = spawnCli('stats-stream', ['--manager', manager, 'stats', '--format', '{{.Name}} {{.PIDs}}', 'e2e-ops-stats']);
  await streaming.waitForLine(/^e2e-ops-stats \d+$/, 60_000);
  const seen = streaming.totalLines;
  await streaming.waitForLine(/^e2e-ops-stats \d+$/, 60_000, seen);
  streaming.signal('SIGINT');
  expect((await streaming.exited).code).toBe(130);
  expect((await flotilla('rm', '-f', 'e2e-ops-stats')).code).toBe(0);
});

it('lists the commands in --help, explains each, and completes them', async () => {
  const help = await flotilla('--help');
  for (const command of ['pause', 'unpause', 'rename', 'wait', 'top', 'stats', 'update']) {
    expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'));
    const own = await flotilla(command, '--help');
    expect(own.code).toBe(0);
    expect(own.stdout).toContain(`flotilla ${command}`);
  }
  const completion = await flotilla('completion', 'bash');
  for (const command of ['pause', 'unpause', 'rename', 'wait', 'top', 'stats', 'update']) expect(completion.stdout).toContain(`'${command}')`);
});

it('exec runs a command in the container: its output, stdin piped in, flags after the command its own, its exit code', async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-x', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect(await flotilla('exec', 'e2e-ops-x', 'sh', '-c', 'echo out; echo err >&2; exit 3')).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  const piped = await runCli(['--manager', manager, 'exec', '-i', 'e2e-ops-x', 'sh', '-c', 'cat; echo end'], { input: 'piped in\n' });
  expect(piped).toMatchObject({ code: 0, stdout: 'piped in\nend\n', stderr: '' });
  expect(await flotilla('exec', '-e', 'GREETING=hi', '-u', '1000', '-w', '/tmp', 'e2e-ops-x', 'sh', '-c', 'echo "$GREETING $(id -u) $(pwd)"')).toMatchObject({ code: 0, stdout: 'hi 1000 /tmp\n' });
  // -l is ls's, not flotilla's.
  expect((await flotilla('exec', 'e2e-ops-x', 'ls', '-l', '/bin/sh')).stdout).toMatch(/\/bin\/sh -> busybox/);

  expect((await flotilla('run', '-d', '--name', 'e2e-ops-y', '--network', 'none', 'busybox:local', 'true')).code).toBe(0);
  expect((await flotilla('wait', 'e2e-ops-y')).code).toBe(0);
  const stopped = await flotilla('exec', 'e2e-ops-y', 'true');
  expect(stopped.code).toBe(5);
  expect(stopped.stderr).toMatch(/cannot run a program in container "e2e-ops-y".*exited/);
  const noTerminal = await flotilla('exec', '-it', 'e2e-ops-x', 'sh');
  expect(noTerminal.code).toBe(2);
  expect(noTerminal.stderr).toMatch(/not a terminal/);
  expect((await flotilla('exec', 'e2e-ops-x')).code).toBe(2);
  expect((await flotilla('rm', '-f', 'e2e-ops-y', 'e2e-ops-x')).code).toBe(0);
});

it("exec -it runs a shell on a terminal that follows this one's size, and exits with the shell's code", async () => {
  expect((await flotilla('run', '-d', '--name', 'e2e-ops-t', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
  // What the shell prints is told apart from the echo of what was typed: $((1+1)) is 2 only once run.
  const session = await runInTerminal(['--manager', manager, 'exec', '-it', 'e2e-ops-t', 'sh'], [
    { expect: '# ' },
    { send: 'busybox stty size; echo size-$((1+1))\r' },
    { expect: '30 100\\s+size-2' },
    { resize: [40, 120] },
    // The new size reaches the engine a moment later: the shell waits for it.
    { send: 'until [ "$(busybox stty size)" = "40 120" ]; do sleep 0.1; done; echo resized-$((1+1))\r' },
    { expect: 'resized-2' },
    { send: 'exit 7\r' },
  ], 30, 100);
  // The transcript shows in the failure message.
  expect({ code: session.code, transcript: session.stdout }).toEqual({ code: 7, transcript: expect.not.stringContaining('[pty-session]') });
  expect((await flotilla('rm', '-f', 'e2e-ops-t')).code).toBe(0);
});

it('run -i sends stdin to the container (its end closes the container\'s) and exits with its code; run -it gives it this terminal', async () => {
  const piped = await runCli(['--manager', manager, 'run', '-i', '--rm', '--network', 'none', 'busybox:local', 'sh', '-c', 'cat; exit 4'], { input: 'into run\n' });
  expect(piped).toMatchObject({ code: 4, stdout: 'into run\n' });
  const session = await runInTerminal(['--manager', manager, 'run', '-it', '--rm', '--name', 'e2e-ops-it', '--network', 'none', 'busybox:local', 'sh'], [
    { expect: '# ' },
    { send: 'busybox stty size; echo size-$((1+1))\r' },
    { expect: '30 100\\s+size-2' },
    { send: 'exit 6\r' },
  ], 30, 100);
  expect({ code: session.code, transcript: session.stdout }).toEqual({ code: 6, transcript: expect.not.stringContaining('[pty-session]') });
  expect((await flotilla('ps', '-a', '--filter', 'name=e2e-ops-it', '-q')).stdout).toBe('');
});

it('attach connects this terminal to a running container with a TTY, and exits with its code', async () => {
  expect((await flotilla('run', '-d', '-it', '--name', 'e2e-ops-at', '--network', 'none', 'busybox:local', 'sh')).code).toBe(0);
  const session = await runInTerminal(['--manager', manager, 'attach', 'e2e-ops-at'], [
    // The shell printed its prompt before the attach: a new line brings another.
    { send: '\r' },
    { expect: '# ' },
    { send: 'echo attached-$((1+1))\r' },
    { expect: 'attached-2' },
    { send: 'exit 3\r' },
  ]);
  expect({ code: session.code, transcript: session.stdout }).toEqual({ code: 3, transcript: expect.not.stringContaining('[pty-session]') });
  expect((await flotilla('wait', 'e2e-ops-at')).stdout).toBe('3\n');
  const plain = await flotilla('attach', 'e2e-ops-nope');
  expect(plain.code).toBe(4);
  expect((await flotilla('rm', '-f', 'e2e-ops-at')).code).toBe(0);
});

it('cp round-trips a file and a directory as docker cp does: into a directory, under a new name, and as a tar stream', async () => {
  const here = makeTempDir('flotilla-cp-');
  try {
    fs.mkdirSync(path.join(here, 'site', 'css'), { recursive: true });
    fs.writeFileSync(path.join(here, 'site', 'index.html'), '<h1>hi</h1>\n');
    fs.writeFileSync(path.join(here, 'site', 'css', 'a.css'), 'body{}\n');
    fs.writeFileSync(path.join(here, 'note.txt'), 'a note\n');
    expect((await flotilla('run', '-d', '--name', 'e2e-ops-cp', '--network', 'none', 'busybox:local', 'sleep', '300')).code).toBe(0);
    // In: a file into an existing directory keeps its name; a directory to a new path takes that name.
    expect(await flotilla('cp', path.join(here, 'note.txt'), 'e2e-ops-cp:/tmp')).toMatchObject({ code: 0, stderr: '' });
    expect((await flotilla('cp', path.join(here, 'site'), 'e2e-ops-cp:/srv')).code).toBe(0);
    expect((await flotilla('exec', 'e2e-ops-cp', 'sh', '-c', 'cat /tmp/note.txt /srv/index.html /srv/css/a.css')).stdout).toBe('a note\n<h1>hi</h1>\nbody{}\n');
    // Out: the directory back under a new name, a file into a directory, and a tar stream.
    expect((await flotilla('cp', 'e2e-ops-cp:/srv', path.join(here, 'back'))).code).toBe(0);
    expect(fs.readFileSync(path.join(here, 'back', 'css', 'a.css'), 'utf8')).toBe('body{}\n');
    expect((await flotilla('cp', 'e2e-ops-cp:/tmp/note.txt', path.join(here, 'site'))).code).toBe(0);
    expect(fs.readFileSync(path.join(here, 'site', 'note.txt'), 'utf8')).toBe('a note\n');
    const tarred = await flotilla('cp', 'e2e-ops-cp:/srv/css', '-');
    expect(tarred.code).toBe(0);
    expect(tarred.stdout).toContain('css/a.css');
    // Bad input: a path that is not there, two local paths, a copy out into a missing directory.
    const missing = await flotilla('cp', 'e2e-ops-cp:/nope', here);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('no such file or directory in container');
    expect((await flotilla('cp', path.join(here, 'note.txt'), path.join(here, 'other'))).code).toBe(2);
    expect((await flotilla('cp', 'e2e-ops-cp:/tmp/note.txt', path.join(here, 'no', 'such', 'dir') + '/')).code).toBe(4);
    expect((await flotilla('rm', '-f', 'e2e-ops-cp')).code).toBe(0);
  } finally {
    removeTempDir(here);
  }
});
