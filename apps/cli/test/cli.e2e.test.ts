import { busyboxRootfsTar, cleanupAll, freePort, removeTempDir, startTestRegistry, waitFor, type TestRegistry } from '@flotilla/testing';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ansiPattern, configHome, hasScript, runCli, runOnTerminal, spawnCli, startCluster, stripAnsi, type TestCluster } from './support';

// The built CLI, each command its own process, against three real engines (zone=a/b/c), their
// engine-agents and a cluster-manager, all processes.

let cluster: TestCluster;
let registry: TestRegistry;
let manager: string;
/** How the tables show each engine: its name, or its address when engines share a name (one host). */
const shown: string[] = [];

const flotilla = (...args: string[]) => runCli(['--manager', manager, ...args]);

interface EngineJson {
  address: string;
  name?: string;
  status?: string;
}

beforeAll(async () => {
  cluster = await startCluster();
  manager = cluster.manager.address;
  registry = await startTestRegistry([{ repository: 'flotilla/demo', tag: '1', rootfsTar: busyboxRootfsTar() }]);
  const engines = await waitFor(
    async () => {
      const r = await flotilla('engine', 'ls', '--format', 'json');
      const list = JSON.parse(r.stdout) as EngineJson[];
      return list.length === 3 && list.every((e) => e.status === 'ENGINE_STATUS_HEALTHY') ? list : undefined;
    },
    { what: 'three healthy engines in flotilla engine ls', timeoutMs: 60_000 },
  );
  for (const address of cluster.agentAddresses) {
    const engine = engines.find((e) => e.address === address)!;
    shown.push(engines.filter((e) => e.name === engine.name).length > 1 ? address : engine.name!);
  }
});

afterAll(async () => {
  await cleanupAll();
  removeTempDir(configHome);
});

/** The line of a table whose NAMES column holds `name`. */
function rowOf(table: string, name: string): string {
  const line = table.split('\n').find((l) => l.split(/\s{3,}/).includes(name));
  if (!line) throw new Error(`no row for ${name} in:\n${table}`);
  return line;
}

describe('info and engines', () => {
  it('info shows every engine with its state, labels and capacity', async () => {
    const r = await flotilla('info');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Manager: +127\.0\.0\.1:\d+/m);
    expect(r.stdout).toMatch(/^Engines: +3 \(3 healthy\)$/m);
    // Classic Swarm's lines, and the totals with the overcommit (default 5%) beside the raw figures.
    expect(r.stdout).toMatch(/^Role: +primary$/m);
    expect(r.stdout).toMatch(/^Server Version: +flotilla\/\S+$/m);
    const cpus = /^Reserved CPUs: +[\d.]+ \/ ([\d.]+) \((\d+) raw\)$/m.exec(r.stdout);
    expect(cpus).not.toBeNull();
    expect(Number(cpus![1])).toBeCloseTo(Number(cpus![2]) * 1.05, 2);
    expect(r.stdout).toMatch(/^Reserved memory: +.+ \/ .+ \(.+ raw\)$/m);
    for (const [i, address] of cluster.agentAddresses.entries()) {
      const line = r.stdout.split('\n').find((l) => l.includes(address))!;
      // STATUS is the placement word, HEALTH the score the scheduler weighs.
      expect(line).toMatch(/\bhealthy\s+100\s/);
      expect(line).toContain(`zone=${'abc'[i]}`);
    }
    expect(r.stdout).toMatch(/^NAME\s+ADDRESS\s+STATUS\s+HEALTH\s+CONTAINERS\b/m);
    expect(r.stdout).toMatch(/^Event-loop lag: +p99 \d+ ms, max \d+ ms over the last minute/m);
    const json = JSON.parse((await flotilla('info', '--format', 'json')).stdout) as { engineCounts: { healthy: number }; engines: unknown[] };
    expect(json.engineCounts.healthy).toBe(3);
    expect(json.engines).toHaveLength(3);
    expect((await flotilla('info', '--format', '{{.Engines}} engines, {{.engineCounts.healthy}} healthy')).stdout).toBe('3 engines, 3 healthy\n');
  });

  it('engine inspect finds an engine by address; an unknown engine exits 4 with a hint', async () => {
    const r = await flotilla('engine', 'inspect', '--format', '{{.Status}} {{.info.labels.zone}}', cluster.agentAddresses[1]);
    expect(r).toEqual({ code: 0, stdout: 'healthy b\n', stderr: '' });
    const missing = await flotilla('engine', 'inspect', '127.0.0.1:1');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe('flotilla: no engine "127.0.0.1:1" in the cluster (by address, ID or name); see flotilla engine ls\n');
  });

  it('engine add and engine rm change the cluster', async () => {
    const port = await freePort();
    const added = await flotilla('engine', 'add', `127.0.0.1:${port}`);
    expect(added).toEqual({ code: 0, stdout: `127.0.0.1:${port} added (pending)\n`, stderr: '' });
    expect((await flotilla('engine', 'add', `127.0.0.1:${port}`)).stdout).toBe(`127.0.0.1:${port} was already in the cluster (pending)\n`);
    expect((await flotilla('engine', 'ls', '--filter', 'status=pending', '-q')).stdout).toBe(`127.0.0.1:${port}\n`);
    expect(await flotilla('engine', 'rm', `127.0.0.1:${port}`)).toEqual({ code: 0, stdout: `127.0.0.1:${port}\n`, stderr: '' });
    expect((await flotilla('engine', 'ls', '-q')).stdout.trim().split('\n').sort()).toEqual([...cluster.agentAddresses].sort());
  });
});

