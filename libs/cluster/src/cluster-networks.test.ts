import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { ContainerSpec } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterContainers } from './cluster-containers';
import { ClusterNetworks, type CreateNetwork } from './cluster-networks';
import { engineSnapshot, FakeAgents } from './testing';

const GiB = 1024 ** 3;
const addresses = ['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250'];

function setup() {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock });
  const networks = new ClusterNetworks({ cluster, connector: agents, clock, settleTimeoutMs: 1000 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler: new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 }), clock, settleTimeoutMs: 1000 });
  addresses.forEach((address, i) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(`ID${i}`, { name: `node-${i}`, cpus: 4, memoryBytes: 16 * GiB, labels: {} }));
  });
  return { agents, cluster, networks, containers };
}

const request = (fields: Partial<CreateNetwork>): CreateNetwork => ({ name: 'backend', engines: [], allEngines: false, driver: '', labels: {}, internal: false, subnet: '', gateway: '', ...fields });

const refusal = async (work: Promise<unknown>): Promise<Error> => {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a refusal');
  return err;
};

describe('ClusterNetworks', () => {
  it('creates on the engines named or on every healthy engine, one result per engine, seen by the model and listed by name', async () => {
    const { networks, agents } = setup();
    const one = await networks.create(request({ name: 'one', engines: ['ID1'], labels: { team: 'a' }, subnet: '10.20.0.0/24', gateway: '10.20.0.1' }));
    expect(one).toEqual([{ engine: expect.objectContaining({ address: addresses[1] }), network: expect.objectContaining({ name: 'one', driver: 'bridge', labels: { team: 'a' } }), error: '', unsettled: false }]);
    expect(agents.engine(addresses[0]).networks.has('one')).toBe(false);
    const all = await networks.create(request({ name: 'all', allEngines: true }));
    expect(all.map((r) => [r.engine?.address, r.error, r.unsettled])).toEqual(addresses.map((a) => [a, '', false]));
    expect(networks.list({ engines: [], names: ['on'], labels: {} }).map((n) => [n.engine?.address, n.network?.name])).toEqual([[addresses[1], 'one']]);
    expect(networks.list({ engines: ['ID2'], names: [], labels: {} }).map((n) => n.network?.name)).toEqual(['all']);
    // A second create finds it there: that engine's error, not a second network.
    const again = await networks.create(request({ name: 'one', engines: ['ID1'] }));
    expect(again[0].error).toMatch(/^ALREADY_EXISTS: /);
  });

  it('places a container that joins the network on an engine that holds it, right after the create', async () => {
    const { networks, containers } = setup();
    await networks.create(request({ name: 'private', engines: [addresses[2]] }));
    for (let i = 0; i < 3; i++) {
      const created = await containers.create(ContainerSpec.fromPartial({ image: 'busybox:local', networkMode: 'private' }), false);
      expect(created.engine.address).toBe(addresses[2]);
    }
    // A network no engine holds is Docker's to refuse on the chosen engine: placement ignores it.
    const elsewhere = await containers.explain(ContainerSpec.fromPartial({ image: 'busybox:local', networkMode: 'nowhere' }), undefined);
    expect(elsewhere.chosen).toBeDefined();
  });

  it('inspects and removes by name or ID, on the one engine holding it or the engine named', async () => {
    const { networks, agents } = setup();
    const [made] = await networks.create(request({ name: 'solo', engines: [addresses[0]] }));
    expect((await networks.inspect('solo', '')).network.engine?.address).toBe(addresses[0]);
    expect((await networks.inspect(made.network!.id.slice(0, 12), '')).network.network?.name).toBe('solo');
    await networks.create(request({ name: 'twice', engines: [addresses[0], addresses[1]] }));
    expect(await refusal(networks.inspect('twice', ''))).toBeInstanceOf(FailedPreconditionError);
    const removed = await networks.remove('twice', '');
    expect(removed.map((r) => [r.engine?.address, r.error])).toEqual([[addresses[0], ''], [addresses[1], '']]);
    expect(agents.engine(addresses[1]).networks.has('twice')).toBe(false);
    expect(await refusal(networks.remove('twice', ''))).toBeInstanceOf(NotFoundError);
    expect(await refusal(networks.inspect('missing', addresses[2]))).toBeInstanceOf(NotFoundError);
  });

  it('refuses bad names, predefined networks, other drivers, bad subnets and neither-or-both targets, naming the field', async () => {
    const { networks } = setup();
    const message = async (fields: Partial<CreateNetwork>) => {
      const err = await refusal(networks.create(request(fields)));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      return err.message;
    };
    expect(await message({ name: 'bad name', allEngines: true })).toMatch(/^name "bad name"/);
    expect(await message({ name: 'host', allEngines: true })).toMatch(/^name "host".*Docker's own networks/);
    expect(await message({ driver: 'macvlan', allEngines: true })).toMatch(/^driver "macvlan".*only the "bridge" driver/);
    expect(await message({ subnet: '10.0.0.0', allEngines: true })).toMatch(/^subnet "10.0.0.0".*CIDR/);
    expect(await message({ subnet: '10.0.0.0/33', allEngines: true })).toMatch(/^subnet /);
    expect(await message({ gateway: '10.0.0.1', allEngines: true })).toMatch(/^gateway .*needs a subnet/);
    expect(await message({ subnet: '10.0.0.0/24', gateway: 'fe80::1', allEngines: true })).toMatch(/^gateway "fe80::1".*IPv4/);
    expect(await message({})).toMatch(/^engines .*all_engines/);
    expect(await message({ engines: [addresses[0]], allEngines: true })).toMatch(/^engines .*not both/);
    expect(await refusal(networks.remove('bridge', ''))).toBeInstanceOf(InvalidArgumentError);
  });
});
