import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient, ContainerSpec, type ClusterServiceClient as Client, type CreateNetworkRequest } from '@flotilla/proto/cluster';
import { cleanupAll, failureOf, testTls } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { EventRecorder, startRealCluster, type RealCluster } from './support';

// Networks through the cluster API: two real engines, each in a network namespace of its own (so
// bridges live there, never on the host), an agent beside each and a manager process.
let cluster: RealCluster;
let reader: Client | undefined;

beforeAll(async () => {
  cluster = await startRealCluster({ count: 2, netns: true, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } });
});

afterAll(async () => {
  reader?.close();
  await cluster?.manager.close();
  await cleanupAll();
});

const m = (): Client => cluster.manager.client;
const create = (fields: Partial<CreateNetworkRequest>) => call(m(), m().createNetwork, { name: '', engines: [], allEngines: false, driver: '', labels: {}, internal: false, subnet: '', gateway: '', ...fields });

it('creates a network on one engine, seen at once: a container that joins it is placed there, with an address in its subnet', async () => {
  const seen = cluster.manager.process.totalLines;
  const events = new EventRecorder(m().watchEvents({ types: ['network'], engines: [], containers: [] }));
  await cluster.manager.process.waitForLine(/event subscriber connected/, 30_000, seen);
  const [made] = (await create({ name: 'app-net', engines: [cluster.addresses[1]], subnet: '10.213.91.0/24', gateway: '10.213.91.1', labels: { tier: 'app' } })).results;
  expect(made).toMatchObject({ engine: { address: cluster.addresses[1] }, network: { name: 'app-net', driver: 'bridge', labels: { tier: 'app' } }, error: '', unsettled: false });
  const event = await events.nextMatching((r) => r.event?.action === 'create' && r.event.docker?.actorId === made.network?.id, 'the network create event');
  expect(event.event?.engine?.address).toBe(cluster.addresses[1]);
  events.cancel();

  const listed = await call(m(), m().listNetworks, { engines: [], names: ['app-'], labels: {}, pageSize: 0, pageToken: '' });
  expect(listed.networks.map((n) => [n.engine?.address, n.network?.name])).toEqual([[cluster.addresses[1], 'app-net']]);
  // Docker's own networks are listed too, on every engine.
  const own = await call(m(), m().listNetworks, { engines: [], names: ['none'], labels: {}, pageSize: 0, pageToken: '' });
  expect(own.networks.map((n) => n.engine?.address).sort()).toEqual([...cluster.addresses].sort());

  for (const name of ['on-net-1', 'on-net-2']) {
    const created = await call(m(), m().createContainer, { spec: ContainerSpec.fromPartial({ name, image: 'busybox:local', command: ['sleep', '300'], networkMode: 'app-net' }), start: true, requestId: '' });
    expect(created.engine?.address).toBe(cluster.addresses[1]);
    const inspected = JSON.parse((await call(m(), m().inspectContainer, { container: name })).rawJson) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } };
    expect(inspected.NetworkSettings.Networks['app-net'].IPAddress).toMatch(/^10\.213\.91\.\d+$/);
  }
  const inspected = await call(m(), m().inspectNetwork, { network: 'app-net', engine: '' });
  expect(inspected.network?.engine?.address).toBe(cluster.addresses[1]);
  expect((JSON.parse(inspected.rawJson) as { IPAM: { Config: Array<{ Subnet: string; Gateway: string }> } }).IPAM.Config).toEqual([expect.objectContaining({ Subnet: '10.213.91.0/24', Gateway: '10.213.91.1' })]);

  // In use: that engine's refusal; free: removed, and gone from the model.
  const inUse = await call(m(), m().removeNetwork, { network: 'app-net', engine: '' });
  expect(inUse.results[0].error).toMatch(/^FAILED_PRECONDITION: .*active endpoints/);
  for (const name of ['on-net-1', 'on-net-2']) await call(m(), m().removeContainer, { container: name, force: true, volumes: false });
  const removed = await call(m(), m().removeNetwork, { network: 'app-net', engine: '' });
  expect(removed.results).toEqual([expect.objectContaining({ engine: expect.objectContaining({ address: cluster.addresses[1] }), error: '', unsettled: false })]);
  expect((await failureOf(call(m(), m().inspectNetwork, { network: 'app-net', engine: '' }))).code).toBe(status.NOT_FOUND);
});

it('creates on every engine, each its own; answers a name taken per engine, bad input with the field, and a reader PERMISSION_DENIED', async () => {
  const all = (await create({ name: 'everywhere', allEngines: true, internal: true })).results;
  expect(all.map((r) => [r.engine?.address, r.error, r.unsettled])).toEqual([...cluster.addresses].sort().map((a) => [a, '', false]));
  expect(new Set(all.map((r) => r.network?.id)).size).toBe(2);
  // Used by a container wherever it lands: every engine holds it.
  const joined = await call(m(), m().createContainer, { spec: ContainerSpec.fromPartial({ name: 'joins-everywhere', image: 'busybox:local', command: ['sleep', '300'], networkMode: 'everywhere' }), start: true, requestId: '' });
  const settings = JSON.parse((await call(m(), m().inspectContainer, { container: 'joins-everywhere' })).rawJson) as { NetworkSettings: { Networks: Record<string, { IPAddress: string; NetworkID: string }> } };
  expect(settings.NetworkSettings.Networks.everywhere.NetworkID).toBe(all.find((r) => r.engine?.address === joined.engine?.address)?.network?.id);
  expect(settings.NetworkSettings.Networks.everywhere.IPAddress).not.toBe('');
  await call(m(), m().removeContainer, { container: 'joins-everywhere', force: true, volumes: false });
  const again = (await create({ name: 'everywhere', engines: [cluster.addresses[0]] })).results;
  expect(again[0].error).toMatch(/^ALREADY_EXISTS: /);
  const ambiguous = await failureOf(call(m(), m().inspectNetwork, { network: 'everywhere', engine: '' }));
  expect(ambiguous.code).toBe(status.FAILED_PRECONDITION);
  expect(ambiguous.message).toContain('is on 2 engines');

  const bad = async (fields: Partial<CreateNetworkRequest>) => failureOf(create({ name: 'bad-net', allEngines: true, ...fields }));
  expect((await bad({ driver: 'macvlan' })).message).toMatch(/^driver "macvlan"/);
  expect((await bad({ name: 'bridge' })).message).toMatch(/^name "bridge"/);
  expect((await bad({ subnet: 'not-a-cidr' })).message).toMatch(/^subnet "not-a-cidr"/);
  expect((await bad({ allEngines: false })).message).toMatch(/^engines /);
  expect((await failureOf(call(m(), m().removeNetwork, { network: 'host', engine: '' }))).code).toBe(status.INVALID_ARGUMENT);

  reader = dial(ClusterServiceClient, cluster.manager.address, { tls: testTls('reader'), defaultDeadlineMs: 20_000 });
  expect((await call(reader, reader.listNetworks, { engines: [], names: ['everywhere'], labels: {}, pageSize: 0, pageToken: '' })).networks).toHaveLength(2);
  expect((await failureOf(call(reader, reader.createNetwork, { name: 'nope', engines: [], allEngines: true, driver: '', labels: {}, internal: false, subnet: '', gateway: '' }))).code).toBe(status.PERMISSION_DENIED);
  const removed = await call(m(), m().removeNetwork, { network: 'everywhere', engine: '' });
  expect(removed.results.map((r) => [r.error, r.unsettled])).toEqual([['', false], ['', false]]);
});
