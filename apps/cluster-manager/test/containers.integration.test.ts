import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { call, streamOf } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import { RegistryAuth } from '@flotilla/proto';
import { ContainerSpec, EngineStatus, PlacementExplanation, placementExplanationType, type ClusterServiceClient } from '@flotilla/proto/cluster';
import { bufCurlArgs, busyboxRootfsTar, cleanupAll, hostNetworkPolicy, freePort, repoRoot, startEngines, startTestRegistry, waitFor, type RunningService, type TestEngines, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { allContainers, allEngines, engineIn, EventRecorder, startAgentProcess, startManagerProcess, type ManagerProcess } from './support';

// Three real engines labelled zone=a, b, c, their agents and a manager, each a separate process.
let engines: TestEngines;
let manager: ManagerProcess;
const agents: RunningService[] = [];
const addresses: string[] = [];
const ids: string[] = [];
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

beforeAll(async () => {
  engines = await startEngines({ count: 3, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' }, 3: { zone: 'c' } } });
  for (const [i, engine] of engines.engines.entries()) {
    const port = await freePort();
    // Host networking for operators: the port tests publish host ports.
    agents[i] = await startAgentProcess(engine, port, ['--container-policy', hostNetworkPolicy()]);
    addresses[i] = `127.0.0.1:${port}`;
    ids[i] = await engines.docker(engine.name, ['info', '--format', '{{.ID}}']);
  }
  manager = await startManagerProcess(['--engine', addresses.join(','), '--create-retry', '2', '--container-policy', hostNetworkPolicy()]);
  for (const address of addresses) await engineIn(manager.client, address, EngineStatus.ENGINE_STATUS_HEALTHY);
});

afterAll(async () => {
  await manager?.close();
  await cleanupAll();
});

const m = (): ClusterServiceClient => manager.client;
const spec = (fields: Partial<ContainerSpec>): ContainerSpec => ContainerSpec.fromPartial({ image: 'busybox:local', command: ['sleep', '300'], networkMode: 'none', ...fields });
const create = (fields: Partial<ContainerSpec>, start = false) => call(m(), m().createContainer, { spec: spec(fields), start, requestId: '' });
const engineIndex = (id: string) => ids.indexOf(id);
/** Containers per engine, by engine index, as the manager sees them. */
async function perEngine(names: string[]): Promise<number[]> {
  const containers = await allContainers(m(), { all: true });
  const counts = [0, 0, 0];
  for (const c of containers) if (names.some((n) => c.container?.names.includes(n))) counts[engineIndex(c.engine!.id)]++;
  return counts;
}
/**
 * Memory sizes for the placement tests, from what the engines report (their memory with the manager's
 * overcommit, less what is reserved): a container size of which four fit on the smallest engine and a
 * fifth does not, and how many of those fit on each engine, by engine index. Engines report the
 * host's memory, so fixed sizes would hold on one machine only.
 */
async function memorySlots(): Promise<{ size: number; fit: number[] }> {
  const free = [0, 0, 0];
  for (const e of await allEngines(m())) free[engineIndex(e.id)] = Number(e.usableMemoryBytes) - Number(e.reservedMemoryBytes);
  // 4.5 rather than 4: four fit with room to spare, and never exactly, so rounding cannot decide the fifth.
  const size = Math.floor(Math.min(...free) / 4.5 / MiB) * MiB;
  expect(size).toBeGreaterThanOrEqual(64 * MiB);
  return { size, fit: free.map((f) => Math.floor(f / size)) };
}
/** Removes containers and waits until the manager has heard from their engines, so the next test starts clean. */
async function removeAll(names: string[]): Promise<void> {
  for (const name of names) await call(m(), m().removeContainer, { container: name, force: true, volumes: true });
  await waitFor(async () => (await perEngine(names)).every((n) => n === 0), { what: `the manager to see ${names.length} containers gone` });
}

it('spreads containers evenly across empty engines', async () => {
  const names = Array.from({ length: 6 }, (_, i) => `spread-${i}`);
  for (const name of names) await create({ name });
  expect(await perEngine(names)).toEqual([2, 2, 2]);
  await removeAll(names);
});

it('binpacks onto the fullest engine that fits before using another', async () => {
  // As many containers as fit on the engine the first one lands on, then one more: that one goes elsewhere.
  const { size, fit } = await memorySlots();
  const names: string[] = [];
  const placed: number[] = [];
  const place = async () => {
    const name = `binpack-${names.length}`;
    names.push(name);
    placed.push(engineIndex((await create({ name, memoryBytes: String(size), strategy: 'binpack' })).engine!.id));
  };
  await place();
  const first = fit[placed[0]];
  expect(first).toBeGreaterThanOrEqual(4);
  while (names.length <= first) await place();
  expect(new Set(placed.slice(0, first)).size).toBe(1);
  expect(placed[first]).not.toBe(placed[0]);
  await removeAll(names);
});

it('routes containers by constraint: typed fields, env entries and the classic label', async () => {
  const b = await create({ name: 'route-b', constraints: ['zone==b'] }, true);
  expect(b.engine?.id).toBe(ids[1]);
  expect(b.started).toBe(true);
  const c = await create({ name: 'route-c', env: ['constraint:zone==c', 'KEEP=1'] });
  expect(c.engine?.id).toBe(ids[2]);
  const inspected = JSON.parse((await call(m(), m().inspectContainer, { container: 'route-c' })).rawJson) as { Config: { Env: string[]; Labels: Record<string, string> } };
  expect(inspected.Config.Env).toContain('KEEP=1');
  expect(inspected.Config.Env.join(' ')).not.toContain('constraint:');
  expect(inspected.Config.Labels['com.docker.swarm.id']).toMatch(/^[0-9a-f]{64}$/);
  const a = await create({ name: 'route-a', labels: { 'com.docker.swarm.constraints': '["zone==/^A$/"]' } });
  expect(a.engine?.id).toBe(ids[0]);
  // The container is really on that engine.
  expect(await engines.docker('engine-2', ['inspect', '--format', '{{.Name}}', 'route-b'])).toBe('/route-b');
  await removeAll(['route-a', 'route-b', 'route-c']);
});

it('explains an impossible request per engine, as FAILED_PRECONDITION and as a dry run', async () => {
  const err = await failureOf(create({ name: 'impossible', constraints: ['zone==z'] }));
  expect(err.code).toBe(status.FAILED_PRECONDITION);
  expect(err.reason).toBe('NO_ENGINE_FITS');
  for (const address of addresses) expect(err.message).toContain(address);
  expect(err.message).toMatch(/zone==z does not hold: label zone is "a"/);
  const explanation = PlacementExplanation.decode(err.detail(placementExplanationType)!);
  expect(explanation.engines.map((e) => e.filter)).toEqual(['constraint', 'constraint', 'constraint']);
  const dry = await call(m(), m().explainPlacement, { spec: spec({ constraints: ['zone==~z', 'zone!=a'], memoryBytes: String(GiB) }) });
  expect(dry.explanation?.softDropped).toBe(true);
  expect([ids[1], ids[2]]).toContain(dry.chosen?.id);
  const verdicts = new Map(dry.explanation!.engines.map((e) => [e.engine!.id, e]));
  expect(verdicts.get(ids[0])).toMatchObject({ filter: 'constraint', chosen: false });
  expect(verdicts.get(dry.chosen!.id)).toMatchObject({ chosen: true, filter: '' });
  // Nothing was created by the dry run or the failure.
  expect(await perEngine(['impossible'])).toEqual([0, 0, 0]);
});

it('moves a second container with the same host port to another engine, then fails with the explanation', async () => {
  const names = ['port-1', 'port-2', 'port-3'];
  const placed = [];
  for (const name of names) {
    const created = await create({ name, networkMode: 'host', portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 18081 }] });
    placed.push(engineIndex(created.engine!.id));
  }
  expect(placed.sort()).toEqual([0, 1, 2]);
  const err = await failureOf(create({ name: 'port-4', networkMode: 'host', portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 18081 }] }));
  expect(err.code).toBe(status.FAILED_PRECONDITION);
  expect(err.message.match(/host port 18081\/tcp is already bound/g)).toHaveLength(3);
  await removeAll(names);
});

