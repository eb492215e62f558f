import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError } from '@flotilla/errors';
import { parsePolicy, type ContainerPolicy } from '@flotilla/policy';
import { ContainerSpec, PlacementExplanation, placementExplanationType } from '@flotilla/proto/cluster';
import { allFilters, Scheduler, spreadStrategy, strategyByName } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterContainers } from './cluster-containers';
import { engineSnapshot, FakeAgents } from './testing';

const GiB = 1024 ** 3;
const addresses = ['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250'];

async function setup(options: { createRetry?: number; strategy?: string; containerPolicy?: ContainerPolicy } = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, createRetry: options.createRetry ?? 0 });
  const scheduler = new Scheduler({ filters: allFilters, strategy: options.strategy ? strategyByName(options.strategy) : spreadStrategy, overcommitRatio: 0 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler, clock, settleTimeoutMs: 1000, containerPolicy: options.containerPolicy });
  addresses.forEach((address, i) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(`ID${i}`, { name: `node-${i}`, cpus: 4, memoryBytes: 16 * GiB, labels: { zone: 'abc'[i] } }));
  });
  return { clock, agents, cluster, containers };
}

const spec = (fields: Partial<ContainerSpec>) => ContainerSpec.fromPartial({ image: 'busybox:local', ...fields });
const hostNetworkForOperators = parsePolicy('{"roles": {"operator": {"hostNetwork": true}}}', '/etc/flotilla/policy.json', 'cluster-manager');