describe('containers', () => {
  it('run -d with a constraint lands on the right engine, and ps shows it with its engine', async () => {
    const r = await flotilla('run', '-d', '--name', 'web-b', '--network', 'none', '--constraint', 'zone==b', '-m', '64m', '-l', 'app=web', 'busybox:local', 'sleep', '300');
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // The engine itself has it.
    expect(await cluster.engines.docker('engine-2', ['inspect', '--format', '{{.Name}} {{.HostConfig.Memory}}', id])).toBe(`/web-b ${64 * 1024 * 1024}`);
    const ps = await waitFor(
      async () => {
        const out = (await flotilla('ps')).stdout;
        return out.includes('web-b') ? out : undefined;
      },
      { what: 'web-b in flotilla ps' },
    );
    expect(ps.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+ENGINE$/);
    const row = rowOf(ps, 'web-b');
    expect(row.startsWith(id.slice(0, 12))).toBe(true);
    expect(row).toMatch(/\bUp\b/);
    expect(row.trimEnd().endsWith(shown[1])).toBe(true);
    const json = JSON.parse((await flotilla('ps', '--format', 'json', '--filter', 'label=app=web')).stdout) as Array<{ container: { id: string; names: string[] }; engine: { address: string } }>;
    expect(json).toEqual([expect.objectContaining({ container: expect.objectContaining({ id, names: ['web-b'] }), engine: expect.objectContaining({ address: cluster.agentAddresses[1] }) })]);
    expect((await flotilla('ps', '--format', '{{.Name}} {{.EngineAddress}}', '--filter', `engine=${cluster.agentAddresses[1]}`)).stdout).toBe(`web-b ${cluster.agentAddresses[1]}\n`);
    // Classic's habits on real engines: --filter node= and names as ENGINE/NAME.
    expect((await flotilla('ps', '--format', '{{.Name}}', '--filter', `node=${cluster.agentAddresses[1]}`, '--filter', 'label=app=web')).stdout).toBe('web-b\n');
    expect((await flotilla('ps', '--engine-names', '--format', '{{.Names}}', '--filter', 'label=app=web')).stdout).toBe(`${shown[1]}/web-b\n`);
    expect((await flotilla('inspect', '--format', '{{.State.Status}} {{.Node.Addr}}', 'web-b')).stdout).toBe(`running ${cluster.agentAddresses[1]}\n`);
  });

  it('-e constraint:EXPR works as classic Swarm users typed it', async () => {
    const r = await flotilla('run', '-d', '--format', '{{.EngineAddress}}', '--name', 'classic-c', '--network', 'none', '-e', 'constraint:zone==c', 'busybox:local', 'sleep', '300');
    expect(r).toEqual({ code: 0, stdout: `${cluster.agentAddresses[2]}\n`, stderr: '' });
    expect(await cluster.engines.docker('engine-3', ['inspect', '--format', '{{.Name}}', 'classic-c'])).toBe('/classic-c');
  });

  it('a name taken exits 6, an unknown container 4, each in one line with what to do', async () => {
    const taken = await flotilla('run', '-d', '--name', 'web-b', '--network', 'none', 'busybox:local', 'sleep', '300');
    expect(taken).toEqual({ code: 6, stdout: '', stderr: 'flotilla: a container named "web-b" already exists in the cluster (or is being created); pick another --name, or remove the old one with flotilla rm -f NAME\n' });
    const missing = await flotilla('logs', 'no-such-container');
    expect(missing).toEqual({ code: 4, stdout: '', stderr: 'flotilla: no container "no-such-container" in the cluster; see flotilla ps -a\n' });
  });

  it('logs prints what the container wrote, stdout to stdout and stderr to stderr', async () => {
    expect((await flotilla('run', '-d', '--name', 'talker', '--network', 'none', 'busybox:local', 'sh', '-c', 'echo hello from talker; echo oops >&2; sleep 300')).code).toBe(0);
    const r = await waitFor(
      async () => {
        const out = await flotilla('logs', 'talker');
        return out.stdout.includes('hello from talker') && out.stderr.includes('oops') ? out : undefined;
      },
      { what: 'the output of talker' },
    );
    expect(r).toEqual({ code: 0, stdout: 'hello from talker\n', stderr: 'oops\n' });
  });

  it('logs --tail prints the last lines, and logs -f follows until the container stops', async () => {
    expect((await flotilla('run', '-d', '--name', 'counter', '--network', 'none', 'busybox:local', 'sh', '-c', 'for i in 1 2 3 4; do echo line $i; done; sleep 300')).code).toBe(0);
    const tail = await waitFor(
      async () => {
        const out = await flotilla('logs', '--tail', '2', 'counter');
        return out.stdout === 'line 3\nline 4\n' ? out : undefined;
      },
      { what: 'the last two lines of counter' },
    );
    expect(tail).toEqual({ code: 0, stdout: 'line 3\nline 4\n', stderr: '' });
    expect((await flotilla('run', '-d', '--name', 'follow', '--network', 'none', 'busybox:local', 'sh', '-c', 'echo first; sleep 1; echo second')).code).toBe(0);
    expect(await flotilla('logs', '-f', 'follow')).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: '' });
    expect((await flotilla('rm', '-f', 'counter', 'follow')).code).toBe(0);
  });

  it('run without -d prints the output and exits with the container\'s exit code', async () => {
    const r = await flotilla('run', '--name', 'exit7', '--network', 'none', 'busybox:local', 'sh', '-c', 'echo bye; echo to-stderr >&2; exit 7');
    expect(r).toEqual({ code: 7, stdout: 'bye\n', stderr: 'to-stderr\n' });
    expect((await flotilla('run', '--rm', '--network', 'none', 'busybox:local', 'true')).code).toBe(0);
    const left = await flotilla('ps', '-a', '--format', '{{.Name}} {{.State}}', '--filter', 'name=exit7');
    expect(left.stdout).toBe('exit7 exited\n');
  });

  it('Ctrl-C while following a run cancels the streams and leaves the container running', async () => {
    const run = spawnCli('run-ticker', ['--manager', manager, 'run', '--name', 'ticker', '--network', 'none', 'busybox:local', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']);
    await run.waitForLine(/^tick 2$/, 60_000);
    run.signal('SIGINT');
    const exit = await run.exited;
    expect(exit.code).toBe(130);
    expect(run.lines).toContain('flotilla: detached from ticker, which keeps running; see flotilla logs -f ticker, stop it with flotilla stop ticker');
    expect((await flotilla('inspect', '--format', '{{.State.Status}}', 'ticker')).stdout).toBe('running\n');
  });

  it('stop, start, kill and rm work by name, and rm -f removes a running container', async () => {
    expect(await flotilla('stop', '-t', '1', 'talker')).toEqual({ code: 0, stdout: 'talker\n', stderr: '' });
    expect((await flotilla('inspect', '--format', '{{.State.Status}}', 'talker')).stdout).toBe('exited\n');
    expect(await flotilla('start', 'talker')).toEqual({ code: 0, stdout: 'talker\n', stderr: '' });
    expect(await flotilla('kill', 'talker')).toEqual({ code: 0, stdout: 'talker\n', stderr: '' });
    const removed = await flotilla('rm', '-f', 'ticker', 'talker', 'no-such-container');
    expect(removed).toEqual({ code: 4, stdout: 'ticker\ntalker\n', stderr: 'flotilla: no container "no-such-container" in the cluster; see flotilla ps -a\n' });
  });
});

