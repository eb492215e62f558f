import { cleanupAll, removeTempDir } from '@flotilla/testing';
import { configHome, runCli, startCluster, untilEnginesHealthy, type TestCluster } from './support';

// The built CLI against three real engines, their agents and a manager of its own: a named
// volume made on one engine, written by one container and read back by another that the volume
// places on the same engine, then removed.

let cluster: TestCluster;
let manager: string;
const flotilla = (...args: string[]) => runCli(['--manager', manager, ...args], { timeoutMs: 120_000 });

beforeAll(async () => {
  cluster = await startCluster();
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
