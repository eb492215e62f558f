import { drained, firstStart, requestsOf, type CallContext } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import { checkExecOptions } from '@flotilla/policy';
import type { ExecOptions } from '@flotilla/proto';
import type { ExecContainerRequest, ExecContainerResponse } from '@flotilla/proto/agent';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { DockerBackend, DockerExecBody } from '../docker/docker-backend';
import { relayHijacked } from './hijacked-session';

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

/**
 * One ExecContainer call: makes and starts the exec, relays it (see relayHijacked), and answers
 * the exit code last. The call's end (cancel, lost connection) closes Docker's connection.
 */
export async function execSession(backend: DockerBackend, call: ServerDuplexStream<ExecContainerRequest, ExecContainerResponse>, signal: AbortSignal, { logger }: CallContext): Promise<void> {
  const requests = requestsOf<ExecContainerRequest>(call, signal);
  const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
  if (!start) return;
  const id = start.id.trim();
  if (!id) throw InvalidArgumentError.field('start.id', start.id, 'is required');
  const options = checkExecOptions('start.options', start.options);
  const execId = await backend.createExec(id, execBodyFrom(options));
  const connection = await backend.startExec(execId, options.tty);
  const write = async (response: ExecContainerResponse['response']): Promise<void> => {
    if (signal.aborted) return;
    if (!call.write({ response })) await drained(call, signal);
  };
  const resize = async (rows: number, columns: number): Promise<void> => {
    await backend.resizeExec(execId, rows, columns).catch((err: unknown) => logger.debug('exec resize refused', { execId, error: (err as Error).message }));
  };
  logger.info('exec started', { id, execId, tty: options.tty, stdin: options.stdin });
  await write({ $case: 'started', value: { execId } });
  if (options.terminalSize) await resize(options.terminalSize.rows, options.terminalSize.columns);
  const exitCode = async () => {
    const state = await backend.inspectExec(execId);
    return !state.Running && typeof state.ExitCode === 'number' ? state.ExitCode : undefined;
  };
  await relayHijacked({ what: 'exec', connection, tty: options.tty, stdin: options.stdin, resize, exitCode }, requests, write, signal, logger);
}