it('never double-books ports or memory under 50 concurrent creates', async () => {
  // 50 creates at once: pairs ask for the same host port, each asks for a size of which only fit[i]
  // (4 on the smallest engine) fit on engine i, far fewer than 50 in all.
  const { size, fit } = await memorySlots();
  const slots = fit.reduce((a, b) => a + b, 0);
  expect(slots).toBeLessThan(50);
  const requests = Array.from({ length: 50 }, (_, i) =>
    create({ name: `burst-${i}`, networkMode: 'host', memoryBytes: String(size), portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 19000 + Math.floor(i / 2) }] }).then(
      (r) => ({ ok: true as const, engine: engineIndex(r.engine!.id), port: 19000 + Math.floor(i / 2), name: `burst-${i}` }),
      (e: FlotillaError) => ({ ok: false as const, code: e.code }),
    ),
  );
  const results = await Promise.all(requests);
  const ok = results.filter((r) => r.ok);
  expect(ok).toHaveLength(slots);
  expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.code === status.FAILED_PRECONDITION)).toBe(true);
  const perEngineCount = [0, 0, 0];
  const bound = new Set<string>();
  for (const r of ok) {
    if (!r.ok) continue;
    perEngineCount[r.engine]++;
    const key = `${r.engine}:${r.port}`;
    expect(bound.has(key)).toBe(false);
    bound.add(key);
  }
  expect(perEngineCount).toEqual(fit);
  // What the manager reports agrees with the engines themselves.
  for (const e of await allEngines(m())) expect(Number(e.reservedMemoryBytes)).toBeLessThanOrEqual(Number(e.usableMemoryBytes));
  await removeAll(ok.map((r) => (r.ok ? r.name : '')));
});

