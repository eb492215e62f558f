import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@flotilla/errors';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { ContainerSpec } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterContainers } from './cluster-containers';
import { ClusterVolumes, type CreateVolume } from './cluster-volumes';
import { engineSnapshot, FakeAgents } from './testing';

const GiB = 1024 ** 3;
const addresses = ['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250'];

function setup() {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock });
  const volumes = new ClusterVolumes({ cluster, connector: agents, clock, settleTimeoutMs: 1000 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler: new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 }), clock, settleTimeoutMs: 1000 });
  addresses.forEach((address, i) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(`ID${i}`, { name: `node-${i}`, cpus: 4, memoryBytes: 16 * GiB, labels: {} }));
  });
  return { agents, cluster, volumes, containers };
}

const request = (fields: Partial<CreateVolume>): CreateVolume => ({ name: 'data', engines: [], allEngines: false, driver: '', labels: {}, driverOpts: {}, ...fields });

describe('ClusterVolumes', () => {
  it('creates on the engines named or on every healthy engine, one result per engine by address, seen by the model', async () => {
    const { volumes, agents } = setup();
    const one = await volumes.create(request({ name: 'one', engines: ['ID1'], labels: { team: 'a' } }));
    expect(one).toEqual([{ engine: expect.objectContaining({ address: addresses[1] }), volume: expect.objectContaining({ name: 'one', labels: { team: 'a' } }), error: '', unsettled: false }]);
    expect(agents.engine(addresses[0]).volumes.has('one')).toBe(false);
    const all = await volumes.create(request({ name: 'all', allEngines: true }));
    expect(all.map((r) => [r.engine?.address, r.error, r.unsettled])).toEqual(addresses.map((a) => [a, '', false]));
    expect(volumes.list({ engines: [], names: ['o'], labels: {} }).map((v) => [v.engine?.address, v.volume?.name])).toEqual([[addresses[1], 'one']]);
    expect(volumes.list({ engines: [], names: [], labels: { team: '*' } })).toHaveLength(1);
    expect(volumes.list({ engines: ['ID2'], names: [], labels: {} }).map((v) => v.volume?.name)).toEqual(['all']);
  });

  it('refuses all_engines when no engine is healthy, and a label filter matches own labels only', async () => {
    const { volumes, agents, cluster } = setup();
    await volumes.create(request({ name: 'tagged', engines: [addresses[0]], labels: { team: 'a' } }));
    expect(volumes.list({ engines: [], names: [], labels: { constructor: '*' } })).toEqual([]);
    for (const address of addresses) agents.end(address, new Error('agent gone'));
    expect([...cluster.all()].every((e) => e.status !== 'healthy')).toBe(true);
    const refused = await volumes.create(request({ name: 'nowhere', allEngines: true })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FailedPreconditionError);
    expect((refused as Error).message).toContain('no healthy engine to create volume "nowhere" on');
  });

  it('places a container that mounts the volume on the engine that holds it, right after the create', async () => {
    const { volumes, containers } = setup();
    await volumes.create(request({ name: 'home', engines: [addresses[2]] }));
    const created = await containers.create(ContainerSpec.fromPartial({ image: 'busybox:local', binds: ['home:/data'] }), false);
    expect(created.engine.address).toBe(addresses[2]);
  });

  it('refuses bad names, drivers, driver options and neither-or-both targets, naming the field', async () => {
    const { volumes, agents } = setup();
    const field = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as InvalidArgumentError).violations.map((v) => v.field);
    expect(await field(volumes.create(request({ name: '-x', allEngines: true })))).toEqual(['name']);
    expect(await field(volumes.create(request({ name: 'a', allEngines: true })))).toEqual(['name']);
    expect(await field(volumes.create(request({ name: 'x'.repeat(256), allEngines: true })))).toEqual(['name']);
    expect(await field(volumes.create(request({ driver: 'nfs', allEngines: true })))).toEqual(['driver']);
    expect(await field(volumes.create(request({})))).toEqual(['engines']);
    expect(await field(volumes.create(request({ engines: ['ID0'], allEngines: true })))).toEqual(['engines']);
    await expect(volumes.create(request({ allEngines: true, driverOpts: { device: '/etc' } }))).rejects.toThrow(PermissionDeniedError);
    await expect(volumes.create(request({ allEngines: true, driverOpts: { device: '/etc' } }))).rejects.toThrow(/driver_opts/);
    await expect(volumes.create(request({ engines: ['nowhere:1'] }))).rejects.toThrow(NotFoundError);
    for (const a of addresses) expect(agents.engine(a).volumes.size).toBe(0);
  });

  it('inspects the one engine holding a name, asks for the engine when several do, and removes from every holder', async () => {
    const { volumes } = setup();
    await volumes.create(request({ name: 'twice', engines: [addresses[0], addresses[2]] }));
    await volumes.create(request({ name: 'once', engines: [addresses[1]] }));
    expect((await volumes.inspect('once', '')).volume.engine?.address).toBe(addresses[1]);
    const ambiguous = await volumes.inspect('twice', '').catch((e: unknown) => e);
    expect(ambiguous).toBeInstanceOf(FailedPreconditionError);
    expect((ambiguous as Error).message).toContain(addresses[0]);
    expect((ambiguous as Error).message).toContain(addresses[2]);
    expect((await volumes.inspect('twice', addresses[2])).volume.engine?.address).toBe(addresses[2]);
    await expect(volumes.inspect('none', '')).rejects.toThrow(/"none"/);
    await expect(volumes.inspect('once', addresses[0])).rejects.toThrow(NotFoundError);
    const removed = await volumes.remove('twice', '', false);
    expect(removed.map((r) => [r.engine?.address, r.error, r.unsettled])).toEqual([[addresses[0], '', false], [addresses[2], '', false]]);
    expect(volumes.list({ engines: [], names: ['twice'], labels: {} })).toEqual([]);
    await expect(volumes.remove('twice', '', false)).rejects.toThrow(NotFoundError);
    await expect(volumes.remove('once', addresses[0], false)).rejects.toThrow(NotFoundError);
  });
});
