import type { Readable } from 'node:stream';
import {
  InvalidArgumentError,
  ResourceExhaustedError,
  serverStream,
  unary,
  type FlotillaError,
  type Logger,
  type ServiceRegistration,
} from '@flotilla/grpc';
import {
  EngineAgentServiceService,
  LogStream,
  type ContainerLogsRequest,
  type ContainerLogsResponse,
  type EngineAgentServiceServer,
  type PullImageRequest,
  type PullImageResponse,
  type WatchRequest,
  type WatchResponse,
} from '@flotilla/proto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Role } from '@flotilla/pki';
import { actingRoleFrom, actingRoleKey, checkContainer, defaultPolicy, type ContainerPolicy } from '@flotilla/policy';
import type { DockerBackend } from '../docker/docker-backend';
import { pullFailure } from '../docker/docker-errors';
import { containerFrom, createBodyFrom } from '../monitor/docker-mapping';
import { EventLineSplitter } from '../monitor/event-lines';
import type { EngineMonitor, WatchMessage } from '../monitor/engine-monitor';
import { LogFrameDecoder } from './log-frames';

export interface AgentServiceOptions {
  backend: DockerBackend;
  monitor: EngineMonitor;
  logger: Logger;
  /** Ends streams cleanly when the server shuts down. */
  closing?: AbortSignal;
  /** Messages a watcher may have waiting before it is cut off with RESOURCE_EXHAUSTED. */
  maxQueuedMessages?: number;
  now?: () => number;
  /** What creates may take of the host, per role the manager acts for; default: nothing. */
  containerPolicy?: ContainerPolicy;
}

function required(field: string, value: string): string {
  if (!value.trim()) throw InvalidArgumentError.field(field, value, 'is required');
  return value.trim();
}

/** Resolves when the stream ends, the call is cancelled or the server closes. */
function untilDone(call: ServerWritableStream<unknown, unknown>, closing: AbortSignal | undefined, source?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = () => resolve();
    call.once('cancelled', finish);
    call.once('close', finish);
    closing?.addEventListener('abort', finish, { once: true });
    source?.once('end', finish);
    source?.once('close', finish);
    source?.once('error', reject);
  });
}

