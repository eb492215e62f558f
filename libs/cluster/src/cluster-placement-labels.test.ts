import { FailedPreconditionError, InvalidArgumentError } from '@flotilla/errors';
import type { Container } from '@flotilla/proto';
import { ContainerSpec } from '@flotilla/proto/cluster';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterContainers } from './cluster-containers';
import { engineSnapshot, FakeAgents } from './testing';

// Constraints, affinities and reschedule policies are kept as classic Swarm kept them: in the
// labels com.docker.swarm.constraints / .affinities / .reschedule-policies of the container, as
// JSON arrays, whatever their source; the cluster's container view reads them back from there
// (so containers made before a manager restart show them too). reschedule:on-node-failure is
// refused, never dropped silently.

const GiB = 1024 ** 3;
const addresses = ['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250'];
const constraintsLabel = 'com.docker.swarm.constraints';
const affinitiesLabel = 'com.docker.swarm.affinities';
const rescheduleLabel = 'com.docker.swarm.reschedule-policies';

function setup(containersOn: Array<Container[]> = []) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, createRetry: 0 });
  const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler, clock, settleTimeoutMs: 1000 });
  addresses.forEach((address, i) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(`ID${i}`, { name: `node-${i}`, cpus: 4, memoryBytes: 16 * GiB, labels: { zone: 'abc'[i] }, containers: containersOn[i] ?? [] }));
  });
  return { clock, agents, cluster, containers };
}

const spec = (fields: Partial<ContainerSpec>) => ContainerSpec.fromPartial({ image: 'busybox:local', ...fields });
const everyCreate = (agents: FakeAgents) => addresses.flatMap((a) => agents.engine(a).creates);
const listAll = (containers: ClusterContainers) => containers.list({ all: true, engines: [], states: [], labels: {}, names: [] });

