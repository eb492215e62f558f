import { call, dial, fromServiceError, streamOf } from '@flotilla/grpc';
import { AttachOptions, ExecOptions } from '@flotilla/proto';
import { ContainerSpec, ClusterServiceClient, type AttachContainerRequest, type AttachContainerResponse, type ClusterServiceClient as Client, type CopyFromContainerResponse, type CopyToContainerRequest, type ExecContainerRequest, type ExecContainerResponse, type ExecStarted } from '@flotilla/proto/cluster';
import { cleanupAll, failureOf, runExecCall, testTls, waitFor } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { EventRecorder, startRealCluster, type RealCluster } from './support';

// ExecContainer, AttachContainer and the copies through the cluster API: two real engines, an agent process beside each and a
// manager process, as a client of the cluster sees them.
let cluster: RealCluster;
let reader: Client | undefined;

beforeAll(async () => {
  cluster = await startRealCluster({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } });
  for (const [name, zone] of [['exec-a', 'a'], ['exec-b', 'b']]) {
    const spec = ContainerSpec.fromPartial({ name, image: 'busybox:local', command: ['sleep', '600'], networkMode: 'none', constraints: [`zone==${zone}`] });
    await call(m(), m().createContainer, { spec, start: true, requestId: '' });
  }
});

afterAll(async () => {
  reader?.close();
  await cluster?.manager.close();
  await cleanupAll();
});

const m = (): Client => cluster.manager.client;
const readerClient = (): Client => (reader ??= dial(ClusterServiceClient, cluster.manager.address, { tls: testTls('reader'), defaultDeadlineMs: 20_000 }));
const start = (container: string, options: Partial<ExecOptions>): ExecContainerRequest => ({ request: { $case: 'start', value: { container, options: ExecOptions.fromPartial(options) } } });
const stdin = (text: string): ExecContainerRequest => ({ request: { $case: 'stdin', value: Buffer.from(text) } });

it("runs a program on the container's engine: started names it, then the output apart, then the exit code, and Docker's exec events reach WatchEvents with the engine", async () => {
  const events = await new EventRecorder(m().watchEvents({ types: ['container'], engines: [], containers: ['exec-b'] })).live();
  const result = await runExecCall(m().execContainer(), [start('exec-b', { command: ['sh', '-c', 'echo out; echo err >&2; exit 4'] })]);
  const started = result.started as ExecStarted;
  expect(started.engine).toMatchObject({ id: cluster.ids[1], address: cluster.addresses[1] });
  expect(started.containerId).toBe(await cluster.engines.docker('engine-2', ['inspect', '--format', '{{.Id}}', 'exec-b']));
  expect(started.execId).toMatch(/^[0-9a-f]{64}$/);
  expect(result).toMatchObject({ stdout: Buffer.from('out\n'), stderr: Buffer.from('err\n'), exitCode: 4 });
  expect(result.order[0]).toBe('started');
  expect(result.order.at(-1)).toBe('exit');
  // The exec stays known to Docker for a while: inspected through the cluster, with its container only.
  const inspected = await call(m(), m().inspectExec, { container: 'exec-b', execId: started.execId });
  expect(inspected).toMatchObject({ exec: { execId: started.execId, containerId: started.containerId, running: false, exitCode: 4 }, engine: { address: cluster.addresses[1] } });
  expect(JSON.parse(inspected.rawJson)).toMatchObject({ ID: started.execId, ExitCode: 4 });
  expect((await failureOf(call(m(), m().inspectExec, { container: 'exec-a', execId: started.execId }))).code).toBe(status.NOT_FOUND);
  expect((await failureOf(call(m(), m().inspectExec, { container: 'exec-b', execId: ' ' }))).message).toMatch(/^exec_id " "/);
  const died = await events.nextMatching((r) => r.event?.action === 'exec_die', 'the exec_die event');
  expect(died.event).toMatchObject({ engine: { address: cluster.addresses[1] }, docker: { actorAttributes: expect.objectContaining({ execID: started.execId, exitCode: '4' }) } });
  events.cancel();
});

