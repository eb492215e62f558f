import { call } from '@flotilla/grpc';
import { ContainerSpec, EngineStatus, type ClusterServiceClient } from '@flotilla/proto/cluster';
import { cleanupAll, waitFor, type TestEngines, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { allContainers, engineIn, startManagerProcess, startRealCluster, type ManagerProcess } from './support';

// Classic Swarm's placement labels on real engines: two real engines labelled zone=a and zone=b,
// their agents and a manager, each a separate process. A container keeps its constraints and
// affinities in com.docker.swarm.constraints / .affinities (JSON arrays) on the engine itself, so
// a restarted manager shows them; reschedule:on-node-failure is refused and creates nothing;
// node== takes the engine's name, ID, address and classic's ID|address; inspect adds the Node.
let engines: TestEngines;
let manager: ManagerProcess;
let addresses: string[];
let ids: string[];

beforeAll(async () => {
  ({ engines, manager, addresses, ids } = await startRealCluster({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } }));
});

afterAll(async () => {
  await manager?.close();
  await cleanupAll();
});

const m = (): ClusterServiceClient => manager.client;
const spec = (fields: Partial<ContainerSpec>): ContainerSpec => ContainerSpec.fromPartial({ image: 'busybox:local', command: ['sleep', '300'], networkMode: 'none', ...fields });
const create = (fields: Partial<ContainerSpec>, start = false) => call(m(), m().createContainer, { spec: spec(fields), start, requestId: '' });
/** Names of every container on the real engines, whatever the manager thinks. */
async function namesOnEngines(): Promise<string[]> {
  const lists = await Promise.all(engines.engines.map((e) => engines.docker(e.name, ['ps', '-a', '--format', '{{.Names}}'])));
  return lists.join('\n').split('\n').filter(Boolean).sort();
}

it('keeps -e constraint:zone==a as the label com.docker.swarm.constraints=["zone==a"] on the engine, and shows it in the container view', async () => {
  const created = await create({ name: 'labelled', env: ['constraint:zone==a', 'KEEP=1'], affinities: ['image==busybox*'] }, true);
  expect(created.engine?.id).toBe(ids[0]);
  // What the real engine holds.
  const labels = JSON.parse(await engines.docker('engine-1', ['inspect', '--format', '{{json .Config.Labels}}', 'labelled'])) as Record<string, string>;
  expect(labels['com.docker.swarm.constraints']).toBe('["zone==a"]');
  expect(labels['com.docker.swarm.affinities']).toBe('["image==busybox*"]');
  expect(labels['com.docker.swarm.reschedule-policies']).toBeUndefined();
  const env = JSON.parse(await engines.docker('engine-1', ['inspect', '--format', '{{json .Config.Env}}', 'labelled'])) as string[];
  expect(env).toContain('KEEP=1');
  expect(env.some((e) => e.startsWith('constraint:'))).toBe(false);
  // The cluster's container view, in the list and in inspect.
  const [listed] = await waitFor(async () => {
    const found = await allContainers(m(), { all: true, names: ['labelled'] });
    return found.length ? found : undefined;
  }, { what: 'labelled in the list' });
  expect(listed).toMatchObject({ constraints: ['zone==a'], affinities: ['image==busybox*'], reschedulePolicies: [] });
  const inspected = await call(m(), m().inspectContainer, { container: 'labelled' });
  expect(inspected.container).toMatchObject({ constraints: ['zone==a'], affinities: ['image==busybox*'] });
  // The engine as classic Swarm's Node.
  const info = JSON.parse(await engines.docker('engine-1', ['info', '--format', '{{json .}}'])) as { ID: string; Name: string; NCPU: number; MemTotal: number };
  expect(inspected.node).toMatchObject({ id: ids[0], name: info.Name, address: addresses[0], ip: '127.0.0.1', cpus: String(info.NCPU), memoryBytes: String(info.MemTotal) });
  expect(inspected.node?.labels).toMatchObject({ zone: 'a', ostype: 'linux' });
});

it('refuses reschedule:on-node-failure with FAILED_PRECONDITION and creates nothing; reschedule:off is kept', async () => {
  const before = await namesOnEngines();
  const err = await failureOf(create({ name: 'resched', env: ['reschedule:on-node-failure'] }, true));
  expect(err.code).toBe(status.FAILED_PRECONDITION);
  expect(err.message).toMatch(/reschedule policy "on-node-failure" is not supported yet/);
  const viaLabel = await failureOf(create({ name: 'resched', labels: { 'com.docker.swarm.reschedule-policies': '["on-node-failure"]' } }));
  expect(viaLabel.code).toBe(status.FAILED_PRECONDITION);
  expect(await namesOnEngines()).toEqual(before);
  expect(await allContainers(m(), { all: true, names: ['resched'] })).toEqual([]);

  await create({ name: 'resched-off', env: ['reschedule:off'], constraints: ['zone==b'] });
  expect(await engines.docker('engine-2', ['inspect', '--format', '{{index .Config.Labels "com.docker.swarm.reschedule-policies"}}', 'resched-off'])).toBe('["off"]');
});

it('places by node== with the engine name, ID, address and ID|address, and node!= excludes each', async () => {
  const { engine } = await call(m(), m().getEngine, { engine: addresses[1] });
  // Engines on one host share its name: the name alone says nothing here, the other forms do.
  for (const [i, form] of [ids[1], addresses[1], `${ids[1]}|${addresses[1]}`].entries()) {
    expect((await create({ name: `node-eq-${i}`, constraints: [`node==${form}`] })).engine?.id).toBe(ids[1]);
    expect((await create({ name: `node-ne-${i}`, constraints: [`node!=${form}`] })).engine?.id).toBe(ids[0]);
  }
  const byName = await failureOf(create({ name: 'node-name', constraints: [`node!=${engine!.name}`, 'zone==b'] }));
  expect(byName.code).toBe(status.FAILED_PRECONDITION);
});

it('shows the constraints of containers made before a manager restart, read back from their labels', async () => {
  await manager.close();
  manager = await startManagerProcess(['--engine', addresses.join(',')]);
  for (const address of addresses) await engineIn(m(), address, EngineStatus.ENGINE_STATUS_HEALTHY);
  const [listed] = await waitFor(async () => {
    const found = await allContainers(m(), { all: true, names: ['labelled'] });
    return found.length ? found : undefined;
  }, { what: 'labelled in the restarted manager' });
  expect(listed).toMatchObject({ constraints: ['zone==a'], affinities: ['image==busybox*'] });
  const [off] = await allContainers(m(), { all: true, names: ['resched-off'] });
  expect(off.reschedulePolicies).toEqual(['off']);
});