describe('placement labels', () => {
  it('writes every constraint and affinity of every source into the labels, as JSON arrays, and out of the env', async () => {
    const { containers, agents } = setup();
    // Some container for the affinity to hold on.
    await containers.create(spec({ name: 'db', constraints: ['zone==b'] }), false);
    const created = await containers.create(
      spec({
        name: 'web',
        constraints: ['zone!=c'],
        affinities: ['container==db'],
        env: ['A=1', 'constraint:node!=node-0', 'affinity:container==d*', 'B=2'],
        labels: { app: 'web', [constraintsLabel]: '["zone==~b"]' },
      }),
      false,
    );
    expect(created.engine.id).toBe('ID1');
    const sent = agents.engine(addresses[1]).creates.find((c) => c.name === 'web')!;
    expect(sent.env).toEqual(['A=1', 'B=2']);
    expect(sent.labels).toMatchObject({
      app: 'web',
      [constraintsLabel]: '["zone!=c","node!=node-0","zone==~b"]',
      [affinitiesLabel]: '["container==db","container==d*"]',
    });
    expect(sent.labels[rescheduleLabel]).toBeUndefined();
    const view = listAll(containers).find((c) => c.container!.names[0] === 'web')!;
    expect(view).toMatchObject({ constraints: ['zone!=c', 'node!=node-0', 'zone==~b'], affinities: ['container==db', 'container==d*'], reschedulePolicies: [] });
    // The db container was made from a typed field alone: its label is exactly classic's.
    expect(agents.engine(addresses[1]).creates.find((c) => c.name === 'db')!.labels[constraintsLabel]).toBe('["zone==b"]');
  });

  it('shows the expressions of containers it did not create: read from their labels, as after a manager restart', () => {
    const old = (id: string, name: string, labels: Record<string, string>): Container => ({
      id: id.repeat(64).slice(0, 64), names: [name], image: 'busybox:local', imageId: '', command: [], state: 'running', status: 'Up', labels,
      nanoCpus: '0', cpuShares: '0', memoryBytes: '0', portBindings: [], networkMode: 'none', created: undefined, exitCode: 0, startedAt: undefined, finishedAt: undefined, restartPolicy: '',
    });
    const { containers } = setup([
      [old('a', 'kept', { [constraintsLabel]: '["zone==a","node!=n1"]', [affinitiesLabel]: '["container==db"]', [rescheduleLabel]: '["off"]' })],
      [old('b', 'plain', {}), old('c', 'garbled', { [constraintsLabel]: 'zone==a', [affinitiesLabel]: '[1,2]' })],
    ]);
    const byName = Object.fromEntries(listAll(containers).map((c) => [c.container!.names[0], c]));
    expect(byName.kept).toMatchObject({ constraints: ['zone==a', 'node!=n1'], affinities: ['container==db'], reschedulePolicies: ['off'] });
    expect(byName.plain).toMatchObject({ constraints: [], affinities: [], reschedulePolicies: [] });
    // Anything but a JSON array of strings shows as none, and is kept as it is in the labels.
    expect(byName.garbled).toMatchObject({ constraints: [], affinities: [] });
    expect(byName.garbled.container!.labels[constraintsLabel]).toBe('zone==a');
  });

  it('keeps reschedule:off as the label ["off"]', async () => {
    const { containers, agents } = setup();
    await containers.create(spec({ name: 'off', env: ['reschedule:off', 'A=1'], constraints: ['zone==a'] }), false);
    const sent = agents.engine(addresses[0]).creates[0];
    expect(sent.env).toEqual(['A=1']);
    expect(sent.labels[rescheduleLabel]).toBe('["off"]');
    expect(listAll(containers)[0].reschedulePolicies).toEqual(['off']);
    await containers.create(spec({ name: 'off2', labels: { [rescheduleLabel]: '["off"]' }, constraints: ['zone==a'] }), false);
    expect(agents.engine(addresses[0]).creates[1].labels[rescheduleLabel]).toBe('["off"]');
  });

  it.each([
    ['the env', { env: ['reschedule:on-node-failure'] }, 'env[0]'],
    ['the label', { labels: { [rescheduleLabel]: '["on-node-failure"]' } }, `labels[${rescheduleLabel}][0]`],
  ])('refuses reschedule on-node-failure from %s with FAILED_PRECONDITION, creating and reserving nothing', async (_, fields, field) => {
    const { containers, agents, cluster } = setup();
    const err = await containers.create(spec({ name: 'resched', memoryBytes: String(GiB), ...fields }), true).then(
      () => Promise.reject(new Error('expected a failure')),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as FailedPreconditionError).reason).toBe('RESCHEDULE_NOT_SUPPORTED');
    expect((err as Error).message).toMatch(new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}: reschedule policy "on-node-failure" is not supported yet`));
    expect(everyCreate(agents)).toEqual([]);
    for (const a of addresses) expect(cluster.getEngine(a).reservations.size).toBe(0);
    // The name was never taken, and explain refuses the same way.
    expect(() => containers.explain(spec({ ...fields }))).toThrow(FailedPreconditionError);
    await expect(containers.create(spec({ name: 'resched' }), false)).resolves.toMatchObject({ name: 'resched' });
  });

  it('refuses an unknown or conflicting reschedule policy as INVALID_ARGUMENT', async () => {
    const { containers, agents } = setup();
    await expect(containers.create(spec({ env: ['reschedule:always'] }), false)).rejects.toThrow(InvalidArgumentError);
    await expect(containers.create(spec({ env: ['reschedule:off'], labels: { [rescheduleLabel]: '["on-node-failure"]' } }), false)).rejects.toThrow(/too many reschedule policies/);
    expect(everyCreate(agents)).toEqual([]);
  });

  it('refuses expressions whose label would be over a label value\'s limit', async () => {
    const { containers, agents } = setup();
    // 64 expressions of ~1 KiB, each within its own limit, with quotes to escape: over 64 KiB as JSON.
    const constraints = Array.from({ length: 64 }, (_, i) => `k${i}!=${'"'.repeat(1000)}`);
    await expect(containers.create(spec({ constraints }), false)).rejects.toThrow(/^spec\.labels\["com\.docker\.swarm\.constraints"\] "\d+ bytes": .*at most 65536$/);
    expect(everyCreate(agents)).toEqual([]);
  });
});

describe('node constraints in the cluster', () => {
  it.each([
    ['node==node-1', 'ID1'],
    ['node==ID2', 'ID2'],
    ['node==10.0.0.2:4250', 'ID1'],
    ['node==ID0|10.0.0.1:4250', 'ID0'],
    ['node==10.0.0.3', 'ID2'],
  ])('%s places on that engine', async (constraint, id) => {
    const { containers } = setup();
    expect((await containers.create(spec({ constraints: [constraint] }), false)).engine.id).toBe(id);
  });

  it('node!= with each form excludes that engine', async () => {
    const { containers } = setup();
    const excluded = ['node!=node-0', 'node!=ID1'];
    expect((await containers.create(spec({ constraints: excluded }), false)).engine.id).toBe('ID2');
    for (const last of ['node!=10.0.0.3:4250', 'node!=ID2|10.0.0.3:4250', 'node!=10.0.0.3', 'node!=/node-[0-2]/']) {
      expect(containers.explain(spec({ constraints: [...excluded, last] })).chosen).toBeUndefined();
    }
  });
});

describe('inspect', () => {
  it('adds the engine as classic Swarm\'s Node: ID, name, address, IP, CPUs, memory and labels', async () => {
    const { containers } = setup();
    await containers.create(spec({ name: 'seen', constraints: ['zone==b'] }), false);
    const answer = await containers.inspect('seen');
    expect(answer.node).toEqual({ id: 'ID1', name: 'node-1', address: addresses[1], ip: '10.0.0.2', cpus: '4', memoryBytes: String(16 * GiB), labels: { ostype: 'linux', zone: 'b' } });
    expect(answer.container.constraints).toEqual(['zone==b']);
  });
});
