import { cleanupAll, removeTempDir } from '@flotilla/testing';
import { configHome, runCli, startCluster, untilEnginesHealthy, type TestCluster } from './support';

// The built CLI against three real engines (each in a network namespace of its own, so networks
// can be made on them), their agents and a manager of its own: a named volume made on one engine,
// written by one container and read back by another that the volume places on the same engine,
// then removed; a network made on one engine, joined by containers it places there; and the images
// of the engines, tagged and removed.

let cluster: TestCluster;
let manager: string;
const flotilla = (...args: string[]) => runCli(['--manager', manager, ...args], { timeoutMs: 120_000 });

beforeAll(async () => {
  cluster = await startCluster({ netns: true });
  manager = cluster.manager.address;
  await untilEnginesHealthy(flotilla);
});

afterAll(async () => {
  await cleanupAll();
  removeTempDir(configHome);
});

it('volume create, ls, inspect; run -v writes and a second run -v, placed by the volume, reads it back; volume rm', async () => {
  const home = cluster.agentAddresses[1];
  const created = await flotilla('volume', 'create', '--engine', home, '--label', 'team=e2e', 'e2e-data');
  expect(created).toMatchObject({ code: 0, stderr: '' });
  expect(created.stdout).toMatch(new RegExp(`^e2e-data created on .*${home.replace(/\./g, '\\.')}`));

  const table = await flotilla('volume', 'ls');
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^ENGINE\s+DRIVER\s+VOLUME NAME\s+LABELS/);
  expect(table.stdout).toMatch(/\blocal\s+e2e-data\s+team=e2e/);
  expect((await flotilla('volume', 'ls', '-q', '--filter', 'name=e2e-')).stdout).toBe('e2e-data\n');
  expect((await flotilla('volume', 'ls', '--filter', 'label=team=e2e', '--format', '{{.Name}} {{.Address}}')).stdout).toBe(`e2e-data ${home}\n`);
  const inspected = JSON.parse((await flotilla('volume', 'inspect', 'e2e-data')).stdout) as Array<{ Name: string; Engine: { address: string } }>;
  expect(inspected[0]).toMatchObject({ Name: 'e2e-data', Engine: { address: home } });

  const writer = await flotilla('run', '--name', 'e2e-writer', '--network', 'none', '-v', 'e2e-data:/data', 'busybox:local', 'sh', '-c', 'echo x > /data/f');
  expect(writer).toMatchObject({ code: 0, stderr: '' });
  const reader = await flotilla('run', '--name', 'e2e-reader', '--network', 'none', '-v', 'e2e-data:/data', 'busybox:local', 'cat', '/data/f');
  expect(reader).toMatchObject({ code: 0, stdout: 'x\n' });
  // Both on the volume's engine: the volume placed them (spread alone would have moved the second).
  const placed = await flotilla('ps', '-a', '--filter', 'name=e2e-', '--format', '{{.EngineAddress}}');
  expect(placed.stdout).toBe(`${home}\n${home}\n`);

  // In use: Docker refuses, and the CLI says which engine did.
  const inUse = await flotilla('volume', 'rm', 'e2e-data');
  expect(inUse.code).not.toBe(0);
  expect(inUse.stderr).toContain(home);
  expect((await flotilla('rm', '-f', 'e2e-writer', 'e2e-reader')).code).toBe(0);
  const removed = await flotilla('volume', 'rm', 'e2e-data');
  expect(removed).toMatchObject({ code: 0, stderr: '' });
  expect(removed.stdout).toContain('e2e-data removed on');
  expect((await flotilla('volume', 'ls', '-q')).stdout).not.toContain('e2e-data');
  const gone = await flotilla('volume', 'inspect', 'e2e-data');
  expect(gone.code).not.toBe(0);
  expect(gone.stderr).toContain('e2e-data');
});

