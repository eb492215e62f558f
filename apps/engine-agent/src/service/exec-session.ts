import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { drained, requestsOf, type CallContext } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import { checkExecInput, checkExecOptions } from '@flotilla/policy';
import type { ExecOptions } from '@flotilla/proto';
import type { ExecContainerRequest, ExecContainerResponse } from '@flotilla/proto/agent';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { DockerBackend, DockerExecBody } from '../docker/docker-backend';
import { chunksOf } from './docker-chunks';
import { LogFrameDecoder } from './log-frames';

/** How long the agent asks Docker for the exit code once the output has closed (Docker sets it a moment later). */
const exitCodeTries = 50;
const exitCodePollMs = 100;

export function execBodyFrom(options: ExecOptions): DockerExecBody {
  return {
    Cmd: options.command,
    AttachStdin: options.stdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: options.tty,
    ...(options.env.length ? { Env: options.env } : {}),
    ...(options.user ? { User: options.user } : {}),
    ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
  };
}

/** Writes to Docker's connection, waiting while it is full; drops bytes once it is closed (the program is gone). */
async function feed(connection: Duplex, bytes: Buffer, signal: AbortSignal): Promise<void> {
  if (connection.destroyed || connection.writableEnded) return;
  if (connection.write(bytes)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      connection.off('drain', done);
      connection.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    connection.once('drain', done);
    connection.once('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * One ExecContainer call: makes and starts the exec, then moves the caller's stdin and resizes to
 * Docker and Docker's output to the caller, each side only as fast as the other takes it, and
 * answers the exit code last. The call's end (cancel, lost connection) closes Docker's connection.
 */
export async function execSession(backend: DockerBackend, call: ServerDuplexStream<ExecContainerRequest, ExecContainerResponse>, signal: AbortSignal, { logger }: CallContext): Promise<void> {
  const requests = requestsOf<ExecContainerRequest>(call, signal);
  const first = await requests.next();
  if (first.done) return;
  const start = first.value.request;
  if (start?.$case !== 'start') throw InvalidArgumentError.field('start', start?.$case ?? '', 'the first message must carry start');
  const id = start.value.id.trim();
  if (!id) throw InvalidArgumentError.field('start.id', start.value.id, 'is required');
  const options = checkExecOptions('start.options', start.value.options);
  const execId = await backend.createExec(id, execBodyFrom(options));
  const connection = await backend.startExec(execId, options.tty);
  const write = async (message: ExecContainerResponse): Promise<void> => {
    if (signal.aborted) return;
    if (!call.write(message)) await drained(call, signal);
  };
  const resize = async (rows: number, columns: number): Promise<void> => {
    try {
      await backend.resizeExec(execId, rows, columns);
    } catch (err) {
      // Best effort, as in the docker CLI: Docker refuses a resize before the program runs or
      // after it ended ("cannot resize a stopped container", HTTP 500), and the output matters more.
      logger.debug('exec resize refused', { execId, error: (err as Error).message });
    }
  };
  logger.info('exec started', { id, execId, tty: options.tty, stdin: options.stdin });
  await write({ response: { $case: 'started', value: { execId } } });
  if (options.terminalSize) await resize(options.terminalSize.rows, options.terminalSize.columns);

  // The caller's side, alongside the output: a failure ends the exec with that failure.
  let inputFailure: unknown;
  void (async () => {
    for await (const { request } of requests) {
      const item = checkExecInput(options, request);
      if (item.$case === 'stdin') await feed(connection, item.value, signal);
      else await resize(item.value.rows, item.value.columns);
    }
    // The caller half-closed: Docker closes the program's stdin when its connection's write side ends.
    if (options.stdin && !signal.aborted && !connection.destroyed) connection.end();
  })().catch((err: unknown) => {
    inputFailure = err;
    connection.destroy();
  });

  const decoder = new LogFrameDecoder();
  try {
    for await (const chunk of chunksOf(connection, signal)) {
      if (options.tty) {
        await write({ response: { $case: 'stdout', value: chunk } });
        continue;
      }
      for (const frame of decoder.push(chunk)) await write({ response: frame.stream === 'stderr' ? { $case: 'stderr', value: frame.data } : { $case: 'stdout', value: frame.data } });
    }
  } catch (err) {
    throw inputFailure ?? err;
  }
  if (inputFailure) throw inputFailure;
  if (signal.aborted) return;
  // Docker sets the exit code a moment after the output closes.
  for (let i = 0; i < exitCodeTries && !signal.aborted; i++) {
    const state = await backend.inspectExec(execId);
    if (!state.Running && typeof state.ExitCode === 'number') {
      logger.info('exec ended', { id, execId, exitCode: state.ExitCode });
      await write({ response: { $case: 'exit', value: { exitCode: state.ExitCode } } });
      return;
    }
    await delay(exitCodePollMs, undefined, { signal }).catch(() => undefined);
  }
  // A TTY exec whose stdin closed: Docker closes its output while the program goes on.
  logger.info('exec output closed while the program runs', { id, execId });
}
