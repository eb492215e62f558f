import { call } from '@flotilla/grpc';
import { cleanupAll, failureOf, startEngines, type TestEngines } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { DockerodeBackend } from '../src/docker/dockerode-backend';
import { startAgentProcess, WatchRecorder, type AgentProcess } from './support';

// Pause, unpause, rename, wait, top and the image operations on one real Docker engine through one agent process.
let engines: TestEngines;
let agent: AgentProcess;
const docker = (...args: string[]) => engines.docker('engine-1', args);
const sleeper = (name: string) => docker('run', '-d', '--network', 'none', '--name', name, 'busybox:local', 'sleep', '300');

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgentProcess(engines.engines[0]);
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
});

const a = () => agent.client;

it('pauses and unpauses, streams both, and refuses each in the wrong state', async () => {
  const id = await sleeper('agent-pause');
  const watch = new WatchRecorder(a().watch({ heartbeatIntervalMs: 0 }));
  await watch.next('snapshot');
  await call(a(), a().pauseContainer, { id: 'agent-pause' });
  expect((await watch.next('container', (d) => d.event?.action === 'pause' && d.container?.id === id)).container?.state).toBe('paused');
  expect(await docker('inspect', '--format', '{{.State.Status}}', id)).toBe('paused');
  const again = await failureOf(call(a(), a().pauseContainer, { id }));
  expect(again.code).toBe(status.FAILED_PRECONDITION);
  expect(again.message).toMatch(/already paused/);

  await call(a(), a().unpauseContainer, { id });
  expect((await watch.next('container', (d) => d.event?.action === 'unpause' && d.container?.id === id)).container?.state).toBe('running');
  expect((await failureOf(call(a(), a().unpauseContainer, { id }))).code).toBe(status.FAILED_PRECONDITION);
  watch.cancel();
  await docker('rm', '-f', id);
});

it('renames, streams the new name, and refuses a taken or malformed one', async () => {
  const id = await sleeper('agent-old');
  await sleeper('agent-taken');
  const watch = new WatchRecorder(a().watch({ heartbeatIntervalMs: 0 }));
  await watch.next('snapshot');
  await call(a(), a().renameContainer, { id, newName: 'agent-new' });
  expect((await watch.next('container', (d) => d.event?.action === 'rename' && d.container?.id === id)).container?.names).toEqual(['agent-new']);
  expect(await docker('inspect', '--format', '{{.Name}}', id)).toBe('/agent-new');
  watch.cancel();

  expect((await failureOf(call(a(), a().renameContainer, { id, newName: 'agent-taken' }))).code).toBe(status.ALREADY_EXISTS);
  const bad = await failureOf(call(a(), a().renameContainer, { id, newName: 'bad name!' }));
  expect({ code: bad.code, field: bad.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'new_name' });
  expect((await failureOf(call(a(), a().renameContainer, { id: 'agent-no-such', newName: 'agent-x' }))).code).toBe(status.NOT_FOUND);
  await docker('rm', '-f', id, 'agent-taken');
});

it('waits for the exit code, by condition', async () => {
  const id = await docker('run', '-d', '--network', 'none', '--name', 'agent-exit', 'busybox:local', 'sh', '-c', 'exit 3');
  expect(await call(a(), a().waitContainer, { id, condition: '' })).toEqual({ exitCode: '3', error: '' });
  // The other conditions reach Docker: on an exited container, neither answers at once as
  // not-running does (the next exit, or the removal, is yet to come).
  for (const condition of ['next-exit', 'removed']) {
    expect((await failureOf(call(a(), a().waitContainer, { id, condition }, { deadlineMs: 300 }))).code).toBe(status.DEADLINE_EXCEEDED);
  }
  await docker('rm', id);
  const bad = await failureOf(call(a(), a().waitContainer, { id: 'x', condition: 'exited' }));
  expect({ code: bad.code, field: bad.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'condition' });
});

it('ends a wait when its caller gives up: the call on the agent, and the request to Docker', async () => {
  const id = await sleeper('agent-waiting');
  // Through the agent: the caller's deadline ends the call, and the agent keeps serving.
  const late = await failureOf(call(a(), a().waitContainer, { id, condition: '' }, { deadlineMs: 300 }));
  expect(late.code).toBe(status.DEADLINE_EXCEEDED);
  // The back end the agent runs, on the same engine: an aborted signal ends dockerode's request
  // at once, though the container runs on (without it, this would wait for the container).
  const backend = new DockerodeBackend(engines.engines[0].dockerHost);
  await backend.connect();
  const controller = new AbortController();
  const waiting = backend.waitContainer(id, 'not-running', controller.signal).then(
    () => 'answered',
    () => 'ended',
  );
  controller.abort();
  expect(await waiting).toBe('ended');
  expect(await docker('inspect', '--format', '{{.State.Running}}', id)).toBe('true');
  // A wait that is let be answers once the container stops.
  const answered = call(a(), a().waitContainer, { id, condition: '' }, { deadlineMs: 120_000 });
  await docker('stop', '-t', '0', id);
  expect((await answered).exitCode).toBe('137');
  await docker('rm', '-f', id);
});