describe('events', () => {
  it('follows the lifecycle of a container until interrupted, and cancels the stream on the manager', async () => {
    const since = cluster.manager.process.totalLines;
    const events = spawnCli('events', ['--manager', manager, 'events', '--filter', 'container=lifecycle', '--format', '{{.Action}} {{.Name}} {{.EngineAddress}}']);
    await cluster.manager.process.waitForLine(/"msg":"event subscriber connected"/, 30_000, since);
    expect((await flotilla('run', '-d', '--name', 'lifecycle', '--network', 'none', '--constraint', 'zone==a', 'busybox:local', 'sleep', '300')).code).toBe(0);
    expect((await flotilla('stop', '-t', '0', 'lifecycle')).code).toBe(0);
    expect((await flotilla('rm', 'lifecycle')).code).toBe(0);
    const at = cluster.agentAddresses[0];
    await events.waitForLine((l) => l === `destroy lifecycle ${at}`, 30_000);
    const actions = events.lines.map((l) => l.split(' ')[0]);
    const order = ['create', 'start', 'die', 'destroy'].map((a) => actions.indexOf(a));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(events.lines).toContain(`start lifecycle ${at}`);
    const cancelled = cluster.manager.process.totalLines;
    events.signal('SIGINT');
    expect((await events.exited).code).toBe(130);
    await cluster.manager.process.waitForLine(/"msg":"event subscriber gone"/, 30_000, cancelled);
  });

  it('prints events as JSON lines with --format json', async () => {
    const events = spawnCli('events-json', ['--manager', manager, 'events', '--filter', 'container=json-event', '--format', 'json']);
    const since = cluster.manager.process.totalLines;
    await cluster.manager.process.waitForLine(/"msg":"event subscriber connected"/, 30_000, since);
    expect((await flotilla('run', '--rm', '--name', 'json-event', '--network', 'none', 'busybox:local', 'true')).code).toBe(0);
    const line = await events.waitForLine((l) => l.includes('"die"'), 30_000);
    const event = JSON.parse(line) as { type: string; action: string; engine: { address: string }; docker: { actorAttributes: Record<string, string> } };
    expect(event).toMatchObject({ type: 'container', action: 'die', docker: { actorAttributes: { name: 'json-event', exitCode: '0' } } });
    expect(cluster.agentAddresses).toContain(event.engine.address);
    events.signal('SIGINT');
    expect((await events.exited).code).toBe(130);
  });
});

