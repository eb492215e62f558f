import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAll } from './processes';
import { parseEngineList, startEngines } from './engines';
import { listeningTcpPorts, processesMentioning, processName } from './sockets';
import { makeTempDir, removeTempDir } from './temp-dir';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => cleanupAll());

describe('parseEngineList', () => {
  it('parses engines.sh list lines', () => {
    expect(parseEngineList('engine-1 unix:///d/engine-1/docker.sock 123\nengine-2 unix:///d/engine-2/docker.sock \n')).toEqual([
      { name: 'engine-1', socket: '/d/engine-1/docker.sock', dockerHost: 'unix:///d/engine-1/docker.sock', pid: 123 },
      { name: 'engine-2', socket: '/d/engine-2/docker.sock', dockerHost: 'unix:///d/engine-2/docker.sock', pid: undefined },
    ]);
  });
});

describe('startEngines (real dockerd)', () => {
  it('starts isolated, labelled engines that can be stopped, restarted and removed', async () => {
    const set = await startEngines({ count: 2, engineLabels: { 2: { zone: 'b' } } });
    const { engines } = set;
    expect(engines.map((e) => e.name)).toEqual(['engine-1', 'engine-2']);
    const pids = engines.map((e) => e.pid);
    for (const e of engines) {
      expect(e.dockerHost).toBe(`unix://${e.socket}`);
      expect(e.socket.startsWith(set.dir)).toBe(true);
      expect(alive(e.pid)).toBe(true);
    }
    // Socket only: no engine process listens on TCP (a plaintext Docker API port is root for anyone local).
    for (const e of engines) {
      const pids = processesMentioning(e.socket).filter((pid) => /^(dockerd|containerd)/.test(processName(pid)));
      expect(pids.length).toBeGreaterThan(0);
      expect(pids.flatMap((pid) => listeningTcpPorts(pid))).toEqual([]);
    }

    const ids = await Promise.all(engines.map((e) => set.docker(e.name, ['info', '--format', '{{.ID}}'])));
    expect(ids[0]).not.toBe('');
    expect(ids[0]).not.toBe(ids[1]);

    const labels = JSON.parse(await set.docker('engine-2', ['info', '--format', '{{json .Labels}}'])) as string[];
    expect(labels).toEqual(expect.arrayContaining(['zone=b', 'flotilla.engine=engine-2']));
    const labels1 = JSON.parse(await set.docker('engine-1', ['info', '--format', '{{json .Labels}}'])) as string[];
    expect(labels1).not.toContain('zone=b');

    expect(await set.docker('engine-1', ['images', 'busybox:local', '-q'])).not.toBe('');
    const id = await set.docker('engine-1', ['run', '-d', '--network', 'none', 'busybox:local', 'sleep', '60']);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await set.docker('engine-1', ['inspect', '--format', '{{.State.Running}}', id])).toBe('true');

    // The docker CLI's failures come back as rejections carrying its stderr.
    await expect(set.docker('engine-1', ['inspect', 'no-such-container'])).rejects.toThrow(/no-such-container/);

    await set.stopOne('engine-1');
    await expect(set.docker('engine-1', ['version'])).rejects.toThrow();
    expect(alive(pids[0])).toBe(false);
    await set.startOne('engine-1');
    expect(await set.docker('engine-1', ['version', '--format', '{{.Server.Version}}'])).not.toBe('');
    expect(await set.docker('engine-1', ['info', '--format', '{{.ID}}'])).toBe(ids[0]);
    const restartedPid = set.engine('engine-1').pid;
    expect(restartedPid).not.toBe(pids[0]);
    expect(alive(restartedPid)).toBe(true);

    await set.stop();
    for (const pid of [restartedPid, pids[1]]) expect(alive(pid)).toBe(false);
    expect(fs.existsSync(set.dir)).toBe(false);
    expect(fs.readFileSync('/proc/self/mounts', 'utf8')).not.toContain(set.dir);
    await expect(set.stop()).resolves.toBeUndefined();
  });

  it('engines with a shared key report the same engine ID', async () => {
    const set = await startEngines({ count: 2, sharedKey: true });
    const ids = await Promise.all(set.engines.map((e) => set.docker(e.name, ['info', '--format', '{{.ID}}'])));
    expect(ids[0]).not.toBe('');
    expect(ids[1]).toBe(ids[0]);
    // Left running on purpose: cleanupAll() in afterAll must stop it.
  });

  it('reports a failed start with the engine log and stops what it started', async () => {
    const dir = makeTempDir('flotilla-engines-bad-');
    try {
      // A corrupt shared key file makes dockerd exit at start.
      fs.writeFileSync(path.join(dir, 'shared-key.json'), 'not a key');
      const failure = startEngines({ count: 1, dir, sharedKey: true });
      await expect(failure).rejects.toThrow(/startEngines\(1\) failed: .*engine engine-1 did not start/s);
      await expect(failure).rejects.toThrow(/--- last lines of .*engine-1\/dockerd\.log ---\n[^]*key/);
      const pid = Number(fs.readFileSync(path.join(dir, 'engine-1', 'launcher.pid'), 'utf8'));
      expect(alive(pid)).toBe(false);
      // A caller-provided directory is left for the caller.
      expect(fs.existsSync(dir)).toBe(true);
    } finally {
      removeTempDir(dir);
    }
  });
});