it('retries a failed create on another engine (create-retry)', async () => {
  // Only engines b and c hold this image, and its registry is unreachable, so engine a fails.
  const image = '127.0.0.1:9/flotilla/only-bc:1';
  for (const name of ['engine-2', 'engine-3']) await engines.docker(name, ['tag', 'busybox:local', image]);
  const created = await create({ name: 'retried', image, constraints: ['zone==~a'] });
  expect([ids[1], ids[2]]).toContain(created.engine?.id);
  expect(created.retries).toHaveLength(1);
  expect(created.retries[0]).toContain(addresses[0]);
  expect(created.retries[0]).toMatch(/could not be pulled/);
  await removeAll(['retried']);
});

it('pulls a missing image on the chosen engine, or explains why it could not', async () => {
  const registry = await startTestRegistry([{ repository: 'flotilla/pulled', tag: '1', rootfsTar: busyboxRootfsTar() }]);
  try {
    const image = registry.reference('flotilla/pulled', '1');
    const seen = manager.process.totalLines;
    const events = new EventRecorder(m().watchEvents({ types: ['image'], engines: [ids[2]], containers: [] }));
    await manager.process.waitForLine(/event subscriber connected/, 30_000, seen);
    const created = await create({ name: 'pulled', image, command: ['sh', '-c', 'echo from-pulled-image'], constraints: ['zone==c'] }, true);
    expect(created.pulled).toBe(true);
    // The pull's progress was on the cluster's event stream, from that engine.
    const progress = await events.nextMatching((r) => r.event?.action === 'pull-progress' && r.event.docker?.actorId === image, 'pull progress events');
    expect(progress.event?.engine?.address).toBe(addresses[2]);
    events.cancel();
    expect(await engines.docker('engine-3', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(image);
    const err = await failureOf(create({ name: 'unpullable', image: '127.0.0.1:1/flotilla/none:1', constraints: ['zone==a'] }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.message).toMatch(/could not be pulled: .*connection refused/);
    await removeAll(['pulled']);
  } finally {
    await registry.close();
  }
});

it('pulls from a registry that wants credentials with the ones given, on every engine, and says so when they are wrong; never logs them', async () => {
  const password = 'pass-9f3c7e1d';
  const registry = await startTestRegistry(
    [
      { repository: 'private/app', tag: '1', rootfsTar: busyboxRootfsTar() },
      { repository: 'private/app', tag: '2', rootfsTar: busyboxRootfsTar(), cmd: ['echo', 'two'] },
    ],
    { auth: { username: 'alice', password } },
  );
  try {
    const image = registry.reference('private/app', '1');
    const pull = async (auth?: { username: string; password: string }) => {
      const ends: Array<{ address: string; error: string }> = [];
      for await (const r of streamOf(m().pullImage({ image, engines: [], auth: auth && RegistryAuth.fromPartial(auth) }))) if (r.done) ends.push({ address: r.engine!.address, error: r.error });
      return ends.sort((x, y) => x.address.localeCompare(y.address));
    };
    for (const ends of [await pull(), await pull({ username: 'alice', password: 'wrong' })]) {
      expect(ends.map((e) => e.address)).toEqual([...addresses].sort());
      for (const end of ends) expect(end.error).toMatch(/the registry refused the pull/);
    }
    const pulled = await pull({ username: 'alice', password });
    expect(pulled).toEqual([...addresses].sort().map((address) => ({ address, error: '' })));
    for (const engine of engines.engines) expect(await engines.docker(engine.name, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(image);

    // A create that pulls takes them too; without them it says why it could not.
    const second = registry.reference('private/app', '2');
    const refused = await failureOf(create({ name: 'private-refused', image: second, constraints: ['zone==a'] }));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.message).toMatch(/could not be pulled: the registry refused the pull/);
    const created = await call(m(), m().createContainer, { spec: spec({ name: 'private-2', image: second, constraints: ['zone==a'] }), start: false, requestId: '', registryAuth: RegistryAuth.fromPartial({ username: 'alice', password }) });
    expect(created.pulled).toBe(true);
    await removeAll(['private-2']);
    // Neither the manager nor an agent wrote the password anywhere in its log.
    for (const proc of [manager.process, ...agents.map((a) => a.process)]) expect(proc.lines.join('\n')).not.toContain(password);
  } finally {
    await registry.close();
  }
});

it('routes logs, stop, kill and remove to the container engine', async () => {
  await create({ name: 'ops', command: ['sh', '-c', 'echo hello-from-ops; sleep 300'], constraints: ['zone==b'] }, true);
  const text = await waitFor(async () => {
    let out = '';
    for await (const chunk of streamOf(m().containerLogs({ container: 'ops', follow: false, stdout: true, stderr: true, tail: 0, timestamps: false }))) out += Buffer.from(chunk.data).toString();
    return out.includes('hello-from-ops') ? out : undefined;
  }, { what: 'the container output through the manager' });
  expect(text).toContain('hello-from-ops');
  const listed = await allContainers(m(), { all: false, engines: [addresses[1]], names: ['ops'] });
  expect(listed.map((c) => c.engine?.id)).toEqual([ids[1]]);
  expect((await call(m(), m().stopContainer, { container: 'ops', timeoutSeconds: 0 })).engine?.id).toBe(ids[1]);
  expect(await engines.docker('engine-2', ['inspect', '--format', '{{.State.Running}}', 'ops'])).toBe('false');
  await call(m(), m().startContainer, { container: 'ops' });
  await call(m(), m().killContainer, { container: 'ops', signal: 'SIGKILL' });
  expect(await engines.docker('engine-2', ['inspect', '--format', '{{.State.Running}}', 'ops'])).toBe('false');
  await call(m(), m().removeContainer, { container: 'ops', force: false, volumes: false });
  await expect(engines.docker('engine-2', ['inspect', 'ops'])).rejects.toThrow(/No such/);
  expect((await failureOf(call(m(), m().stopContainer, { container: 'ops' }))).code).toBe(status.NOT_FOUND);
});

it('keeps names unique across the cluster', async () => {
  await create({ name: 'unique-name', constraints: ['zone==a'] });
  const err = await failureOf(create({ name: 'unique-name', constraints: ['zone==b'] }));
  expect(err.code).toBe(status.ALREADY_EXISTS);
  const bad = await failureOf(create({ name: 'bad name!' }));
  expect(bad.code).toBe(status.INVALID_ARGUMENT);
  expect(bad.message).toMatch(/^spec\.name "bad name!"/);
  const expr = await failureOf(create({ name: 'bad-expr', constraints: ['zone=b'] }));
  expect(expr.message).toMatch(/^constraints\[0\] "zone=b"/);
  await removeAll(['unique-name']);
});

it('marks containers on an unhealthy engine in the list', async () => {
  await create({ name: 'on-a', constraints: ['zone==a'] });
  agents[0].process.signal('SIGKILL');
  await engineIn(m(), addresses[0], EngineStatus.ENGINE_STATUS_UNHEALTHY);
  const containers = await allContainers(m(), { all: true, names: ['on-a'] });
  expect(containers[0].engineStatus).toBe(EngineStatus.ENGINE_STATUS_UNHEALTHY);
  expect((await failureOf(call(m(), m().startContainer, { container: 'on-a' }))).code).toBe(status.FAILED_PRECONDITION);
  agents[0] = await startAgentProcess(engines.engines[0], Number(addresses[0].split(':')[1]));
  await engineIn(m(), addresses[0], EngineStatus.ENGINE_STATUS_HEALTHY);
  await removeAll(['on-a']);
});

it('runs a container with constraint:zone==b through buf curl', async () => {
  const buf = path.join(repoRoot(), 'node_modules', '.bin', 'buf');
  const body = JSON.stringify({ spec: { name: 'curl-b', image: 'busybox:local', command: ['sleep', '60'], networkMode: 'none', env: ['constraint:zone==b'] }, start: true });
  const { stdout } = await promisify(execFile)(buf, bufCurlArgs('operator', manager.address, 'flotilla.cluster.v1.ClusterService/CreateContainer', ['-d', body]), { timeout: 60_000 });
  const created = JSON.parse(stdout) as { engine: { id: string }; started: boolean };
  expect(created.engine.id).toBe(ids[1]);
  expect(created.started).toBe(true);
  expect(await engines.docker('engine-2', ['inspect', '--format', '{{.State.Running}}', 'curl-b'])).toBe('true');
  await removeAll(['curl-b']);
});

it('a create retried with its request ID after the manager was killed mid-create answers with the container the first call made', async () => {
  // One create per engine at once: an agent may lose Docker events of operations that race on one
  // engine (their timestamps can come out of order), which this test is not about.
  const names = ['crash-a', 'crash-b', 'crash-c'];
  const createOnce = (name: string) => call(m(), m().createContainer, { spec: spec({ name, constraints: [`zone==${name.slice(-1)}`] }), start: true, requestId: `it-${name}` });
  /** Short IDs of the containers with a request ID, on the engines themselves. */
  const onEngines = async () => (await Promise.all(engines.engines.map((e) => engines.docker(e.name, ['ps', '-aq', '--filter', 'label=com.flotilla.request-id'])))).join('\n').split('\n').filter(Boolean).sort();
  // The manager is killed once Docker holds all three, their starts perhaps still under way.
  const creating = names.map((name) => createOnce(name).catch((err: unknown) => err));
  await waitFor(async () => (await onEngines()).length === names.length, { what: 'the three containers on the engines' });
  manager.process.signal('SIGKILL');
  await manager.process.exited;
  await Promise.all(creating);
  await manager.close();
  // A create whose manager died between create and start, as Docker holds it.
  const labels = ['--label', 'com.flotilla.request-id=it-crash-unstarted', '--label', 'com.flotilla.start-requested=true'];
  await engines.docker('engine-3', ['create', '--name', 'crash-unstarted', ...labels, '--network', 'none', 'busybox:local', 'sleep', '300']);
  names.push('crash-unstarted');
  const before = await onEngines();

  manager = await startManagerProcess(['--engine', addresses.join(','), '--create-retry', '2', '--container-policy', hostNetworkPolicy()]);
  for (const address of addresses) await engineIn(m(), address, EngineStatus.ENGINE_STATUS_HEALTHY);
  // An agent's snapshot is its view of Docker, which follows Docker's events: the retries come once it shows them all.
  const shown = async () => (await allContainers(m(), { all: true, labels: { 'com.flotilla.request-id': '*' } })).map((c) => c.container!.id.slice(0, 12)).sort();
  await waitFor(async () => JSON.stringify(await shown()) === JSON.stringify(before), { what: 'the restarted manager to show every container made before it' });
  // The same calls again: each answers with the container its first call made, started.
  const retried = await Promise.all(names.map(createOnce));
  for (const r of retried) expect({ name: r.name, found: r.foundByRequestId, started: r.started, before: before.includes(r.id.slice(0, 12)) }).toEqual({ name: r.name, found: true, started: true, before: true });
  expect(retried.map((r) => r.name)).toEqual(names);
  expect(await onEngines()).toEqual(before);
  await waitFor(async () => (await allContainers(m(), { all: false, names: ['crash-'] })).length === names.length, { what: 'the manager to show the four containers running' });
  expect(await engines.docker('engine-3', ['inspect', '--format', '{{.State.Running}}', 'crash-unstarted'])).toBe('true');
  await removeAll(names);
});