it('feeds stdin through the manager, and the half-close closes it; megabytes come back whole', async () => {
  const fed = await runExecCall(m().execContainer(), [start('exec-a', { command: ['sh', '-c', 'cat; echo " end"'], stdin: true }), stdin('through '), stdin('the manager')]);
  expect(fed.stdout.toString()).toBe('through the manager end\n');
  expect(fed.exitCode).toBe(0);
  const big = await runExecCall(m().execContainer(), [start('exec-a', { command: ['head', '-c', String(16 * 1024 * 1024), '/dev/zero'] })]);
  expect(big.stdout.length).toBe(16 * 1024 * 1024);
});

it("a cancelled call (Ctrl-C, a lost client) closes the exec's connection on the engine", async () => {
  // Docker closes the program's stdin when the exec's connection closes: cat then ends and the
  // program leaves a mark, so the cancel is seen to reach the engine.
  const exec = m().execContainer();
  exec.write(start('exec-a', { command: ['sh', '-c', 'echo ready; cat; echo gone > /tmp/cancelled'], stdin: true }));
  const reading = failureOf((async () => {
    for await (const { response } of streamOf<ExecContainerResponse>(exec)) if (response?.$case === 'stdout') exec.cancel();
  })());
  expect((await reading).code).toBe(status.CANCELLED);
  await waitFor(async () => (await cluster.engines.docker('engine-1', ['exec', 'exec-a', 'cat', '/tmp/cancelled']).catch(() => '')) === 'gone', { what: 'the program to see its stdin closed', timeoutMs: 60_000 });
});

it('answers bad streams INVALID_ARGUMENT naming the field, a stopped container FAILED_PRECONDITION, and a reader PERMISSION_DENIED', async () => {
  const failure = (...messages: ExecContainerRequest[]) => failureOf(runExecCall(m().execContainer(), messages));
  const noStart = await failure(stdin('hi'));
  expect(noStart.code).toBe(status.INVALID_ARGUMENT);
  expect(noStart.message).toMatch(/^start "stdin"/);
  expect((await failure(start('exec-a', { command: [] }))).message).toMatch(/^start\.options\.command /);
  expect((await failure(start('exec-a', { command: ['sleep', '30'] }), stdin('unwanted'))).message).toMatch(/^stdin .*without options\.stdin/);
  const resize = await failure(start('exec-a', { command: ['sleep', '30'] }), { request: { $case: 'resize', value: { rows: 40, columns: 120 } } });
  expect(resize.message).toMatch(/^resize "40x120".*without options\.tty/);
  const twice = await failure(start('exec-a', { command: ['sleep', '30'], stdin: true }), start('exec-a', { command: ['true'] }));
  expect(twice.message).toMatch(/^request "start"/);
  const long = await failure(start('exec-a', { command: ['echo', 'x'.repeat(200 * 1024)] }));
  expect(long.message).toMatch(/^start\.options\.command\[1\]/);
  expect((await failure(start('no-such-container', { command: ['true'] }))).code).toBe(status.NOT_FOUND);

  await call(m(), m().createContainer, { spec: ContainerSpec.fromPartial({ name: 'exec-stopped', image: 'busybox:local', command: ['true'], networkMode: 'none' }), start: false, requestId: '' });
  const stopped = await failure(start('exec-stopped', { command: ['true'] }));
  expect(stopped.code).toBe(status.FAILED_PRECONDITION);
  expect(stopped.message).toMatch(/^cannot run a program in container "exec-stopped" \([0-9a-f]{12}\): it is created/);

  const denied = await failureOf(runExecCall(readerClient().execContainer(), [start('exec-a', { command: ['true'] })]));
  expect(denied.code).toBe(status.PERMISSION_DENIED);
  // The cluster goes on serving.
  expect((await runExecCall(m().execContainer(), [start('exec-a', { command: ['echo', 'still here'] })])).stdout.toString()).toBe('still here\n');
});

