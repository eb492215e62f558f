import { call, dial, fromServiceError } from '@flotilla/grpc';
import { ContainerSpec, ClusterServiceClient, type ClusterServiceClient as Client, type ContainerStatsResponse } from '@flotilla/proto/cluster';
import { cleanupAll, failureOf, StreamRecorder, testTls, waitFor } from '@flotilla/testing';
import { status, type ServiceError } from '@grpc/grpc-js';
import { EventRecorder, startRealCluster, type RealCluster } from './support';

// Pause, unpause, rename, update, wait, top and stats through the cluster API: two real engines, an agent
// process beside each and a manager process, as a client of the cluster sees them.
let cluster: RealCluster;
let reader: Client | undefined;

beforeAll(async () => {
  cluster = await startRealCluster({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } });
});

afterAll(async () => {
  reader?.close();
  await cluster?.manager.close();
  await cleanupAll();
});

const m = (): Client => cluster.manager.client;
/** Creates a container on engine 0 (zone a) or 1 (zone b) and starts it. */
async function run(name: string, engine: number, command = ['sleep', '300']): Promise<string> {
  const spec = ContainerSpec.fromPartial({ name, image: 'busybox:local', command, networkMode: 'none', constraints: [`zone==${'ab'[engine]}`] });
  const created = await call(m(), m().createContainer, { spec, start: true, requestId: '' });
  expect(created.engine?.id).toBe(cluster.ids[engine]);
  return created.id;
}
const stateOf = async (container: string) => (await call(m(), m().inspectContainer, { container })).container?.container?.state;
const remove = (container: string) => call(m(), m().removeContainer, { container, force: true, volumes: true });

it('pauses and unpauses a container, and refuses each in the wrong state naming the container and its state', async () => {
  await run('ops-pause', 0);
  const paused = await call(m(), m().pauseContainer, { container: 'ops-pause' });
  expect(paused).toMatchObject({ engine: { address: cluster.addresses[0] }, unsettled: false });
  expect(await stateOf('ops-pause')).toBe('paused');
  expect(await cluster.engines.docker('engine-1', ['inspect', '--format', '{{.State.Paused}}', 'ops-pause'])).toBe('true');

  const again = await failureOf(call(m(), m().pauseContainer, { container: 'ops-pause' }));
  expect(again.code).toBe(status.FAILED_PRECONDITION);
  expect(again.message).toContain('"ops-pause"');
  expect(again.message).toContain('paused');

  expect(await call(m(), m().unpauseContainer, { container: 'ops-pause' })).toMatchObject({ unsettled: false });
  expect(await stateOf('ops-pause')).toBe('running');
  const notPaused = await failureOf(call(m(), m().unpauseContainer, { container: 'ops-pause' }));
  expect(notPaused.code).toBe(status.FAILED_PRECONDITION);
  expect(notPaused.message).toMatch(/"ops-pause".*running/);
  await remove('ops-pause');
});

it('renames a container, finds it by its new name at once, and refuses a name another engine holds', async () => {
  const id = await run('ops-old', 0);
  await run('ops-taken', 1);
  const renamed = await call(m(), m().renameContainer, { container: 'ops-old', newName: 'ops-new' });
  expect(renamed).toMatchObject({ id, unsettled: false, engine: { address: cluster.addresses[0] } });
  // The manager answered only once its own view had the name: no wait needed here.
  expect((await call(m(), m().inspectContainer, { container: 'ops-new' })).container?.container?.id).toBe(id);
  expect((await failureOf(call(m(), m().inspectContainer, { container: 'ops-old' }))).code).toBe(status.NOT_FOUND);

  // The name is on the other engine: Docker there would not object, the cluster does.
  const taken = await failureOf(call(m(), m().renameContainer, { container: 'ops-new', newName: 'ops-taken' }));
  expect(taken.code).toBe(status.ALREADY_EXISTS);
  expect(taken.message).toContain('"ops-taken"');
  expect(await cluster.engines.docker('engine-1', ['inspect', '--format', '{{.Name}}', id])).toBe('/ops-new');
  await remove('ops-new');
  await remove('ops-taken');
});

