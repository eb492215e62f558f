import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cleanupAll } from './processes';
import { parseEngineList, startEngines } from './engines';
import { listeningTcpPorts, processesMentioning, processName } from './sockets';
import { makeTempDir, removeTempDir } from './temp-dir';
import { waitFor } from './wait-for';

async function ip(...args: string[]): Promise<string> {
  return (await promisify(execFile)('ip', args, { encoding: 'utf8' })).stdout;
}

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

  it('with netns, runs each engine in a namespace of its own, where bridge networks stay', async () => {
    // A subnet of this test only; the bridge must show up in the engine's namespace, not the host's.
    const subnet = '10.213.201.';
    const set = await startEngines({ count: 1, netns: true });
    const ns = set.engine('engine-1').netns;
    expect(ns).toMatch(/^flotilla-[0-9a-f]{12}$/);
    expect(fs.readFileSync(path.join(set.dir, 'engine-1', 'netns'), 'utf8').trim()).toBe(ns);
    expect((await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0])).toContain(ns);
    // dockerd itself runs in that namespace, not the host's.
    const pid = set.engine('engine-1').pid;
    expect(fs.statSync(`/proc/${pid}/ns/net`).ino).toBe(fs.statSync(`/run/netns/${ns}`).ino);
    expect(fs.statSync(`/proc/${pid}/ns/net`).ino).not.toBe(fs.statSync('/proc/self/ns/net').ino);

    const netId = await set.docker('engine-1', ['network', 'create', '--driver', 'bridge', '--subnet', `${subnet}0/24`, 'nstest']);
    const bridge = `br-${netId.slice(0, 12)}`;
    const id = await set.docker('engine-1', ['run', '-d', '--network', 'nstest', 'busybox:local', 'sleep', '300']);
    const address = await waitFor(
      async () => (await set.docker('engine-1', ['inspect', '--format', '{{.NetworkSettings.Networks.nstest.IPAddress}}', id])) || undefined,
      { what: 'the container address on nstest' },
    );
    expect(address.startsWith(subnet)).toBe(true);
    // The container sees that address on its own interface.
    expect(await set.docker('engine-1', ['exec', id, 'busybox', 'ip', '-4', '-o', 'addr'])).toContain(`inet ${address}/24`);

    const inNs = await ip('-n', ns!, '-br', 'addr');
    expect(inNs).toContain(bridge);
    expect(inNs).toContain(`${subnet}1/24`);
    const hostAddrs = await ip('-br', 'addr');
    const hostLinks = await ip('-br', 'link');
    expect(hostAddrs).not.toContain(subnet);
    expect(hostLinks).not.toContain(bridge);

    // stopOne deletes the namespace; startOne brings it back, bridge and all.
    await set.stopOne('engine-1');
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
    await set.startOne('engine-1');
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(true);
    const again = await set.docker('engine-1', ['run', '--rm', '--network', 'nstest', 'busybox:local', 'busybox', 'ip', '-4', '-o', 'addr']);
    expect(again).toContain(`inet ${subnet}`);
    expect(await ip('-br', 'addr')).not.toContain(subnet);

    await set.stop();
    expect((await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0])).not.toContain(ns);
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
    expect(fs.existsSync(set.dir)).toBe(false);
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