it('network create, ls, inspect; run --network joins it on the engine that holds it, with an address in its subnet; network rm', async () => {
  const home = cluster.agentAddresses[2];
  const created = await flotilla('network', 'create', '--engine', home, '--subnet', '10.213.77.0/24', '--label', 'team=e2e', 'e2e-net');
  expect(created).toMatchObject({ code: 0, stderr: '' });
  expect(created.stdout).toMatch(new RegExp(`^e2e-net created on .*${home.replace(/\./g, '\\.')}`));
  const table = await flotilla('network', 'ls', '--filter', 'name=e2e-');
  expect(table.stdout).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\s+ENGINE/);
  expect(table.stdout).toMatch(/[0-9a-f]{12}\s+e2e-net\s+bridge\s+local/);
  expect((await flotilla('network', 'ls', '--filter', 'label=team=e2e', '--format', '{{.Name}} {{.Address}}')).stdout).toBe(`e2e-net ${home}\n`);
  const inspected = JSON.parse((await flotilla('network', 'inspect', 'e2e-net')).stdout) as Array<{ Name: string; IPAM: { Config: Array<{ Subnet: string }> }; Engine: { address: string } }>;
  expect(inspected[0]).toMatchObject({ Name: 'e2e-net', IPAM: { Config: [{ Subnet: '10.213.77.0/24' }] }, Engine: { address: home } });

  // Three containers on the network: all placed on its engine (spread alone would use the others), each with an address in the subnet.
  for (const name of ['e2e-n1', 'e2e-n2']) {
    const ran = await flotilla('run', '--name', name, '--network', 'e2e-net', 'busybox:local', 'sh', '-c', 'ip -4 -o addr show eth0 2>/dev/null || busybox ip -4 -o addr show eth0');
    expect(ran).toMatchObject({ code: 0 });
    expect(ran.stdout).toMatch(/inet 10\.213\.77\.\d+\/24/);
  }
  expect((await flotilla('run', '-d', '--name', 'e2e-n3', '--network', 'e2e-net', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect((await flotilla('ps', '-a', '--filter', 'name=e2e-n', '--format', '{{.EngineAddress}}')).stdout).toBe(`${home}\n${home}\n${home}\n`);

  // In use by a running container: that engine's refusal; then removed.
  const inUse = await flotilla('network', 'rm', 'e2e-net');
  expect(inUse.code).toBe(1);
  expect(inUse.stderr).toContain(home);
  expect((await flotilla('rm', '-f', 'e2e-n1', 'e2e-n2', 'e2e-n3')).code).toBe(0);
  expect(await flotilla('network', 'rm', 'e2e-net')).toMatchObject({ code: 0, stdout: expect.stringContaining('e2e-net removed on') });
  expect((await flotilla('network', 'ls', '-q', '--filter', 'name=e2e-net')).stdout).toBe('');
  // Bad input names the field; Docker's own networks are not the cluster's to make.
  const bad = await flotilla('network', 'create', '--all-engines', '--driver', 'macvlan', 'e2e-bad');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('driver "macvlan"');
  expect((await flotilla('network', 'create', '--all-engines', 'host')).code).toBe(2);
});

it('images shows which engines have each image; tag, rmi and image inspect act on every engine holding it, or the one named', async () => {
  const images = await flotilla('images');
  expect(images.code).toBe(0);
  const [header, ...rows] = images.stdout.trimEnd().split('\n');
  expect(header).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+ENGINES$/);
  // One row for busybox:local, held by all three engines.
  expect(rows).toEqual([expect.stringMatching(/^busybox\s+local\s+[0-9a-f]{12}\s+.*\s3$/)]);

  const tagged = await flotilla('tag', 'busybox:local', 'e2e/base:1');
  expect(tagged.code).toBe(0);
  expect(tagged.stdout.trimEnd().split('\n')).toHaveLength(3);
  expect(tagged.stdout).toContain('Tagged busybox:local as e2e/base:1');
  expect((await flotilla('images', '--format', '{{.Repository}}:{{.Tag}} {{.EngineCount}}', 'e2e/base')).stdout).toBe('e2e/base:1 3\n');

  const one = cluster.agentAddresses[0];
  const removed = await flotilla('rmi', '--engine', one, 'e2e/base:1');
  expect(removed).toMatchObject({ code: 0, stderr: '' });
  expect(removed.stdout).toMatch(new RegExp(`^.*${one.replace(/\./g, '\\.')}.*: Untagged: e2e/base:1\\n$`));
  expect((await flotilla('images', '--format', '{{.Engines}}', 'e2e/base:1')).stdout.trim().split(',')).toHaveLength(2);

  const inspected = await flotilla('image', 'inspect', '--format', '{{.Engine.address}} {{json .RepoTags}}', '--engine', cluster.agentAddresses[1], 'e2e/base:1');
  expect(inspected.code).toBe(0);
  const [address, tags] = inspected.stdout.trimEnd().split(' ');
  expect({ address, tags: (JSON.parse(tags) as string[]).sort() }).toEqual({ address: cluster.agentAddresses[1], tags: ['busybox:local', 'e2e/base:1'] });

  expect((await flotilla('image', 'rm', 'e2e/base:1')).stdout.trimEnd().split('\n')).toHaveLength(2);
  expect((await flotilla('images', '-q', 'e2e/base')).stdout).toBe('');
  const missing = await flotilla('rmi', 'e2e/base:1');
  expect(missing.code).toBe(4);
  expect(missing.stderr).toContain('e2e/base:1');
  const bad = await flotilla('tag', 'busybox:local', 'Bad/Name');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('tag');
});