it('answers the exit code of a container that exits, and waits for one that has not yet', async () => {
  const id = await run('ops-exit3', 1, ['sh', '-c', 'exit 3']);
  const waited = await call(m(), m().waitContainer, { container: id, condition: '' });
  expect(waited).toMatchObject({ exitCode: '3', error: '', engine: { address: cluster.addresses[1] } });
  // Again, once exited: answered at once with the same code.
  expect((await call(m(), m().waitContainer, { container: 'ops-exit3', condition: 'not-running' })).exitCode).toBe('3');
  await remove('ops-exit3');

  await run('ops-killed', 0);
  const pending = call(m(), m().waitContainer, { container: 'ops-killed', condition: 'not-running' }, { deadlineMs: 120_000 });
  await call(m(), m().killContainer, { container: 'ops-killed', signal: '' });
  expect((await pending).exitCode).toBe('137');
  await remove('ops-killed');
});

it('ends a wait at the caller deadline, on the engine too, and the manager stays healthy', async () => {
  await run('ops-sleeper', 0);
  const late = await failureOf(call(m(), m().waitContainer, { container: 'ops-sleeper', condition: '' }, { deadlineMs: 500 }));
  expect(late.code).toBe(status.DEADLINE_EXCEEDED);
  // The manager's call to the agent is cancelled with it (the agent's own test shows the signal
  // reaching Docker's request); the container is left as it was.
  expect(await stateOf('ops-sleeper')).toBe('running');
  const info = await call(m(), m().getInfo, {});
  expect(info.engineCounts).toBeDefined();
  // A later wait still works (not-running: answered whether it reaches Docker before the stop or after).
  const again = call(m(), m().waitContainer, { container: 'ops-sleeper', condition: '' }, { deadlineMs: 120_000 });
  await call(m(), m().stopContainer, { container: 'ops-sleeper', timeoutSeconds: 0 });
  expect((await again).exitCode).toBe('137');
  await remove('ops-sleeper');
});

it('lists the processes of a running container, with ps options, and refuses one that is not running', async () => {
  const id = await run('ops-top', 1);
  const top = await call(m(), m().topContainer, { container: 'ops-top', psArgs: '' });
  expect(top.titles).toEqual(expect.arrayContaining(['PID', 'CMD']));
  const cmd = top.titles.indexOf('CMD');
  expect(top.processes.map((p) => p.values[cmd])).toContainEqual(expect.stringContaining('sleep 300'));
  expect(top.engine?.address).toBe(cluster.addresses[1]);

  const custom = await call(m(), m().topContainer, { container: id.slice(0, 12), psArgs: '-o pid,comm' });
  expect(custom.titles).toEqual(['PID', 'COMMAND']);
  expect(custom.processes.map((p) => p.values[1])).toContain('sleep');

  await call(m(), m().stopContainer, { container: 'ops-top', timeoutSeconds: 0 });
  const stopped = await failureOf(call(m(), m().topContainer, { container: 'ops-top', psArgs: '' }));
  expect(stopped.code).toBe(status.FAILED_PRECONDITION);
  expect(stopped.message).toContain('"ops-top"');
  await remove('ops-top');
});

/** Every sample of one stats call, once the stream has ended. */
async function statsOf(client: Client, container: string): Promise<ContainerStatsResponse[]> {
  const recorder = new StreamRecorder<ContainerStatsResponse>(client.containerStats({ container, stream: false }));
  await waitFor(() => recorder.ended || recorder.error, { what: `the one-sample stats of ${container} to end` });
  if (recorder.error) throw fromServiceError(recorder.error as ServiceError);
  return recorder.items;
}

