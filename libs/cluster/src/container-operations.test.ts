import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { ContainerSpec } from '@flotilla/proto/cluster';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterContainers } from './cluster-containers';
import { ContainerOperations } from './container-operations';
import { engineSnapshot, FakeAgents } from './testing';

const addresses = ['10.0.0.1:4250', '10.0.0.2:4250'];

function setup() {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, createRetry: 0 });
  const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler, clock, settleTimeoutMs: 1000 });
  addresses.forEach((address, i) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(`ID${i}`, { labels: { zone: 'ab'[i] } }));
  });
  return { clock, agents, containers, operations: new ContainerOperations(containers) };
}

const spec = (name: string, zone: string) => ContainerSpec.fromPartial({ image: 'busybox:local', name, constraints: [`zone==${zone}`] });

describe('ContainerOperations', () => {
  it('pauses and unpauses, answering once the stream shows it, and names the container and its state when refused', async () => {
    const { containers, operations } = setup();
    await containers.create(spec('web', 'a'), true);
    expect(await operations.pause('web')).toMatchObject({ unsettled: false, engine: { address: addresses[0] } });
    expect(containers.find('web').container.state).toBe('paused');
    const again = operations.pause('web');
    await expect(again).rejects.toThrow(FailedPreconditionError);
    await expect(again).rejects.toThrow(/container "web" \([0-9a-f]{12}\): it is paused/);
    expect(await operations.unpause('web')).toMatchObject({ unsettled: false });
    await expect(operations.unpause('web')).rejects.toThrow(/"web".*it is running/);
  });

  it('renames only to a name free in the whole cluster, and holds the name while it renames', async () => {
    const { clock, agents, containers, operations } = setup();
    const web = await containers.create(spec('web', 'a'), false);
    await containers.create(spec('db', 'b'), false);
    // On the other engine: only the cluster knows the name is taken.
    await expect(operations.rename('web', 'db')).rejects.toThrow(AlreadyExistsError);
    await expect(operations.rename('web', '/web')).rejects.toThrow(InvalidArgumentError);
    await expect(operations.rename('web', 'bad name')).rejects.toThrow(/new_name "bad name"/);
    await expect(operations.rename('nope', 'fine')).rejects.toThrow(NotFoundError);

    // A create of the new name while the rename is under way is refused.
    agents.engine(addresses[0]).quiet = true;
    const renaming = operations.rename('web', 'api');
    await expect(containers.create(spec('api', 'b'), false)).rejects.toThrow(AlreadyExistsError);
    // The engine's stream never shows it: the answer says so after the settle timeout.
    await clock.advance(1000);
    expect(await renaming).toMatchObject({ id: web.id, unsettled: true });
    agents.engine(addresses[0]).quiet = false;
  });

  it('waits and lists processes on the container engine, and refuses bad arguments before any call', async () => {
    const { containers, operations } = setup();
    await containers.create(spec('web', 'b'), true);
    const signal = new AbortController().signal;
    expect(await operations.wait('web', '', signal)).toMatchObject({ exitCode: '0', engine: { address: addresses[1] } });
    await expect(operations.wait('web', 'exited', signal)).rejects.toThrow(/condition "exited"/);
    expect((await operations.top('web', '-o pid,comm')).titles).toEqual(['PID', 'CMD']);
    await expect(operations.top('web', 'aux; id')).rejects.toThrow(/ps_args "aux; id"/);
  });

  it('updates limits that fit the engine, holding a raise until the stream shows it, and refuses one that does not fit', async () => {
    const { agents, containers, operations } = setup();
    const GiB = 1024 ** 3;
    const web = await containers.create(ContainerSpec.fromPartial({ ...spec('web', 'a'), memoryBytes: String(GiB) }), true);
    const engine = containers.find('web').engine;
    expect(engine.reservedMemoryBytes).toBe(GiB);
    // The engine has 8 GiB, 1 reserved: 8 more do not fit (no overcommit here); the refusal says what is free.
    const refused = operations.update('web', { memoryBytes: String(9 * GiB) });
    await expect(refused).rejects.toThrow(FailedPreconditionError);
    await expect(refused).rejects.toThrow(`engine ${addresses[0]} cannot take the update of container "web"`);
    await expect(refused).rejects.toThrow('needs 8192 MiB of memory; 7168 MiB of 8192 MiB free');
    expect(engine.reservedMemoryBytes).toBe(GiB);

    // While the engine has not shown the raise, it is held: a placement cannot take it too.
    agents.engine(addresses[0]).quiet = true;
    const raising = operations.update('web', { memoryBytes: String(4 * GiB) });
    await Promise.resolve();
    expect(engine.reservedMemoryBytes).toBe(4 * GiB);
    agents.engine(addresses[0]).quiet = false;
    agents.send(addresses[0], { $case: 'container', value: { event: undefined, container: { ...containers.find('web').container, memoryBytes: String(4 * GiB) }, removed: false } });
    expect(await raising).toMatchObject({ id: web.id, unsettled: false, engine: { address: addresses[0] } });
    expect(engine.reservedMemoryBytes).toBe(4 * GiB);

    // A lower limit needs no room; nothing to change is refused before any call.
    expect(await operations.update('web', { memoryBytes: String(GiB), restartPolicy: { name: 'always', maximumRetryCount: 0 } })).toMatchObject({ unsettled: false });
    expect(engine.reservedMemoryBytes).toBe(GiB);
    await expect(operations.update('web', {})).rejects.toThrow(/resources .*nothing to change/);
  });

  it("reads a container's stats from its engine, each sample with the engine, and refuses while the engine is down", async () => {
    const { agents, containers, operations } = setup();
    const web = await containers.create(spec('web', 'b'), true);
    const samples = [];
    for await (const sample of operations.stats(web.id.slice(0, 12), false, new AbortController().signal)) samples.push(sample);
    expect(samples).toMatchObject([{ stats: { containerId: web.id, name: 'web' }, engine: { address: addresses[1] } }]);
    await expect(async () => {
      for await (const _ of operations.stats('nope', false, new AbortController().signal));
    }).rejects.toThrow(NotFoundError);
    agents.end(addresses[1]);
    await expect(async () => {
      for await (const _ of operations.stats('web', true, new AbortController().signal));
    }).rejects.toThrow(/on engine 10\.0\.0\.2:4250, which is unhealthy/);
  });
});
