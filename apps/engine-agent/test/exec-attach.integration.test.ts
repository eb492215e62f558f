import { call, fromServiceError, streamOf } from '@flotilla/grpc';
import { AttachOptions, ExecOptions } from '@flotilla/proto';
import { CreateContainerRequest, type AttachContainerRequest, type AttachContainerResponse, type CopyFromContainerResponse, type ExecContainerRequest, type ExecContainerResponse } from '@flotilla/proto/agent';
import { cleanupAll, failureOf, runExecCall, startEngines, waitFor, type TestEngines } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { startAgentProcess, type AgentProcess } from './support';

// ExecContainer, AttachContainer and the copies on one real Docker engine through one agent process; every container has its own name.
let engines: TestEngines;
let agent: AgentProcess;
let running = '';
const docker = (...args: string[]) => engines.docker('engine-1', args);

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgentProcess(engines.engines[0]);
  running = await docker('run', '-d', '--network', 'none', '--name', 'exec-target', 'busybox:local', 'sleep', '600');
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
});

/** Runs one exec: the start, then `input`, then the half-close; answers what came back. */
async function exec(id: string, options: Partial<ExecOptions>, input: ExecContainerRequest['request'][] = []) {
  const messages: ExecContainerRequest[] = [{ request: { $case: 'start', value: { id, options: ExecOptions.fromPartial(options) } } }, ...input.map((request) => ({ request }))];
  const result = await runExecCall(agent.client.execContainer(), messages);
  return { ...result, execId: (result.started as { execId: string }).execId };
}

const stdin = (text: string | Buffer) => ({ $case: 'stdin' as const, value: Buffer.from(text) });