it('streams a container\'s resource use from its engine, memory moving as the container writes to its tmpfs', async () => {
  const mib = 1024 * 1024;
  const id = await run('ops-stats', 1, ['sh', '-c', 'sleep 2; dd if=/dev/zero of=/dev/shm/fill bs=1M count=32; sleep 300']);
  const recorder = new StreamRecorder<ContainerStatsResponse>(m().containerStats({ container: 'ops-stats', stream: true }));
  try {
    const first = await recorder.nextMatching((r) => r.stats?.read !== undefined, 'a first sample');
    expect(first.engine?.address).toBe(cluster.addresses[1]);
    expect(first.stats).toMatchObject({ containerId: id, name: 'ops-stats' });
    expect(Number(first.stats?.memoryLimitBytes)).toBeGreaterThan(0);
    expect(first.stats?.onlineCpus).toBeGreaterThan(0);
    expect(JSON.parse(first.stats!.rawJson)).toMatchObject({ id });
    const before = Number(first.stats?.memoryUsageBytes);
    // The dd writes 32 MiB into the container's memory-backed /dev/shm.
    const grown = await recorder.nextMatching((r) => Number(r.stats?.memoryUsageBytes) >= before + 24 * mib, 'a sample with 24 MiB more memory in use', 0, 60_000);
    expect(Number(grown.stats?.memoryPercent)).toBeGreaterThan(0);
    expect(recorder.ended).toBe(false);
  } finally {
    recorder.cancel();
  }
  // One sample, then the stream ends; a stopped container answers one sample of zeros.
  const [one, ...more] = await statsOf(m(), id.slice(0, 12));
  expect(more).toEqual([]);
  expect(Number(one.stats?.memoryUsageBytes)).toBeGreaterThanOrEqual(24 * mib);
  await call(m(), m().stopContainer, { container: 'ops-stats', timeoutSeconds: 0 });
  const [stopped] = await statsOf(m(), 'ops-stats');
  expect(stopped.stats).toMatchObject({ containerId: id, read: undefined, memoryUsageBytes: '0' });
  await remove('ops-stats');
});