describe('ClusterContainers', () => {
  it('places, creates and routes by constraint', async () => {
    const { containers, agents } = await setup();
    const created = await containers.create(spec({ name: 'web', constraints: ['zone==b'], env: ['A=1', 'constraint:zone!=c'] }), true);
    expect(created).toMatchObject({ name: 'web', engine: { id: 'ID1', address: addresses[1] }, started: true, pulled: false });
    const sent = agents.engine(addresses[1]).creates[0];
    expect(sent.env).toEqual(['A=1']);
    expect(sent.labels['com.docker.swarm.id']).toMatch(/^[0-9a-f]{64}$/);
    expect(containers.find('web').engine.id).toBe('ID1');
    expect(containers.find(created.id.slice(0, 12)).container.id).toBe(created.id);
  });

  it('runs creates concurrently without double-booking memory or ports', async () => {
    const { containers, agents } = await setup({ containerPolicy: hostNetworkForOperators });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    for (const a of addresses) agents.engine(a).gate = gate;
    // 4 GiB each: 4 fit per engine. Every pair asks for the same host port.
    const results = Array.from({ length: 30 }, (_, i) =>
      containers.create(spec({ name: `c${i}`, memoryBytes: String(4 * GiB), networkMode: 'host', portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 9000 + (i >> 1) }] }), false, 'operator').then(
        (r) => ({ engine: r.engine.id, port: 9000 + (i >> 1) }),
        (e: Error) => e,
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // Every engine has several creates in flight at once: nothing waits on another's network call.
    expect(addresses.every((a) => agents.engine(a).maxInFlight > 1)).toBe(true);
    open();
    const settled = await Promise.all(results);
    const placed = settled.filter((r): r is { engine: string; port: number } => !(r instanceof Error));
    expect(placed).toHaveLength(12);
    expect(settled.filter((r) => r instanceof Error).every((e) => e instanceof FailedPreconditionError)).toBe(true);
    const keys = placed.map((p) => `${p.engine}:${p.port}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const id of ['ID0', 'ID1', 'ID2']) expect(placed.filter((p) => p.engine === id)).toHaveLength(4);
  });

  it('keeps names unique across the cluster, including containers being created', async () => {
    const { containers } = await setup();
    const [a, b] = await Promise.allSettled([containers.create(spec({ name: 'same' }), false), containers.create(spec({ name: 'same' }), false)]);
    expect(a.status).toBe('fulfilled');
    expect(b.status === 'rejected' && b.reason).toBeInstanceOf(AlreadyExistsError);
    await expect(containers.create(spec({ name: 'same' }), false)).rejects.toThrow(AlreadyExistsError);
  });

  it('frees a name when its container is removed or its engine leaves the cluster', async () => {
    const { containers, cluster } = await setup();
    await containers.create(spec({ name: 'web' }), false);
    await containers.remove('web', true, false);
    const again = await containers.create(spec({ name: 'web' }), false);
    await expect(containers.create(spec({ name: 'web' }), false)).rejects.toThrow(AlreadyExistsError);
    cluster.removeEngine(again.engine.address);
    expect((await containers.create(spec({ name: 'web' }), false)).engine.address).not.toBe(again.engine.address);
  });

  it('retries a create that failed without creating anything on another engine, and says where it failed', async () => {
    const { containers, agents } = await setup({ createRetry: 1 });
    agents.engine(addresses[0]).createFailures.push(new ResourceExhaustedError('the agent has too many creates in flight'));
    const created = await containers.create(spec({ name: 'retry', constraints: ['zone==~a'] }), false);
    expect(created.engine.id).not.toBe('ID0');
    expect(created.retries).toEqual([`${addresses[0]}: the agent has too many creates in flight`]);
  });

  it('does not retry without create-retry, and keeps nothing reserved after a failure', async () => {
    const { containers, agents, cluster } = await setup({ createRetry: 0 });
    agents.engine(addresses[0]).createFailures.push(new FailedPreconditionError('down'));
    await expect(containers.create(spec({ name: 'once', constraints: ['zone==a'], memoryBytes: String(GiB) }), false)).rejects.toThrow('down');
    const engine = cluster.getEngine(addresses[0]);
    expect(engine.reservedMemoryBytes).toBe(0);
    expect(engine.reservations.size).toBe(0);
  });

  it('pulls a missing image on the chosen engine, or explains why it could not', async () => {
    const { containers, agents } = await setup();
    const created = await containers.create(spec({ name: 'pulled', image: 'redis:7', constraints: ['zone==c'] }), false);
    expect(created.pulled).toBe(true);
    expect(agents.engine(addresses[2]).images.has('redis:7')).toBe(true);
    agents.engine(addresses[0]).pullFailure = new NotFoundError('manifest unknown');
    await expect(containers.create(spec({ name: 'nope', image: 'nope:1', constraints: ['zone==a'] }), false)).rejects.toThrow(/nope:1 is not on engine 10\.0\.0\.1:4250 and could not be pulled: manifest unknown/);
  });

  it('fails an impossible request with every engine explained, in the message and as details', async () => {
    const { containers } = await setup();
    const err = await containers.create(spec({ name: 'xx', constraints: ['zone==z'] }), false).then(
      () => Promise.reject(new Error('expected a failure')),
      (e: FailedPreconditionError) => e,
    );
    expect(err).toBeInstanceOf(FailedPreconditionError);
    for (const a of addresses) expect(err.message).toContain(a);
    const explanation = PlacementExplanation.decode(err.detail(placementExplanationType)!);
    expect(explanation.engines).toHaveLength(3);
    expect(explanation.engines.every((e) => e.filter === 'constraint' && !e.chosen)).toBe(true);
  });

  it('holds a created container reservation until its engine reports it, or a timeout', async () => {
    const { containers, agents, cluster, clock } = await setup();
    // The agent's stream is gone, so the engine never reports the container.
    const engine = cluster.getEngine(addresses[1]);
    agents.open(addresses[1])[0].close();
    const creating = containers.create(spec({ name: 'held', constraints: ['zone==b'], memoryBytes: String(GiB) }), false);
    // The create answers after the settle timeout, saying the engine has not shown the container.
    await clock.advance(1000);
    const created = await creating;
    expect(created.engine.id).toBe('ID1');
    expect(created.unsettled).toBe(true);
    expect(engine.reservedMemoryBytes).toBe(GiB);
    await clock.advance(60_000);
    expect(engine.reservedMemoryBytes).toBe(0);
  });

  it('rejects a bad spec naming the field', async () => {
    const { containers } = await setup();
    await expect(containers.create(spec({ image: '' }), false)).rejects.toThrow(/^spec\.image ""/);
    await expect(containers.create(spec({ name: 'a b' }), false)).rejects.toThrow(InvalidArgumentError);
    await expect(containers.create(spec({ memoryBytes: '-1' }), false)).rejects.toThrow(/^memory_bytes "-1"/);
    await expect(containers.create(spec({ env: ['constraint:zone=a'] }), false)).rejects.toThrow(/^env\[0\] "zone=a"/);
  });

  it('refuses host networking for an operator under the default policy, before placement, and in explain too', async () => {
    const { containers, agents } = await setup();
    const message =
      'networkMode "host": the cluster-manager\'s container policy (default: nothing of the host) does not allow host networking for role "operator" (allow it with "hostNetwork" in --container-policy)';
    await expect(containers.create(spec({ name: 'root', networkMode: 'host' }), true, 'operator')).rejects.toThrow(new PermissionDeniedError(message));
    expect(() => containers.explain(spec({ networkMode: 'host' }), 'operator')).toThrow(new PermissionDeniedError(message));
    expect(addresses.every((a) => agents.engine(a).creates.length === 0)).toBe(true);
    // No role at all is refused too, whatever the policy allows the roles.
    await expect(containers.create(spec({ networkMode: 'host' }), false)).rejects.toThrow(/for a caller without a role/);
  });

  it('creates with host networking under a policy that allows it, telling the agent whom it acts for', async () => {
    const { containers, agents } = await setup({ containerPolicy: hostNetworkForOperators });
    const created = await containers.create(spec({ name: 'hostnet', networkMode: 'host', constraints: ['zone==a'] }), false, 'operator');
    expect(created.engine.id).toBe('ID0');
    const engine = agents.engine(addresses[0]);
    expect(engine.creates[0].networkMode).toBe('host');
    expect(engine.actingRoles).toEqual(['operator']);
    expect(containers.explain(spec({ networkMode: 'host' }), 'operator').chosen).toBeDefined();
    await expect(containers.create(spec({ networkMode: 'host' }), false, 'reader')).rejects.toThrow(PermissionDeniedError);
  });

  it('forwards the host fields to the agent, and does not retry an agent\'s refusal elsewhere', async () => {
    const policy = parsePolicy('{"roles": {"operator": {"capabilities": ["NET_ADMIN"], "bindPaths": ["/srv/data"], "devices": ["/dev/fuse"]}}}', 'p.json');
    const { containers, agents } = await setup({ containerPolicy: policy, createRetry: 2 });
    const fields = { capAdd: ['NET_ADMIN'], devices: ['/dev/fuse'], binds: ['/srv/data/a:/a:ro', 'cache:/cache'], ipcMode: 'private', pidMode: 'container:web' };
    await containers.create(spec({ name: 'fields', constraints: ['zone==b'], ...fields }), false, 'operator');
    expect(agents.engine(addresses[1]).creates[0]).toMatchObject({ ...fields, privileged: false, utsMode: '' });
    agents.engine(addresses[2]).createFailures.push(new PermissionDeniedError('capAdd[0] "NET_ADMIN": the engine-agent\'s container policy ...'));
    await expect(containers.create(spec({ name: 'refused', constraints: ['zone==~c'], capAdd: ['NET_ADMIN'] }), false, 'operator')).rejects.toThrow(/engine-agent's container policy/);
    expect(agents.engine(addresses[0]).creates.concat(agents.engine(addresses[1]).creates).map((c) => c.name)).not.toContain('refused');
  });

  it('routes operations and lists across engines', async () => {
    const { containers } = await setup();
    await containers.create(spec({ name: 'a1', constraints: ['zone==a'] }), true);
    await containers.create(spec({ name: 'b1', constraints: ['zone==b'] }), false);
    expect((await containers.stop('a1', 0)).engine.id).toBe('ID0');
    expect(containers.list({ all: true, engines: [], states: [], labels: {}, names: [] }).map((c) => c.container!.names[0]).sort()).toEqual(['a1', 'b1']);
    expect(containers.list({ all: false, engines: [], states: [], labels: {}, names: [] })).toEqual([]);
    await containers.remove('b1', true, false);
    expect(() => containers.find('b1')).toThrow(NotFoundError);
  });

  it("shows containers on an engine that is down as 'Host Down', as classic Swarm did, and their own status again when it is back", async () => {
    const { containers, agents } = await setup();
    await containers.create(spec({ name: 'on-a', constraints: ['zone==a'] }), true);
    const shown = () => containers.list({ all: true, engines: [], states: [], labels: {}, names: ['on-a'] })[0];
    expect(shown().container!.status).not.toBe('Host Down');
    agents.end(addresses[0]);
    expect(shown()).toMatchObject({ container: { status: 'Host Down', names: ['on-a'] } });
    expect((await containers.inspect('on-a')).container.container!.status).toBe('Host Down');
    agents.comeBack(addresses[0]);
    await Promise.resolve();
    agents.snapshot(addresses[0], engineSnapshot('ID0', { name: 'node-0', cpus: 4, memoryBytes: 16 * GiB, labels: { zone: 'a' }, containers: [...agents.engine(addresses[0]).containers.values()] }));
    expect(shown().container!.status).not.toBe('Host Down');
  });
});
