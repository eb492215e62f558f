import { drained, firstStart, requestsOf, type CallContext } from '@flotilla/grpc';
import { FailedPreconditionError, InvalidArgumentError } from '@flotilla/errors';
import { checkAttachOptions } from '@flotilla/policy';
import type { AttachContainerRequest, AttachContainerResponse } from '@flotilla/proto/agent';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { DockerBackend } from '../docker/docker-backend';
import { relayHijacked } from './hijacked-session';

/**
 * One AttachContainer call: attaches to the container's main process, answers `started` once
 * Docker's connection is up (a start sent after it loses no output), relays it (see
 * relayHijacked), and answers the container's exit code once it stopped.
 */
export async function attachSession(backend: DockerBackend, call: ServerDuplexStream<AttachContainerRequest, AttachContainerResponse>, signal: AbortSignal, { logger }: CallContext): Promise<void> {
  const requests = requestsOf<AttachContainerRequest>(call, signal);
  const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
  if (!start) return;
  const id = start.id.trim();
  if (!id) throw InvalidArgumentError.field('start.id', start.id, 'is required');
  const options = checkAttachOptions('start.options', start.options);
  const container = await backend.inspectContainer(id);
  const tty = Boolean(container.Config?.Tty);
  if (options.stdin && !container.Config?.OpenStdin) throw new FailedPreconditionError(`container ${id.slice(0, 12)} was created without open_stdin (docker run -i): it has no stdin to attach to`);
  if (container.State?.Paused) throw new FailedPreconditionError(`container ${id.slice(0, 12)} is paused; unpause it first`);
  const connection = await backend.attachContainer(id, options.stdin, options.logs);
  const write = async (response: AttachContainerResponse['response']): Promise<void> => {
    if (signal.aborted) return;
    if (!call.write({ response })) await drained(call, signal);
  };
  const resize = async (rows: number, columns: number): Promise<void> => {
    await backend.resizeContainer(id, rows, columns).catch((err: unknown) => logger.debug('container resize refused', { id, error: (err as Error).message }));
  };
  logger.info('attached', { id, tty, stdin: options.stdin });
  await write({ $case: 'started', value: { tty } });
  if (options.terminalSize && tty) await resize(options.terminalSize.rows, options.terminalSize.columns);
  const exitCode = async () => {
    const state = (await backend.inspectContainer(id)).State;
    return state && !state.Running && !state.Restarting && typeof state.ExitCode === 'number' ? state.ExitCode : undefined;
  };
  await relayHijacked({ what: 'attach', connection, tty, stdin: options.stdin, resize, exitCode }, requests, write, signal, logger);
}