describe('AttachContainer', () => {
  const attachStart = (container: string, options: Partial<AttachOptions>): AttachContainerRequest => ({ request: { $case: 'start', value: { container, options: AttachOptions.fromPartial(options) } } });

  it('docker run -i through the cluster: create, attach, start once attached, stdin in, all output and the exit code out', async () => {
    const spec = ContainerSpec.fromPartial({ name: 'attach-run', image: 'busybox:local', command: ['sh', '-c', 'echo before; cat; exit 6'], networkMode: 'none', openStdin: true, stdinOnce: true, constraints: ['zone==b'] });
    await call(m(), m().createContainer, { spec, start: false, requestId: '' });
    const attach = m().attachContainer();
    attach.write(attachStart('attach-run', { stdin: true }));
    const answers: AttachContainerResponse['response'][] = [];
    const reading = (async () => {
      for await (const { response } of streamOf<AttachContainerResponse>(attach)) answers.push(response);
    })();
    await waitFor(() => answers.some((a) => a?.$case === 'started'), { what: 'the attach to be connected' });
    expect(answers[0]).toMatchObject({ $case: 'started', value: { tty: false, engine: { address: cluster.addresses[1] } } });
    await call(m(), m().startContainer, { container: 'attach-run' });
    attach.write({ request: { $case: 'stdin', value: Buffer.from('through the cluster\n') } });
    attach.end();
    await reading;
    expect(Buffer.concat(answers.flatMap((a) => (a?.$case === 'stdout' ? [a.value] : []))).toString()).toBe('before\nthrough the cluster\n');
    expect(answers.at(-1)).toEqual({ $case: 'exit', value: { exitCode: 6 } });
  });

  it('answers bad attaches with the field or the reason', async () => {
    const failure = (...messages: AttachContainerRequest[]) => failureOf(runExecCall(m().attachContainer(), messages));
    const noStdin = await failure(attachStart('exec-a', { stdin: true }));
    expect(noStdin.code).toBe(status.FAILED_PRECONDITION);
    expect(noStdin.message).toMatch(/^cannot attach to container "exec-a".*without open_stdin/);
    const resize = await failure(attachStart('exec-a', { terminalSize: { rows: 0, columns: 80 } }));
    expect(resize.code).toBe(status.INVALID_ARGUMENT);
    expect(resize.message).toMatch(/^start\.options\.terminal_size\.rows 0/);
    expect((await failure(attachStart('no-such-container', {}))).code).toBe(status.NOT_FOUND);
    const denied = await failureOf(runExecCall(readerClient().attachContainer(), [attachStart('exec-a', {})]));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
  });
});

describe('copies (docker cp)', () => {
  it('names the engine, lets a reader stat but not copy, and refuses a copy without start or with an empty path', async () => {
    const stat = await call(m(), m().statContainerPath, { container: 'exec-a', path: '/etc/passwd' });
    expect(stat).toMatchObject({ stat: { name: 'passwd' }, engine: { address: cluster.addresses[0] } });
    expect((await call(readerClient(), readerClient().statContainerPath, { container: 'exec-a', path: '/etc' })).stat?.name).toBe('etc');
    const pieces: Buffer[] = [];
    for await (const { response } of streamOf<CopyFromContainerResponse>(m().copyFromContainer({ container: 'exec-a', path: '/etc/passwd' }))) {
      if (response?.$case === 'source') expect(response.value.engine?.address).toBe(cluster.addresses[0]);
      if (response?.$case === 'data') pieces.push(response.value);
    }
    expect(Buffer.concat(pieces).includes(Buffer.from('root:x:0:0'))).toBe(true);
    const denied = await failureOf((async () => {
      for await (const _ of streamOf(readerClient().copyFromContainer({ container: 'exec-a', path: '/etc/passwd' }))) continue;
    })());
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    const upload = (...messages: CopyToContainerRequest[]) =>
      failureOf(
        new Promise<void>((resolve, reject) => {
          const c = m().copyToContainer((err) => (err ? reject(fromServiceError(err)) : resolve()));
          for (const message of messages) c.write(message);
          c.end();
        }),
      );
    expect((await upload({ request: { $case: 'data', value: Buffer.from('x') } })).message).toMatch(/^start "data"/);
    expect((await upload({ request: { $case: 'start', value: { container: 'exec-a', path: '', noOverwriteDirNonDir: false } } })).message).toMatch(/^start\.path "": a path in the container is required/);
    expect((await failureOf(call(m(), m().statContainerPath, { container: 'exec-a', path: '/nope' }))).message).toMatch(/^no such file or directory in container [0-9a-f]{12}: \/nope/);
  });
});