it('runs a program: started, its stdout and stderr apart, and its exit code last', async () => {
  const result = await exec(running, { command: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  expect(result.execId).toMatch(/^[0-9a-f]{64}$/);
  expect(result.stdout.toString()).toBe('out\n');
  expect(result.stderr.toString()).toBe('err\n');
  expect(result.exitCode).toBe(3);
  expect(result.order[0]).toBe('started');
  expect(result.order.at(-1)).toBe('exit');
  // Env, user and working directory reach the program.
  const shaped = await exec(running, { command: ['sh', '-c', 'echo "$GREETING $(id -u) $(pwd)"'], env: ['GREETING=hello'], user: '1234', workingDir: '/tmp' });
  expect(shaped.stdout.toString()).toBe('hello 1234 /tmp\n');
});

it('feeds stdin as it comes, and the half-close closes it', async () => {
  const result = await exec(running, { command: ['sh', '-c', 'cat; echo end'], stdin: true }, [stdin('one '), stdin('two '), stdin('three')]);
  expect(result.stdout.toString()).toBe('one two threeend\n');
  expect(result.exitCode).toBe(0);
});

it('gives a program with a TTY one stream and the terminal size asked', async () => {
  // Docker 20.10 (API 1.41) takes the size only once the program runs: the program waits for it (60 s at most).
  const waitForSize = 'i=0; while [ "$(stty size 2>/dev/null)" != "33 101" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; stty size; echo err >&2';
  const result = await exec(running, { command: ['sh', '-c', waitForSize], tty: true, terminalSize: { rows: 33, columns: 101 } });
  expect(result.stdout.toString()).toMatch(/^33 101\r\nerr\r\n$/);
  expect(result.stderr.length).toBe(0);
  expect(result.exitCode).toBe(0);
});

it('moves megabytes both ways, all of them', async () => {
  const out = await exec(running, { command: ['head', '-c', String(16 * 1024 * 1024), '/dev/zero'] });
  expect(out.stdout.length).toBe(16 * 1024 * 1024);
  const chunk = Buffer.alloc(512 * 1024, 'x');
  const counted = await exec(running, { command: ['wc', '-c'], stdin: true }, Array.from({ length: 16 }, () => stdin(chunk)));
  expect(counted.stdout.toString().trim()).toBe(String(16 * chunk.length));
});

it('answers the program not found as Docker does, with its exit code', async () => {
  const result = await exec(running, { command: ['no-such-program'] });
  expect(result.exitCode).toBeGreaterThanOrEqual(126);
  expect(result.stdout.toString()).toMatch(/no-such-program/);
});

it('refuses bad streams with INVALID_ARGUMENT naming the field, a stopped container with FAILED_PRECONDITION, an unknown one with NOT_FOUND', async () => {
  const run = async (first: ExecContainerRequest['request'], ...rest: ExecContainerRequest['request'][]) => {
    const call = agent.client.execContainer();
    call.write({ request: first });
    for (const request of rest) call.write({ request });
    call.end();
    return failureOf((async () => {
      for await (const _ of streamOf(call)) continue;
    })());
  };
  const noStart = await run(stdin('hi'));
  expect(noStart.code).toBe(status.INVALID_ARGUMENT);
  expect(noStart.message).toMatch(/^start /);
  const noCommand = await run({ $case: 'start', value: { id: running, options: ExecOptions.fromPartial({ command: [] }) } });
  expect(noCommand.message).toMatch(/^start\.options\.command /);
  const badEnv = await run({ $case: 'start', value: { id: running, options: ExecOptions.fromPartial({ command: ['true'], env: ['NOEQUALS'] }) } });
  expect(badEnv.message).toMatch(/^start\.options\.env\[0\] "NOEQUALS"/);
  const sizeWithoutTty = await run({ $case: 'start', value: { id: running, options: ExecOptions.fromPartial({ command: ['true'], terminalSize: { rows: 10, columns: 10 } }) } });
  expect(sizeWithoutTty.message).toMatch(/^start\.options\.terminal_size /);
  const unread = await run({ $case: 'start', value: { id: running, options: ExecOptions.fromPartial({ command: ['sleep', '30'] }) } }, stdin('not wanted'));
  expect(unread.code).toBe(status.INVALID_ARGUMENT);
  expect(unread.message).toMatch(/^stdin .*without options\.stdin/);
  const badResize = await run({ $case: 'start', value: { id: running, options: ExecOptions.fromPartial({ command: ['sleep', '30'], tty: true }) } }, { $case: 'resize', value: { rows: 0, columns: 80 } });
  expect(badResize.message).toMatch(/^resize\.rows 0/);

  const stopped = await docker('create', '--network', 'none', '--name', 'exec-stopped', 'busybox:local', 'true');
  const notRunning = await run({ $case: 'start', value: { id: stopped, options: ExecOptions.fromPartial({ command: ['true'] }) } });
  expect(notRunning.code).toBe(status.FAILED_PRECONDITION);
  const unknown = await run({ $case: 'start', value: { id: 'no-such-container', options: ExecOptions.fromPartial({ command: ['true'] }) } });
  expect(unknown.code).toBe(status.NOT_FOUND);
  // The agent goes on serving.
  expect((await exec(running, { command: ['echo', 'still here'] })).stdout.toString()).toBe('still here\n');
});

it('ends the exec connection when the caller cancels, and goes on serving', async () => {
  const call = agent.client.execContainer();
  call.write({ request: { $case: 'start', value: { id: running, options: ExecOptions.fromPartial({ command: ['sh', '-c', 'echo ready; exec sleep 600'], stdin: true }) } } });
  const seen: string[] = [];
  const ended = failureOf((async () => {
    for await (const { response } of streamOf<ExecContainerResponse>(call)) {
      if (response?.$case === 'stdout') {
        seen.push(response.value.toString());
        call.cancel();
      }
    }
  })());
  expect((await ended).code).toBe(status.CANCELLED);
  expect(seen.join('')).toBe('ready\n');
  await agent.process.waitForLine(/"msg":"exec started"/, 30_000);
  expect((await exec(running, { command: ['echo', 'after'] })).stdout.toString()).toBe('after\n');
});

describe('AttachContainer', () => {
  const attachStart = (id: string, options: Partial<AttachOptions>): AttachContainerRequest => ({ request: { $case: 'start', value: { id, options: AttachOptions.fromPartial(options) } } });

  it('attached before the start, sees all the output, feeds stdin (StdinOnce: the half-close closes it), and answers the exit code', async () => {
    // Made by the agent, as the manager makes it for docker run -i: open stdin, closed by the first attach's end.
    const { id } = await call(agent.client, agent.client.createContainer, CreateContainerRequest.fromPartial({ name: 'attach-first', image: 'busybox:local', command: ['sh', '-c', 'echo before; cat; echo after >&2; exit 5'], networkMode: 'none', openStdin: true, stdinOnce: true }));
    const attach = agent.client.attachContainer();
    attach.write(attachStart(id, { stdin: true }));
    const answers: AttachContainerResponse['response'][] = [];
    const reading = (async () => {
      for await (const { response } of streamOf<AttachContainerResponse>(attach)) answers.push(response);
    })();
    await waitFor(() => answers.some((a) => a?.$case === 'started'), { what: 'the attach to be connected' });
    expect(answers[0]).toEqual({ $case: 'started', value: { tty: false } });
    await docker('start', id);
    attach.write({ request: { $case: 'stdin', value: Buffer.from('fed in\n') } });
    await waitFor(() => Buffer.concat(answers.flatMap((a) => (a?.$case === 'stdout' ? [a.value] : []))).toString() === 'before\nfed in\n', { what: 'the fed line echoed' });
    attach.end();
    await reading;
    expect(answers.flatMap((a) => (a?.$case === 'stderr' ? [a.value.toString()] : []))).toEqual(['after\n']);
    expect(answers.at(-1)).toEqual({ $case: 'exit', value: { exitCode: 5 } });
  });

  it('refuses stdin on a container made without -i, a resize without a TTY, and a paused container', async () => {
    const id = await docker('run', '-d', '--network', 'none', '--name', 'attach-plain', 'busybox:local', 'sleep', '600');
    const run = (...messages: AttachContainerRequest[]) => failureOf(runExecCall(agent.client.attachContainer(), messages));
    const noStdin = await run(attachStart(id, { stdin: true }));
    expect(noStdin.code).toBe(status.FAILED_PRECONDITION);
    expect(noStdin.message).toMatch(/without open_stdin/);
    const resize = await run(attachStart(id, {}), { request: { $case: 'resize', value: { rows: 10, columns: 10 } } });
    expect(resize.code).toBe(status.INVALID_ARGUMENT);
    expect(resize.message).toMatch(/^resize "10x10": the container has no TTY/);
    await docker('pause', id);
    const paused = await run(attachStart(id, {}));
    expect(paused.code).toBe(status.FAILED_PRECONDITION);
    expect(paused.message).toMatch(/paused/);
    await docker('unpause', id);
  });
});

describe('copies (docker cp)', () => {
  it('archives a path out, extracts an archive in, and tells a missing path from a missing container', async () => {
    const id = await docker('run', '-d', '--network', 'none', '--name', 'copy-target', 'busybox:local', 'sh', '-c', 'mkdir -p /data/sub && echo hello > /data/sub/greeting && sleep 600');
    await waitFor(async () => (await docker('exec', id, 'cat', '/data/sub/greeting').catch(() => '')) === 'hello', { what: 'the file in the container' });
    const { stat } = await call(agent.client, agent.client.statContainerPath, { id, path: '/data' });
    expect(stat).toMatchObject({ name: 'data', linkTarget: '' });
    expect((stat!.mode & 0x80000000) >>> 0).toBe(0x80000000);
    expect(stat!.modified).toBeInstanceOf(Date);

    // Out: the stat, then a tar archive whose entries are data/, data/sub/, data/sub/greeting.
    const pieces: Buffer[] = [];
    let first: unknown;
    for await (const { response } of streamOf<CopyFromContainerResponse>(agent.client.copyFromContainer({ id, path: '/data' }))) {
      if (response?.$case === 'stat') first ??= response.value;
      if (response?.$case === 'data') pieces.push(response.value);
    }
    expect(first).toMatchObject({ name: 'data' });
    const archive = Buffer.concat(pieces);
    expect(archive.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '')).toBe('data/');
    expect(archive.includes(Buffer.from('hello\n'))).toBe(true);

    // In: the same archive, extracted into /tmp, sent in small pieces.
    const upload = new Promise<void>((resolve, reject) => {
      const call = agent.client.copyToContainer((err) => (err ? reject(err) : resolve()));
      call.write({ request: { $case: 'start', value: { id, path: '/tmp', noOverwriteDirNonDir: false } } });
      for (let at = 0; at < archive.length; at += 700) call.write({ request: { $case: 'data', value: archive.subarray(at, at + 700) } });
      call.end();
    });
    await upload;
    expect(await docker('exec', id, 'cat', '/tmp/data/sub/greeting')).toBe('hello');

    const missingPath = await failureOf(call(agent.client, agent.client.statContainerPath, { id, path: '/nope' }));
    expect(missingPath.code).toBe(status.NOT_FOUND);
    expect(missingPath.message).toBe(`no such file or directory in container ${id.slice(0, 12)}: /nope`);
    const missingContainer = await failureOf(call(agent.client, agent.client.statContainerPath, { id: 'no-such-container', path: '/' }));
    expect(missingContainer.code).toBe(status.NOT_FOUND);
    expect(missingContainer.message).not.toMatch(/no such file or directory/);
    const noPath = await failureOf(call(agent.client, agent.client.statContainerPath, { id, path: '' }));
    expect(noPath.message).toMatch(/^path "": a path in the container is required/);
    const badStart = await failureOf(
      new Promise<void>((resolve, reject) => {
        const c = agent.client.copyToContainer((err) => (err ? reject(fromServiceError(err)) : resolve()));
        c.write({ request: { $case: 'data', value: Buffer.from('x') } });
        c.end();
      }),
    );
    expect(badStart.message).toMatch(/^start "data"/);
    const notTar = await failureOf(
      new Promise<void>((resolve, reject) => {
        const c = agent.client.copyToContainer((err) => (err ? reject(fromServiceError(err)) : resolve()));
        c.write({ request: { $case: 'start', value: { id, path: '/tmp', noOverwriteDirNonDir: false } } });
        c.write({ request: { $case: 'data', value: Buffer.alloc(4096, 'x') } });
        c.end();
      }),
    );
    expect([status.INVALID_ARGUMENT, status.INTERNAL]).toContain(notTar.code);
  });
});
