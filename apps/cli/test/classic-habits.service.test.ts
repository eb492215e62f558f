import { startManager, parseManagerConfig, type RunningManager } from '@flotilla/cluster-manager';
import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus } from '@flotilla/proto/cluster';
import { makeTempDir, removeTempDir, testTls, tlsArgs, waitFor } from '@flotilla/testing';
import { runAsOperator } from './in-process';

// What classic Swarm users typed, through the CLI, against a real manager and two agents (over
// hollow engines) in this process, with mutual TLS: placement labels kept and shown,
// reschedule:on-node-failure refused, node== forms, inspect's Node, ps --engine-names and
// --filter node=.
const agents: RunningAgent[] = [];
const addresses: string[] = [];
let manager: RunningManager;
let home: string;

const flotilla = (...args: string[]) => runAsOperator(manager.port, home, args);

beforeAll(async () => {
  home = makeTempDir('flotilla-cli-classic-');
  for (const [i, zone] of ['a', 'b'].entries()) {
    const backend = new HollowDockerBackend({ name: `hollow-${zone}`, id: `HOLLOW${i}:AAAA:BBBB`, labels: { zone }, cpus: 2 + i, memoryBytes: (4 + i) * 1024 ** 3 });
    agents.push(await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: { kind: 'mtls', tls: testTls('agent') } }));
    addresses.push(`127.0.0.1:${agents[i].port}`);
  }
  manager = await startManager(parseManagerConfig(['--listen', '127.0.0.1:0', ...tlsArgs('manager'), '--engine', addresses.join(',')], {}), silentLogger);
  const client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`, { tls: testTls('operator') });
  for (const engine of addresses) {
    await waitFor(async () => (await call(client, client.getEngine, { engine })).engine?.status === EngineStatus.ENGINE_STATUS_HEALTHY, { what: `engine ${engine} to be healthy` });
  }
  client.close();
});

afterAll(async () => {
  await manager?.stop(1000);
  for (const agent of agents) await agent.stop(1000);
  removeTempDir(home);
});

it('run -e constraint: keeps the expressions as labels, and ps shows them and classic names', async () => {
  expect((await flotilla('run', '-d', '--name', 'web', '-e', 'constraint:zone==b', '-e', 'A=1', '--affinity', 'image==busybox*', 'busybox:local', 'sleep', '300')).code).toBe(0);
  const row = await waitFor(async () => {
    const out = (await flotilla('ps', '-a', '--format', '{{.Name}}|{{json .Constraints}}|{{json .Affinities}}|{{index .Labels "com.docker.swarm.constraints"}}')).stdout;
    return out.trim() || undefined;
  }, { what: 'web in flotilla ps' });
  expect(row).toBe('web|["zone==b"]|["image==busybox*"]|["zone==b"]');
  // Classic's names: ENGINE/NAME.
  expect((await flotilla('ps', '-a', '--engine-names', '--format', '{{.Name}} {{.Names}}')).stdout).toBe('hollow-b/web hollow-b/web\n');
  const table = (await flotilla('ps', '-a', '--engine-names')).stdout;
  expect(table).toMatch(/\bhollow-b\/web\b/);
  // --filter node= is --filter engine=, with any of the engine's references.
  for (const ref of ['hollow-b', addresses[1], 'HOLLOW1:AAAA:BBBB']) {
    expect((await flotilla('ps', '-a', '--filter', `node=${ref}`, '--format', '{{.Name}}')).stdout).toBe('web\n');
  }
  expect((await flotilla('ps', '-a', '--filter', 'node=hollow-a', '--format', '{{.Name}}')).stdout).toBe('');
  expect((await flotilla('ps', '--filter', 'nod=x'))).toMatchObject({ code: 2, stderr: expect.stringContaining('known: engine (or node), label, status, name') });
});

it('inspect adds the engine as classic Swarm\'s Node: ID, IP, Addr, Name, Cpus, Memory, Labels', async () => {
  const r = await flotilla('inspect', 'web');
  expect(r.code).toBe(0);
  const [doc] = JSON.parse(r.stdout) as Array<{ Node: Record<string, unknown>; Config: { Labels: Record<string, string> } }>;
  expect(doc.Node).toEqual({ ID: 'HOLLOW1:AAAA:BBBB', IP: '127.0.0.1', Addr: addresses[1], Name: 'hollow-b', Cpus: 3, Memory: 5 * 1024 ** 3, Labels: expect.objectContaining({ zone: 'b' }) });
  expect(doc.Config.Labels['com.docker.swarm.constraints']).toBe('["zone==b"]');
  expect((await flotilla('inspect', '--format', '{{.Node.IP}} {{.Node.Cpus}} {{index .Node.Labels "zone"}}', 'web')).stdout).toBe('127.0.0.1 3 b\n');
});

it('run -e reschedule:on-node-failure is refused in one line, exit 5, and creates nothing', async () => {
  const r = await flotilla('run', '-d', '--name', 'resched', '-e', 'reschedule:on-node-failure', 'busybox:local', 'sleep', '300');
  expect(r.code).toBe(5);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^flotilla: env\[0\]: reschedule policy "on-node-failure" is not supported yet: [^\n]*\n$/);
  expect((await flotilla('ps', '-a', '--filter', 'name=resched', '--format', '{{.Name}}')).stdout).toBe('');
  // reschedule:off is harmless: kept as classic's label.
  expect((await flotilla('run', '-d', '--name', 'resched-off', '-e', 'reschedule:off', 'busybox:local', 'sleep', '300')).code).toBe(0);
  expect((await flotilla('inspect', '--format', '{{index .Config.Labels "com.docker.swarm.reschedule-policies"}}', 'resched-off')).stdout).toBe('["off"]\n');
});

it('node== takes the engine address and classic\'s ID|address; node!= excludes by either', async () => {
  const at = async (...args: string[]) => (await flotilla('run', '-d', '--format', '{{.EngineAddress}}', '--network', 'none', ...args, 'busybox:local', 'sleep', '300')).stdout.trim();
  expect(await at('--constraint', `node==${addresses[0]}`)).toBe(addresses[0]);
  expect(await at('-e', `constraint:node==HOLLOW1:AAAA:BBBB|${addresses[1]}`)).toBe(addresses[1]);
  expect(await at('--constraint', `node!=${addresses[0]}`)).toBe(addresses[1]);
  expect(await at('--constraint', 'node!=/hollow-[b]/')).toBe(addresses[0]);
  const none = await flotilla('explain', '--constraint', 'node!=/hollow-[ab]/', 'busybox:local');
  expect(none.code).toBe(5);
});

it("info shows classic Swarm's role and version lines, and totals with the overcommit beside the raw figures", async () => {
  const info = await flotilla('info');
  expect(info.code).toBe(0);
  expect(info.stdout).toMatch(/^Role: +primary$/m);
  expect(info.stdout).toMatch(/^Server Version: +flotilla\/\S+$/m);
  // Two engines of 2 and 3 CPUs, 4 and 5 GiB, under the default overcommit of 5%.
  expect(info.stdout).toMatch(/^Reserved CPUs: +[\d.]+ \/ 5\.25 \(5 raw\)$/m);
  expect(info.stdout).toMatch(/^Reserved memory: +.+ \/ 9\.45 GiB \(9 GiB raw\)$/m);
  const perEngine = await flotilla('engine', 'ls', '--format', '{{.Name}} {{.ReservedCPUs}}');
  expect(perEngine.stdout.split('\n').filter(Boolean).sort()).toEqual([expect.stringMatching(/^hollow-a [\d.]+ \/ 2\.1 \(2 raw\)$/), expect.stringMatching(/^hollow-b [\d.]+ \/ 3\.15 \(3 raw\)$/)]);
});
