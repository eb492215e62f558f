import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { call, streamOf } from '@flotilla/grpc';
import { ContainerLogsRequest, ContainerSpec, type ClusterServiceClient } from '@flotilla/proto/cluster';
import { allContainers, cleanupAll, makeTempDir, removeTempDir, waitFor, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { startRealCluster, type RealCluster } from './support';

// Two real engines, their agents and a manager, all with a policy that lets operators bind one
// host directory: what `docker run` users reach for, applied by Docker, and placement by volume.
let cluster: RealCluster;
let policyDir: string;

beforeAll(async () => {
  policyDir = makeTempDir('flotilla-run-options-');
  const policy = path.join(policyDir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ roles: { operator: { bindPaths: [policyDir] } } }));
  cluster = await startRealCluster({ count: 2, agentArgs: ['--container-policy', policy], managerArgs: ['--container-policy', policy] });
});

afterAll(async () => {
  await cluster?.manager.close();
  await cleanupAll();
  removeTempDir(policyDir);
});

const m = (): ClusterServiceClient => cluster.manager.client;
const spec = (fields: Partial<ContainerSpec>): ContainerSpec => ContainerSpec.fromPartial({ image: 'busybox:local', networkMode: 'none', ...fields });
const create = (fields: Partial<ContainerSpec>, start = false) => call(m(), m().createContainer, { spec: spec(fields), start, requestId: '' });
/** Waits until the manager sees the container exited; its exit code. */
async function exited(name: string): Promise<number> {
  const c = await waitFor(
    async () => (await allContainers(m(), { all: true })).find((x) => x.container?.names.includes(name) && x.container.state === 'exited'),
    { what: `container ${name} to exit`, timeoutMs: 60_000 },
  );
  return c.container!.exitCode;
}
async function output(name: string): Promise<string> {
  let text = '';
  for await (const chunk of streamOf(m().containerLogs(ContainerLogsRequest.fromPartial({ container: name, follow: false })))) text += Buffer.from(chunk.data).toString();
  return text;
}
async function removed(name: string): Promise<void> {
  await call(m(), m().removeContainer, { container: name, force: true, volumes: false });
  await waitFor(async () => !(await allContainers(m(), { all: true })).some((x) => x.container?.names.includes(name)), { what: `${name} to be gone` });
}

it('places a container with its named volume: write a file, remove the container, re-create it on the same engine, read the file back', async () => {
  const writer = await create({ name: 'vol-writer', binds: ['vol-rt:/data'], command: ['sh', '-c', 'echo kept-in-volume > /data/f'] }, true);
  expect(await exited('vol-writer')).toBe(0);
  const home = writer.engine!.id;
  await removed('vol-writer');
  // The engine's stream shows the volume Docker made; from then on the volume decides placement.
  const reader = spec({ name: 'vol-reader', mounts: [{ type: 'volume', source: 'vol-rt', target: '/data', readOnly: true, options: {} }], command: ['cat', '/data/f'] });
  const explained = await waitFor(
    async () => {
      const r = await call(m(), m().explainPlacement, { spec: reader });
      return r.explanation!.engines.some((e) => e.filter === 'volume') ? r : undefined;
    },
    { what: 'the manager to see volume vol-rt on its engine' },
  );
  expect(explained.chosen?.id).toBe(home);
  const other = explained.explanation!.engines.find((e) => e.engine?.id !== home)!;
  expect(other).toMatchObject({ filter: 'volume', reason: expect.stringContaining('"vol-rt"') });
  const created = await call(m(), m().createContainer, { spec: reader, start: true, requestId: '' });
  expect(created.engine?.id).toBe(home);
  expect(await exited('vol-reader')).toBe(0);
  expect(await output('vol-reader')).toBe('kept-in-volume\n');
  await removed('vol-reader');
  // A constraint away from the volume's engine cannot be met: refused, naming the filter.
  const away = await failureOf(create({ name: 'vol-away', binds: ['vol-rt:/data'], constraints: [`node!=${home}`] }));
  expect(away.code).toBe(status.FAILED_PRECONDITION);
});