describe('placement explained', () => {
  it('explain prints why each engine was rejected, and exits 5 when none fits', async () => {
    const r = await flotilla('explain', '--constraint', 'zone==z', 'busybox:local');
    expect(r.code).toBe(5);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('No engine can take the container');
    expect(r.stdout).toMatch(/^Constraints: +zone==z$/m);
    for (const [i, address] of cluster.agentAddresses.entries()) {
      const line = lines.find((l) => l.includes(address))!;
      expect(line).toMatch(/constraint\s+constraint zone==z does not hold: label zone is "[abc]"/);
      expect(line).toContain(`"${'abc'[i]}"`);
    }
  });

  it('explain names the engine it would choose and exits 0', async () => {
    const r = await flotilla('explain', '--constraint', 'zone==a', '-m', '64m', 'busybox:local', 'sleep', '1');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^Would run on .*${cluster.agentAddresses[0].replace(/\./g, '\\.')}`));
    const chosen = r.stdout.split('\n').find((l) => l.includes(cluster.agentAddresses[0]) && !l.startsWith('Would'))!;
    expect(chosen).toMatch(/\bchosen\b/);
    const json = JSON.parse((await flotilla('explain', '--format', 'json', '--constraint', 'zone==a', 'busybox:local')).stdout) as { chosen: { address: string }; explanation: { engines: unknown[] } };
    expect(json.chosen.address).toBe(cluster.agentAddresses[0]);
    expect(json.explanation.engines).toHaveLength(3);
  });

  it('a run no engine can take exits 5 with one line and the per-engine explanation', async () => {
    const r = await flotilla('run', '-d', '--network', 'none', '--constraint', 'zone==z', 'busybox:local');
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    const [first, header, ...rows] = r.stderr.trimEnd().split('\n');
    expect(first).toBe('flotilla: no engine can take the container (why, per engine, below); relax --constraint/--affinity, ask for less memory or CPU, or add engines');
    expect(header).toMatch(/^ENGINE\s+ADDRESS\s+FILTER\s+REASON$/);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/constraint zone==z does not hold/);
  });
});

describe('pull', () => {
  it('pulls on every engine, with a line per engine when the output is not a terminal', async () => {
    const image = registry.reference('flotilla/demo', '1');
    const r = await flotilla('pull', image);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(ansiPattern);
    for (const address of cluster.agentAddresses) expect(r.stdout).toContain(`${shown[cluster.agentAddresses.indexOf(address)]}: done, ${image} is on the engine\n`);
    expect(r.stdout.endsWith(`${image} is on 3 engines\n`)).toBe(true);
    for (const engine of cluster.engines.engines) expect(await cluster.engines.docker(engine.name, ['image', 'inspect', '--format', '{{.Id}}', image])).toMatch(/^sha256:/);
  });

  it('an image that cannot be pulled exits 1 with one line', async () => {
    const r = await flotilla('pull', '--engine', cluster.agentAddresses[0], registry.reference('flotilla/missing', '1'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^flotilla: 127\.0\.0\.1:\d+\/flotilla\/missing:1 could not be pulled on 1 of 1 engines \(.+\); check the image name and that the engines can reach its registry\n$/);
  });
});

describe('on a terminal', () => {
  beforeAll(() => {
    if (!hasScript()) throw new Error('util-linux `script` is needed for pseudo-terminal tests (Debian: bsdutils)');
  });

  it('fits tables to the terminal width and colours states; piped output is neither cut nor coloured', async () => {
    expect((await flotilla('run', '-d', '--name', 'a-rather-long-container-name', '--network', 'none', 'busybox:local', 'sh', '-c', 'while true; do sleep 1; done # a long command line to make the table wide')).code).toBe(0);
    const piped = await flotilla('ps', '-a');
    expect(piped.stdout).not.toMatch(ansiPattern);
    expect(Math.max(...piped.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(120);
    for (const columns of [120, 80, 60]) {
      const r = await runOnTerminal(['--manager', manager, 'ps', '-a'], columns);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      for (const line of lines) expect([...stripAnsi(line)].length).toBeLessThanOrEqual(columns);
      expect(r.stdout).toMatch(/\x1b\[32mUp /);
      expect(lines.some((l) => l.includes('a-rather-'))).toBe(true);
    }
    const info = await runOnTerminal(['--manager', manager, 'info'], 80);
    for (const line of info.stdout.trimEnd().split('\n')) expect([...stripAnsi(line)].length).toBeLessThanOrEqual(80);
    const plain = await runOnTerminal(['--manager', manager, 'ps', '-a'], 80, { env: { NO_COLOR: '1' } });
    expect(plain.stdout).not.toMatch(ansiPattern);
  });

  it('draws a progress bar per engine for a pull, only on a terminal', async () => {
    const image = registry.reference('flotilla/demo', '1');
    const r = await runOnTerminal(['--manager', manager, 'pull', image], 100);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\x1b[2K');
    const last = stripAnsi(r.stdout).split('\n');
    for (const label of shown) expect(last.some((l) => l.includes(label) && /█+ 100%/.test(l) && l.includes('done'))).toBe(true);
    expect(r.stdout).toContain(`${image} is on 3 engines`);
  });
});

describe('settings', () => {
  it('an unreachable manager gives the documented message and exit code 3', async () => {
    const port = await freePort();
    const r = await runCli(['--manager', `127.0.0.1:${port}`, 'ps']);
    expect(r).toEqual({ code: 3, stdout: '', stderr: `flotilla: cannot reach the cluster-manager at 127.0.0.1:${port} (connection refused); start it or pass --manager HOST:PORT\n` });
    const events = await runCli(['events'], { env: { FLOTILLA_MANAGER: `127.0.0.1:${port}` } });
    expect(events.code).toBe(3);
  });

  it('reads the manager from FLOTILLA_MANAGER and from the config file', async () => {
    expect((await runCli(['info', '--format', '{{.Engines}}'], { env: { FLOTILLA_MANAGER: manager } })).stdout).toBe('3\n');
    fs.mkdirSync(path.join(configHome, 'flotilla'), { recursive: true });
    fs.writeFileSync(path.join(configHome, 'flotilla', 'config.json'), JSON.stringify({ manager }));
    try {
      expect((await runCli(['info', '--format', '{{.Engines}}'])).stdout).toBe('3\n');
      // The environment wins over the file.
      expect((await runCli(['info'], { env: { FLOTILLA_MANAGER: '127.0.0.1:1' } })).code).toBe(3);
    } finally {
      fs.rmSync(path.join(configHome, 'flotilla'), { recursive: true, force: true });
    }
  });
});

describe('login, logout and pulls with credentials', () => {
  it('keeps credentials in a file of the docker CLI\'s format, readable by its owner only, and pulls with them on every engine', async () => {
    const private_ = await startTestRegistry([{ repository: 'team/private', tag: '1', rootfsTar: busyboxRootfsTar() }], { auth: { username: 'bob', password: 's3cret-pw' } });
    try {
      const image = private_.reference('team/private', '1');
      const refused = await flotilla('pull', image);
      expect(refused.code).toBe(7);
      expect(refused.stderr).toContain(`log in first: flotilla login ${private_.host}`);

      const login = await runCli(['login', '-u', 'bob', '--password-stdin', private_.host], { input: 'wrong\n' });
      expect(login).toMatchObject({ code: 0, stdout: expect.stringContaining(`Saved credentials for ${private_.host}`) });
      const file = path.join(configHome, 'flotilla', 'auth.json');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const wrong = await flotilla('pull', image);
      expect(wrong.code).toBe(7);
      expect(wrong.stderr).toContain(`the credentials kept for ${private_.host} were refused`);

      expect((await runCli(['login', '-u', 'bob', '--password-stdin', `http://${private_.host}/`], { input: 's3cret-pw\n' })).code).toBe(0);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ auths: { [private_.host]: { auth: Buffer.from('bob:s3cret-pw').toString('base64') } } });
      const pulled = await flotilla('pull', image);
      expect(pulled).toMatchObject({ code: 0, stdout: expect.stringContaining(`${image} is on 3 engines`) });
      // run pulls with them too, on the engine it picks.
      const removed = await cluster.engines.docker('engine-1', ['rmi', image]);
      expect(removed).toContain('Untagged');
      expect((await flotilla('run', '--rm', '--network', 'none', '--constraint', `node==${cluster.agentAddresses[0]}`, image, 'echo', 'from the private image')).stdout).toBe('from the private image\n');

      expect((await flotilla('logout', private_.host)).stdout).toBe(`Removed the credentials for ${private_.host}\n`);
      expect((await flotilla('logout', private_.host)).stdout).toBe(`No credentials kept for ${private_.host}\n`);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ auths: {} });
      const bad = await flotilla('login', '-u', 'bob', '--password-stdin', 'not a registry!');
      expect(bad.code).toBe(2);
    } finally {
      await private_.close();
    }
  });
});