it("updates a container's limits on its engine, and refuses a raise the engine has no room for", async () => {
  const mib = 1024 * 1024;
  const id = await run('ops-update', 0);
  const seen = cluster.manager.process.totalLines;
  const events = new EventRecorder(m().watchEvents({ types: ['container'], engines: [], containers: ['ops-update'] }));
  await cluster.manager.process.waitForLine(/event subscriber connected/, 30_000, seen);
  const updated = await call(m(), m().updateContainer, { container: 'ops-update', resources: { memoryBytes: String(64 * mib), pidsLimit: '100', restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } } });
  expect(updated).toMatchObject({ id, unsettled: false, engine: { address: cluster.addresses[0] } });
  expect(await cluster.engines.docker('engine-1', ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', id])).toBe(`${64 * mib} 100 on-failure:2`);
  // Answered once the stream showed it: the cluster already counts the new limit.
  expect((await call(m(), m().inspectContainer, { container: id })).container?.container?.memoryBytes).toBe(String(64 * mib));
  const event = await events.nextMatching((r) => r.event?.docker?.action === 'update', 'the update event');
  expect(event.event?.engine?.address).toBe(cluster.addresses[0]);
  events.cancel();

  const tooMuch = await failureOf(call(m(), m().updateContainer, { container: 'ops-update', resources: { memoryBytes: String(1024 * 1024 * mib) } }));
  expect(tooMuch.code).toBe(status.FAILED_PRECONDITION);
  expect(tooMuch.message).toMatch(/cannot take the update of container "ops-update".*needs \d+ MiB of memory; \d+ MiB of \d+ MiB free/);
  const nothing = await failureOf(call(m(), m().updateContainer, { container: 'ops-update', resources: {} }));
  expect({ code: nothing.code, field: nothing.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'resources' });
  const small = await failureOf(call(m(), m().updateContainer, { container: 'ops-update', resources: { memoryBytes: '1000' } }));
  expect({ code: small.code, field: small.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'resources.memory_bytes' });
  expect(await cluster.engines.docker('engine-1', ['inspect', '--format', '{{.HostConfig.Memory}}', id])).toBe(String(64 * mib));
  await remove('ops-update');
});

it('refuses bad input naming the field and the value', async () => {
  await run('ops-input', 0);
  const cases: Array<[Promise<unknown>, number, string, string]> = [
    [call(m(), m().renameContainer, { container: 'ops-input', newName: '-bad name' }), status.INVALID_ARGUMENT, 'new_name', '-bad name'],
    [call(m(), m().renameContainer, { container: 'ops-input', newName: '' }), status.INVALID_ARGUMENT, 'new_name', '""'],
    [call(m(), m().renameContainer, { container: 'ops-input', newName: 'ops-input' }), status.INVALID_ARGUMENT, 'new_name', 'ops-input'],
    [call(m(), m().topContainer, { container: 'ops-input', psArgs: '-ef; rm -rf /' }), status.INVALID_ARGUMENT, 'ps_args', '-ef; rm -rf /'],
    [call(m(), m().topContainer, { container: 'ops-input', psArgs: 'x'.repeat(300) }), status.INVALID_ARGUMENT, 'ps_args', '300 bytes'],
    [call(m(), m().waitContainer, { container: 'ops-input', condition: 'exited' }), status.INVALID_ARGUMENT, 'condition', 'exited'],
    [call(m(), m().pauseContainer, { container: '' }), status.INVALID_ARGUMENT, 'container', '""'],
    [call(m(), m().pauseContainer, { container: 'ops-no-such' }), status.NOT_FOUND, 'ops-no-such', 'ops-no-such'],
    [call(m(), m().renameContainer, { container: 'ops-no-such', newName: 'ops-fine' }), status.NOT_FOUND, 'ops-no-such', 'ops-no-such'],
    [call(m(), m().waitContainer, { container: 'ops-no-such', condition: '' }), status.NOT_FOUND, 'ops-no-such', 'ops-no-such'],
    [statsOf(m(), ''), status.INVALID_ARGUMENT, 'container', '""'],
    [statsOf(m(), 'ops-no-such'), status.NOT_FOUND, 'ops-no-such', 'ops-no-such'],
  ];
  for (const [attempt, code, field, value] of cases) {
    const err = await failureOf(attempt);
    expect({ code: err.code, field: err.message.includes(field), value: err.message.includes(value) }).toEqual({ code, field: true, value: true });
    if (code === status.INVALID_ARGUMENT) expect(err.violations[0]?.field).toBe(field);
  }
  // Refused before anything happened: the container is as it was.
  expect(await stateOf('ops-input')).toBe('running');
  await remove('ops-input');
});

it('lets a reader wait for, list the processes of and read the resource use of a container, and refuses it pause, unpause and rename', async () => {
  await run('ops-reader', 1);
  reader = dial(ClusterServiceClient, cluster.manager.address, { tls: testTls('reader'), defaultDeadlineMs: 20_000 });
  const r = reader;
  expect((await call(r, r.topContainer, { container: 'ops-reader', psArgs: '' })).processes.length).toBeGreaterThan(0);
  expect((await statsOf(r, 'ops-reader'))[0]?.stats?.name).toBe('ops-reader');
  for (const attempt of [
    call(r, r.pauseContainer, { container: 'ops-reader' }),
    call(r, r.unpauseContainer, { container: 'ops-reader' }),
    call(r, r.renameContainer, { container: 'ops-reader', newName: 'ops-reader-2' }),
  ]) {
    const err = await failureOf(attempt);
    expect({ code: err.code, message: err.message }).toMatchObject({ code: status.PERMISSION_DENIED, message: expect.stringContaining('role "reader"') });
  }
  const waiting = call(r, r.waitContainer, { container: 'ops-reader', condition: '' }, { deadlineMs: 120_000 });
  await call(m(), m().killContainer, { container: 'ops-reader', signal: '' });
  expect((await waiting).exitCode).toBe('137');
  expect(await stateOf('ops-reader')).not.toBe('running');
  await waitFor(async () => (await call(m(), m().inspectContainer, { container: 'ops-reader' })).container?.container?.names[0] === 'ops-reader', { what: 'the reader refusals to change nothing' });
  await remove('ops-reader');
});