it("applies docker run's options: docker inspect on the engine shows them", async () => {
  const created = await create(
    {
      name: 'many-options',
      command: ['sleep', '300'],
      memoryBytes: String(64 * 1024 * 1024),
      mounts: [
        { type: 'tmpfs', source: '', target: '/scratch', readOnly: false, options: { size: '1m' } },
        { type: 'bind', source: policyDir, target: '/host', readOnly: true, options: {} },
      ],
      tmpfs: { '/run': 'rw,size=2m' },
      user: '0:1',
      workingDir: '/tmp',
      tty: true,
      openStdin: true,
      hostname: 'many-1',
      dns: ['192.0.2.53'],
      extraHosts: ['db:192.0.2.5'],
      healthCheck: { test: ['CMD-SHELL', 'true'], intervalMs: 5000, timeoutMs: 2000, retries: 4, startPeriodMs: 1000 },
      logConfig: { driver: 'json-file', options: { 'max-size': '1m' } },
      ulimits: [{ name: 'nofile', soft: '1024', hard: '2048' }],
      stopSignal: 'SIGUSR1',
      stopTimeoutSeconds: 3,
      cpuShares: '512',
      cpuQuota: '50000',
      cpuPeriod: '100000',
      cpusetCpus: '0',
      memoryReservationBytes: String(32 * 1024 * 1024),
      memorySwapBytes: String(128 * 1024 * 1024),
      pidsLimit: '64',
    },
    true,
  );
  const engine = cluster.engines.engines[cluster.ids.indexOf(created.engine!.id)];
  const inspected = JSON.parse(await cluster.engines.docker(engine.name, ['inspect', 'many-options']))[0] as {
    Config: Record<string, unknown>;
    HostConfig: Record<string, unknown>;
  };
  expect(inspected.Config).toMatchObject({
    User: '0:1',
    WorkingDir: '/tmp',
    Tty: true,
    OpenStdin: true,
    Hostname: 'many-1',
    StopSignal: 'SIGUSR1',
    StopTimeout: 3,
    Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 2e9, Retries: 4, StartPeriod: 1e9 },
  });
  expect(inspected.HostConfig).toMatchObject({
    Mounts: [
      { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1024 * 1024 } },
      { Type: 'bind', Source: policyDir, Target: '/host', ReadOnly: true },
    ],
    Tmpfs: { '/run': 'rw,size=2m' },
    Dns: ['192.0.2.53'],
    ExtraHosts: ['db:192.0.2.5'],
    LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
    Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
    CpuShares: 512,
    CpuQuota: 50000,
    CpuPeriod: 100000,
    CpusetCpus: '0',
    MemoryReservation: 32 * 1024 * 1024,
    PidsLimit: 64,
  });
  // A kernel without swap accounting makes Docker drop the swap limit (-1) with a warning.
  expect([128 * 1024 * 1024, -1]).toContain(inspected.HostConfig.MemorySwap);
  await removed('many-options');
});

it('lets Docker remove an auto-remove container when it exits', async () => {
  const created = await create({ name: 'auto-rm', autoRemove: true, command: ['true'] }, true);
  expect(created.started).toBe(true);
  await waitFor(async () => !(await allContainers(m(), { all: true })).some((x) => x.container?.names.includes('auto-rm')), { what: 'Docker to remove auto-rm' });
});

it('refuses bad input with the right status, naming the field', async () => {
  const outside = await failureOf(create({ name: 'bad-1', mounts: [{ type: 'bind', source: '/etc', target: '/etc', readOnly: true, options: {} }] }));
  expect(outside.code).toBe(status.PERMISSION_DENIED);
  expect(outside.message).toMatch(/^mounts\[0\]\.source "\/etc": .*binding host path \/etc/);
  const bindOutside = await failureOf(create({ name: 'bad-2', binds: ['/etc:/etc:ro'] }));
  expect(bindOutside.code).toBe(status.PERMISSION_DENIED);
  const logDriver = await failureOf(create({ name: 'bad-3', logConfig: { driver: 'syslog', options: {} } }));
  expect(logDriver.code).toBe(status.PERMISSION_DENIED);
  expect(logDriver.message).toMatch(/^logConfig\.driver "syslog"/);
  const cases: Array<[Partial<ContainerSpec>, string]> = [
    [{ mounts: [{ type: 'volume', source: 'v', target: 'data', readOnly: false, options: {} }] }, 'spec.mounts[0].target'],
    [{ mounts: [{ type: 'nfs', source: 'v', target: '/data', readOnly: false, options: {} }] }, 'spec.mounts[0].type'],
    [{ mounts: [{ type: 'volume', source: 'no such/volume', target: '/data', readOnly: false, options: {} }] }, 'spec.mounts[0].source'],
    [{ mounts: [{ type: 'volume', source: 'v', target: '/data', readOnly: false, options: { driver: 'local' } }] }, 'spec.mounts[0].options[driver]'],
    [{ dns: Array.from({ length: 17 }, () => '192.0.2.53') }, 'spec.dns'],
    [{ mounts: Array.from({ length: 1001 }, (_, i) => ({ type: 'tmpfs', source: '', target: `/t${i}`, readOnly: false, options: {} })) }, 'spec.mounts'],
    [{ ulimits: [{ name: 'nofile', soft: '10', hard: '5' }] }, 'spec.ulimits[0].soft'],
    [{ stopSignal: 'SIGNOPE' }, 'spec.stop_signal'],
  ];
  for (const [fields, field] of cases) {
    const err = await failureOf(create({ name: 'bad-x', ...fields }));
    expect({ field, code: err.code }).toEqual({ field, code: status.INVALID_ARGUMENT });
    expect(err.message.startsWith(`${field} `)).toBe(true);
  }
  // Explain refuses the same way.
  expect((await failureOf(call(m(), m().explainPlacement, { spec: spec({ mounts: [{ type: 'bind', source: '/etc', target: '/x', readOnly: false, options: {} }] }) }))).code).toBe(status.PERMISSION_DENIED);
  expect((await allContainers(m(), { all: true })).filter((c) => c.container?.names.some((n) => n.startsWith('bad-')))).toEqual([]);
});