it('lists processes, with ps options, and refuses a stopped container and unsafe options', async () => {
  const id = await sleeper('agent-top');
  const top = await call(a(), a().topContainer, { id, psArgs: '' });
  const cmd = top.titles.indexOf('CMD');
  expect(cmd).toBeGreaterThanOrEqual(0);
  expect(top.processes.map((p) => p.values[cmd])).toContainEqual(expect.stringContaining('sleep 300'));
  const custom = await call(a(), a().topContainer, { id, psArgs: '-o pid,comm' });
  expect(custom.titles).toEqual(['PID', 'COMMAND']);
  const unsafe = await failureOf(call(a(), a().topContainer, { id, psArgs: 'aux; id' }));
  expect({ code: unsafe.code, field: unsafe.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'ps_args' });
  await docker('stop', '-t', '0', id);
  expect((await failureOf(call(a(), a().topContainer, { id, psArgs: '' }))).code).toBe(status.FAILED_PRECONDITION);
  await docker('rm', '-f', id);
});

it('inspects, tags and removes images, streams each change, and refuses malformed references before Docker', async () => {
  const id = await docker('image', 'inspect', '--format', '{{.Id}}', 'busybox:local');
  const inspected = await call(a(), a().inspectImage, { image: id.slice(7, 19) });
  expect(inspected.image).toMatchObject({ id, repoTags: ['busybox:local'] });
  expect(inspected.image?.created).toBeInstanceOf(Date);
  expect(JSON.parse(inspected.rawJson)).toMatchObject({ Id: id });

  const watch = new WatchRecorder(a().watch({ heartbeatIntervalMs: 0 }));
  await watch.next('snapshot');
  await call(a(), a().tagImage, { image: 'busybox:local', tag: 'agent-test/base:2' });
  expect((await watch.next('image', (d) => d.event?.action === 'tag' && (d.image?.repoTags ?? []).includes('agent-test/base:2'))).image?.id).toBe(id);
  const removed = await call(a(), a().removeImage, { image: 'agent-test/base:2', force: false, noPrune: false });
  expect(removed).toEqual({ untagged: ['agent-test/base:2'], deleted: [] });
  expect((await watch.next('image', (d) => d.event?.action === 'untag' && !(d.image?.repoTags ?? []).includes('agent-test/base:2'))).image?.repoTags).toEqual(['busybox:local']);
  watch.cancel();

  // A container uses the image: Docker's refusal is FAILED_PRECONDITION, and the image stays.
  await docker('create', '--network', 'none', '--name', 'agent-image-user', 'busybox:local', 'true');
  expect((await failureOf(call(a(), a().removeImage, { image: id, force: false, noPrune: false }))).code).toBe(status.FAILED_PRECONDITION);
  await docker('rm', 'agent-image-user');
  expect((await failureOf(call(a(), a().removeImage, { image: 'agent-test/none:1', force: false, noPrune: false }))).code).toBe(status.NOT_FOUND);

  for (const [attempt, field] of [
    [call(a(), a().inspectImage, { image: '../../containers/json' }), 'image'],
    [call(a(), a().removeImage, { image: 'busybox:local?force=1', force: false, noPrune: false }), 'image'],
    [call(a(), a().tagImage, { image: 'busybox:local', tag: 'UPPER' }), 'tag'],
  ] as const) {
    const err = await failureOf(attempt);
    expect({ code: err.code, field: err.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field });
  }
  expect(await docker('images', '--format', '{{.Repository}}:{{.Tag}}')).toBe('busybox:local');
});

it('updates limits and the restart policy, streams the change, and refuses bad values naming the field', async () => {
  const mib = 1024 * 1024;
  const id = await sleeper('agent-update');
  const watch = new WatchRecorder(a().watch({ heartbeatIntervalMs: 0 }));
  await watch.next('snapshot');
  const answer = await call(a(), a().updateContainer, { id, resources: { memoryBytes: String(32 * mib), nanoCpus: '500000000', restartPolicy: { name: 'always', maximumRetryCount: 0 } } });
  expect(answer.warnings).toEqual(expect.any(Array));
  const seen = await watch.next('container', (d) => d.event?.action === 'update' && d.container?.id === id);
  expect(seen.container).toMatchObject({ memoryBytes: String(32 * mib), nanoCpus: '500000000', restartPolicy: 'always' });
  watch.cancel();
  expect(await docker('inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}', id)).toBe(`${32 * mib} 500000000 always`);

  for (const [resources, field] of [
    [{}, 'resources'],
    [{ memoryBytes: '1000' }, 'resources.memory_bytes'],
    [{ cpusetCpus: '0;1' }, 'resources.cpuset_cpus'],
    [{ restartPolicy: { name: 'sometimes', maximumRetryCount: 0 } }, 'resources.restart_policy.name'],
  ] as const) {
    const err = await failureOf(call(a(), a().updateContainer, { id, resources }));
    expect({ code: err.code, field: err.violations[0]?.field }).toEqual({ code: status.INVALID_ARGUMENT, field });
  }
  expect((await failureOf(call(a(), a().updateContainer, { id: 'agent-no-such', resources: { pidsLimit: '10' } }))).code).toBe(status.NOT_FOUND);
  await docker('rm', '-f', id);
});