interface PullLine {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

export function createAgentService(options: AgentServiceOptions): ServiceRegistration {
  const { backend, monitor, logger, closing } = options;
  const maxQueued = options.maxQueuedMessages ?? 10_000;
  const now = options.now ?? Date.now;
  const containerPolicy = options.containerPolicy ?? defaultPolicy('engine-agent');

  const implementation: EngineAgentServiceServer = {
    watch: serverStream<WatchRequest, WatchResponse>(async (_request, call) => {
      let sequence = 0;
      let overflow: ResourceExhaustedError | undefined;
      const done = untilDone(call, closing);
      let unsubscribe = (): void => undefined;
      const finished = new Promise<void>((resolve) => {
        unsubscribe = monitor.watch({
          send(message: WatchMessage) {
            if (overflow || call.cancelled || call.writableEnded) return;
            if (call.writableLength >= maxQueued) {
              overflow = new ResourceExhaustedError(`watcher fell ${call.writableLength} messages behind; reconnect for a fresh snapshot`);
              resolve();
              return;
            }
            call.write({ sequence: String(++sequence), message });
          },
        });
      });
      logger.debug('watcher connected', { peer: call.getPeer(), watchers: monitor.watcherCount });
      await Promise.race([done, finished]);
      unsubscribe();
      logger.debug('watcher gone', { peer: call.getPeer(), watchers: monitor.watcherCount });
      if (overflow) throw overflow;
    }),

    createContainer: unary(async (request, call) => {
      // The second line behind the manager's check: this agent's policy, for the role the manager
      // acts for (none named: nothing of the host), so a manager alone cannot hand out the host.
      const actingRole = actingRoleFrom(call.metadata.get(actingRoleKey));
      try {
        checkContainer(request, actingRole, containerPolicy);
      } catch (err) {
        logger.warn('create refused', { peer: call.getPeer(), actingRole: actingRole ?? null, error: (err as Error).message });
        throw err;
      }
      const body = createBodyFrom(request);
      const created = await backend.createContainer(body);
      logger.info('container created', { id: created.id, name: request.name, image: request.image });
      return created;
    }),

    startContainer: unary(async (request) => ({ alreadyRunning: !(await backend.startContainer(required('id', request.id))) })),

    stopContainer: unary(async (request) => {
      const timeout = request.timeoutSeconds;
      return { alreadyStopped: !(await backend.stopContainer(required('id', request.id), timeout)) };
    }),

    killContainer: unary(async (request) => {
      const signal = request.signal.trim() || 'SIGKILL';
      if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/i.test(signal)) throw InvalidArgumentError.field('signal', request.signal, 'expected a signal name or number');
      await backend.killContainer(required('id', request.id), signal);
      return {};
    }),

    removeContainer: unary(async (request) => {
      await backend.removeContainer(required('id', request.id), request.force, request.volumes);
      return {};
    }),

    inspectContainer: unary(async (request) => {
      const reply = await backend.inspectContainer(required('id', request.id));
      return { container: containerFrom(reply, now()), rawJson: JSON.stringify(reply) };
    }),

    containerLogs: serverStream<ContainerLogsRequest, ContainerLogsResponse>(async (request, call) => {
      const id = required('id', request.id);
      const tty = Boolean((await backend.inspectContainer(id)).Config?.Tty);
      const both = !request.stdout && !request.stderr;
      const source = await backend.containerLogs(id, {
        follow: request.follow,
        stdout: both || request.stdout,
        stderr: both || request.stderr,
        tail: request.tail || undefined,
        timestamps: request.timestamps,
        since: request.since ? Math.floor(request.since.getTime() / 1000) : undefined,
      });
      const decoder = new LogFrameDecoder();
      source.on('data', (chunk: Buffer) => {
        if (call.cancelled) return;
        if (tty) {
          call.write({ stream: LogStream.LOG_STREAM_STDOUT, data: chunk });
          return;
        }
        try {
          for (const frame of decoder.push(chunk)) {
            call.write({ stream: frame.stream === 'stderr' ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT, data: frame.data });
          }
        } catch (err) {
          source.destroy(err as Error);
        }
      });
      try {
        await untilDone(call, closing, source);
      } finally {
        source.destroy();
      }
    }),

    pullImage: serverStream<PullImageRequest, PullImageResponse>(async (request, call) => {
      const image = required('image', request.image);
      if (/\s/.test(image)) throw InvalidArgumentError.field('image', request.image, 'must not contain spaces');
      const source = await backend.pullImage(image);
      const splitter = new EventLineSplitter();
      let failure: FlotillaError | undefined;
      const onLines = (lines: string[]) => {
        for (const line of lines) {
          let parsed: PullLine;
          try {
            parsed = JSON.parse(line) as PullLine;
          } catch {
            logger.warn('skipping a malformed pull progress line', { line: line.slice(0, 300) });
            continue;
          }
          if (parsed.error || parsed.errorDetail?.message) {
            failure ??= pullFailure(parsed.errorDetail?.message ?? parsed.error ?? 'pull failed');
            continue;
          }
          call.write({
            status: parsed.status ?? '',
            layerId: parsed.id ?? '',
            currentBytes: String(parsed.progressDetail?.current ?? 0),
            totalBytes: String(parsed.progressDetail?.total ?? 0),
            progress: parsed.progress ?? '',
          });
        }
      };
      source.on('data', (chunk: Buffer) => onLines(splitter.push(chunk)));
      source.once('end', () => onLines(splitter.end()));
      try {
        await untilDone(call, closing, source);
      } finally {
        source.destroy();
      }
      if (failure) {
        logger.info('pull failed', { image, error: failure.message });
        throw failure;
      }
    }),
  };

  // An agent controls a Docker engine, which is root on its host: it obeys managers only.
  const managerOnly: readonly Role[] = ['manager'];
  const access = Object.fromEntries(Object.keys(implementation).map((method) => [method, managerOnly]));
  const mutating = ['createContainer', 'startContainer', 'stopContainer', 'killContainer', 'removeContainer', 'pullImage'];
  return { name: 'flotilla.v1.EngineAgentService', definition: EngineAgentServiceService, implementation, access, mutating };
}

