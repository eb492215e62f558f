import type { Readable } from 'node:stream';
import { clientStream, drained, duplexStream, serverStream, unary, whenAborted, type Logger, type ServiceRegistration } from '@flotilla/grpc';
import { FailedPreconditionError, InternalError, InvalidArgumentError, PermissionDeniedError, ResourceExhaustedError, type FlotillaError } from '@flotilla/errors';
import { LogStream, type PullProgress, type RegistryAuth } from '@flotilla/proto';
import { EngineAgentServiceService, type ContainerLogsRequest, type ContainerLogsResponse, type ContainerStatsRequest, type ContainerStatsResponse, type EngineAgentServiceServer, type AttachContainerRequest, type AttachContainerResponse, type CopyFromContainerRequest, type CopyFromContainerResponse, type CopyToContainerRequest, type CopyToContainerResponse, type ExecContainerRequest, type ExecContainerResponse, type PullImageRequest, type PullImageResponse, type WatchRequest, type WatchResponse } from '@flotilla/proto/agent';
import type { Role } from '@flotilla/pki';
import { actingRoleFrom, actingRoleKey, checkNetworkName, checkNetworkReference, checkNetworkShape, predefinedNetworks, checkContainer, checkNewContainerName, checkImageReference, checkNewImageTag, checkPsArgs, checkResourceChange, checkVolumeName, checkWaitCondition, defaultPolicy, type ContainerPolicy } from '@flotilla/policy';
import type { DockerAuthConfig, DockerBackend, DockerStatsReply } from '../docker/docker-backend';
import { updateBodyFrom } from '../docker/update-body';
import { pullFailure } from '../docker/docker-errors';
import { containerStatsFrom, maxStatsLineChars, parseStatsLine } from '../docker/stats-mapping';
import { containerFrom, createBodyFrom, execStateFrom, imageFrom, networkFrom, volumeFrom } from '../monitor/docker-mapping';
import { EventLineSplitter } from '../monitor/event-lines';
import type { EngineMonitor, WatchMessage } from '../monitor/engine-monitor';
import { CreateOnce } from './create-once';
import { LogFrameDecoder } from './log-frames';
import { chunksOf } from './docker-chunks';
import { copyFromContainer, copyToContainer, statContainerPath } from './archive-copies';
import { attachSession } from './attach-session';
import { execSession } from './exec-session';

export interface AgentServiceOptions {
  backend: DockerBackend;
  monitor: EngineMonitor;
  logger: Logger;
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


/** A pull's credentials as Docker takes them; none when nothing was given. */
function authConfigFrom(auth: RegistryAuth | undefined): DockerAuthConfig | undefined {
  if (!auth || (!auth.username && !auth.password && !auth.identityToken)) return undefined;
  return {
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
    ...(auth.identityToken ? { identitytoken: auth.identityToken } : {}),
    ...(auth.serverAddress ? { serveraddress: auth.serverAddress } : {}),
  };
}

interface PullLine {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** The longest heartbeat interval a watcher may ask for (WatchRequest.heartbeat_interval_ms; the manager's cap, maxAskedHeartbeatIntervalMs, is the same). */
const maxHeartbeatIntervalMs = 600_000;

export function createAgentService(options: AgentServiceOptions): ServiceRegistration {
  const { backend, monitor, logger } = options;
  const maxQueued = options.maxQueuedMessages ?? 10_000;
  const now = options.now ?? Date.now;
  const containerPolicy = options.containerPolicy ?? defaultPolicy('engine-agent');
  const createOnce = new CreateOnce((label) => backend.listContainerIds(label));

  const implementation: EngineAgentServiceServer = {
    watch: serverStream<WatchRequest, WatchResponse>(async (request, call, signal) => {
      const heartbeatIntervalMs = request.heartbeatIntervalMs;
      if (heartbeatIntervalMs > maxHeartbeatIntervalMs) throw InvalidArgumentError.field('heartbeat_interval_ms', heartbeatIntervalMs, `at most ${maxHeartbeatIntervalMs} (10 minutes)`);
      let sequence = 0;
      let overflow: ResourceExhaustedError | undefined;
      let overflowed = (): void => undefined;
      const cutOff = new Promise<void>((resolve) => (overflowed = resolve));
      const unsubscribe = monitor.watch({
        send(message: WatchMessage) {
          if (overflow || signal.aborted || call.writableEnded) return;
          if (call.writableLength >= maxQueued) {
            overflow = new ResourceExhaustedError(`watcher fell ${call.writableLength} messages behind; reconnect for a fresh snapshot`);
            overflowed();
            return;
          }
          call.write({ sequence: String(++sequence), message });
        },
      }, { heartbeatIntervalMs });
      logger.debug('watcher connected', { peer: call.getPeer(), watchers: monitor.watcherCount });
      try {
        await Promise.race([whenAborted(signal), cutOff]);
      } finally {
        unsubscribe();
      }
      logger.debug('watcher gone', { peer: call.getPeer(), watchers: monitor.watcherCount });
      if (overflow) throw overflow;
    }),

    createContainer: unary(async (request, call, _signal, { logger: log }) => {
      // The second line behind the manager's check: this agent's policy, for the role the manager
      // acts for (none named: nothing of the host), so a manager alone cannot hand out the host.
      const actingRole = actingRoleFrom(call.metadata.get(actingRoleKey));
      try {
        checkContainer(request, actingRole, containerPolicy);
      } catch (err) {
        log.warn('create refused', { peer: call.getPeer(), actingRole: actingRole ?? null, error: (err as Error).message });
        throw err;
      }
      const body = createBodyFrom(request);
      const created = await createOnce.create(request.labels, () => backend.createContainer(body));
      // The call's logger: the line carries the manager's request ID (the CLI command's).
      log.info('container created', { id: created.id, name: request.name, image: request.image });
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

    pauseContainer: unary(async (request) => {
      await backend.pauseContainer(required('id', request.id));
      return {};
    }),

    unpauseContainer: unary(async (request) => {
      await backend.unpauseContainer(required('id', request.id));
      return {};
    }),

    renameContainer: unary(async (request, _call, _signal, { logger: log }) => {
      const id = required('id', request.id);
      const name = checkNewContainerName('new_name', request.newName);
      await backend.renameContainer(id, name);
      log.info('container renamed', { id, name });
      return {};
    }),

    updateContainer: unary(async (request, _call, _signal, { logger: log }) => {
      const id = required('id', request.id);
      const change = checkResourceChange(request.resources);
      // A memory limit alone needs the container's current swap (see updateBodyFrom).
      const current = change.memoryBytes !== undefined && change.memorySwapBytes === undefined ? (await backend.inspectContainer(id)).HostConfig : undefined;
      const body = updateBodyFrom(change, current);
      const reply = await backend.updateContainer(id, body);
      log.info('container updated', { id, change: Object.keys(body) });
      return { warnings: Array.isArray(reply?.Warnings) ? reply.Warnings.filter((w): w is string => typeof w === 'string').slice(0, 16) : [] };
    }),

    // The call's signal reaches Docker's request: a caller that gives up ends the wait there too.
    waitContainer: unary(async (request, _call, signal) => {
      const reply = await backend.waitContainer(required('id', request.id), checkWaitCondition('condition', request.condition), signal);
      return { exitCode: String(reply.StatusCode ?? 0), error: reply.Error?.Message ?? '' };
    }),

    topContainer: unary(async (request) => {
      const reply = await backend.topContainer(required('id', request.id), checkPsArgs('ps_args', request.psArgs));
      return { titles: reply.Titles ?? [], processes: (reply.Processes ?? []).map((values) => ({ values })) };
    }),

    inspectContainer: unary(async (request) => {
      const reply = await backend.inspectContainer(required('id', request.id));
      return { container: containerFrom(reply, now()), rawJson: JSON.stringify(reply) };
    }),

    containerLogs: serverStream<ContainerLogsRequest, ContainerLogsResponse>(async (request, call, signal) => {
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
      // The next chunk is read from Docker only once the client has taken the last one's messages.
      for await (const chunk of chunksOf(source, signal)) {
        const messages: ContainerLogsResponse[] = tty
          ? [{ stream: LogStream.LOG_STREAM_STDOUT, data: chunk }]
          : decoder.push(chunk).map((frame) => ({ stream: frame.stream === 'stderr' ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT, data: frame.data }));
        for (const message of messages) {
          if (signal.aborted) return;
          if (!call.write(message)) await drained(call, signal);
        }
      }
    }),

    containerStats: serverStream<ContainerStatsRequest, ContainerStatsResponse>(async (request, call, signal, { logger: log }) => {
      const id = required('id', request.id);
      const source = await backend.containerStats(id, request.stream);
      const splitter = new EventLineSplitter(maxStatsLineChars);
      let warnedLong = false;
      /** Sends the samples of `lines`; false once the stream is over. */
      const send = async (lines: string[]): Promise<boolean> => {
        if (splitter.dropped > 0 && !warnedLong) {
          warnedLong = true;
          log.warn('skipping stats lines over the line cap', { id, maxLineChars: maxStatsLineChars });
        }
        for (const line of lines) {
          let reply: DockerStatsReply;
          try {
            reply = parseStatsLine(line);
          } catch {
            log.warn('skipping a malformed stats line', { line: line.slice(0, 300) });
            continue;
          }
          const stats = containerStatsFrom(reply, line);
          if (signal.aborted) return false;
          if (!call.write({ stats })) await drained(call, signal);
          // Docker goes on sending empty samples for a container that is not running: one is the answer.
          if (!stats.read) return false;
        }
        return true;
      };
      // Leaving the loop early closes Docker's stream (chunksOf's finally).
      for await (const chunk of chunksOf(source, signal)) if (!(await send(splitter.push(chunk)))) return;
      if (signal.aborted) return;
      await send(splitter.end());
    }),

    pullImage: serverStream<PullImageRequest, PullImageResponse>(async (request, call, signal) => {
      const image = required('image', request.image);
      if (/\s/.test(image)) throw InvalidArgumentError.field('image', request.image, 'must not contain spaces');
      const source = await backend.pullImage(image, authConfigFrom(request.auth));
      const splitter = new EventLineSplitter();
      let failure: FlotillaError | undefined;
      const send = async (lines: string[]): Promise<void> => {
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
          if (signal.aborted) return;
          const progress: PullProgress = {
            status: parsed.status ?? '',
            layerId: parsed.id ?? '',
            currentBytes: String(parsed.progressDetail?.current ?? 0),
            totalBytes: String(parsed.progressDetail?.total ?? 0),
            progress: parsed.progress ?? '',
          };
          if (!call.write({ progress })) await drained(call, signal);
        }
      };
      for await (const chunk of chunksOf(source, signal)) await send(splitter.push(chunk));
      if (signal.aborted) return;
      await send(splitter.end());
      if (failure) {
        logger.info('pull failed', { image, error: failure.message });
        throw failure;
      }
    }),

    createVolume: unary(async (request, call, _signal, { logger: log }) => {
      const name = checkVolumeName('name', request.name);
      const driver = request.driver.trim() || 'local';
      if (driver !== 'local') throw InvalidArgumentError.field('driver', request.driver, 'only the "local" driver is allowed');
      const options = Object.keys(request.driverOpts);
      if (options.length) {
        log.warn('volume create refused', { peer: call.getPeer(), name, driverOpts: options.slice(0, 10) });
        throw new PermissionDeniedError(`driver_opts ${JSON.stringify(options.slice(0, 5))}: volume driver options are not allowed (they can mount host paths)`);
      }
      const reply = await backend.createVolume({ Name: name, Driver: driver, Labels: { ...request.labels } });
      log.info('volume created', { name });
      return { volume: volumeFrom(reply) ?? { name, driver, mountpoint: '', labels: { ...request.labels } } };
    }),

    createNetwork: unary(async (request, _call, _signal, { logger: log }) => {
      const name = checkNetworkName('name', request.name);
      const { driver, subnet, gateway } = checkNetworkShape(request);
      const reply = await backend.createNetwork({
        Name: name,
        Driver: driver,
        Labels: { ...request.labels },
        Internal: request.internal,
        CheckDuplicate: true,
        ...(subnet ? { IPAM: { Config: [{ Subnet: subnet, ...(gateway ? { Gateway: gateway } : {}) }] } } : {}),
      });
      log.info('network created', { name, subnet: subnet || null });
      const network = networkFrom(reply);
      if (!network) throw new InternalError(`Docker answered an unreadable network for ${JSON.stringify(name)}`);
      return { network };
    }),

    removeNetwork: unary(async (request, _call, _signal, { logger: log }) => {
      const reference = checkNetworkReference('network', request.network);
      if (predefinedNetworks.includes(reference)) throw new FailedPreconditionError(`${reference} is one of Docker's own networks; it cannot be removed`);
      await backend.removeNetwork(reference);
      log.info('network removed', { network: reference });
      return {};
    }),

    inspectNetwork: unary(async (request) => {
      const reply = await backend.inspectNetwork(checkNetworkReference('network', request.network));
      const network = networkFrom(reply);
      if (!network) throw new InternalError(`Docker answered an unreadable network for ${JSON.stringify(request.network)}`);
      return { network, rawJson: JSON.stringify(reply) };
    }),

    removeVolume: unary(async (request, _call, _signal, { logger: log }) => {
      const name = checkVolumeName('name', request.name);
      await backend.removeVolume(name, request.force);
      log.info('volume removed', { name });
      return {};
    }),

    inspectImage: unary(async (request) => {
      const reference = checkImageReference('image', request.image);
      const reply = await backend.inspectImage(reference);
      const image = imageFrom({ ...reply, Labels: reply.Config?.Labels });
      if (!image) throw new InternalError(`Docker answered an unreadable image for ${JSON.stringify(reference)}`);
      return { image, rawJson: JSON.stringify(reply) };
    }),

    removeImage: unary(async (request, _call, _signal, { logger: log }) => {
      const reference = checkImageReference('image', request.image);
      const reply = await backend.removeImage(reference, request.force, request.noPrune);
      const lines = Array.isArray(reply) ? reply : [];
      const answer = { untagged: lines.flatMap((l) => (typeof l.Untagged === 'string' ? [l.Untagged] : [])), deleted: lines.flatMap((l) => (typeof l.Deleted === 'string' ? [l.Deleted] : [])) };
      log.info('image removed', { image: reference, untagged: answer.untagged.length, deleted: answer.deleted.length });
      return answer;
    }),

    tagImage: unary(async (request, _call, _signal, { logger: log }) => {
      const reference = checkImageReference('image', request.image);
      const { repo, tag } = checkNewImageTag('tag', request.tag);
      await backend.tagImage(reference, repo, tag);
      log.info('image tagged', { image: reference, tag: `${repo}:${tag}` });
      return {};
    }),

    inspectVolume: unary(async (request) => {
      const name = checkVolumeName('name', request.name);
      const reply = await backend.inspectVolume(name);
      const volume = volumeFrom(reply);
      if (!volume) throw new InternalError(`Docker answered an unreadable volume for ${JSON.stringify(name)}`);
      return { volume, rawJson: JSON.stringify(reply) };
    }),

    execContainer: duplexStream<ExecContainerRequest, ExecContainerResponse>((call, signal, context) => execSession(backend, call, signal, context)),

    attachContainer: duplexStream<AttachContainerRequest, AttachContainerResponse>((call, signal, context) => attachSession(backend, call, signal, context)),

    inspectExec: unary(async (request) => {
      const reply = await backend.inspectExec(required('exec_id', request.execId));
      return { exec: execStateFrom(reply, request.execId), rawJson: JSON.stringify(reply) };
    }),

    statContainerPath: unary((request) => statContainerPath(backend, request)),

    copyFromContainer: serverStream<CopyFromContainerRequest, CopyFromContainerResponse>((request, call, signal) => copyFromContainer(backend, request, call, signal)),

    copyToContainer: clientStream<CopyToContainerRequest, CopyToContainerResponse>((call, signal, context) => copyToContainer(backend, call, signal, context)),
  };

  // An agent controls a Docker engine, which is root on its host: it obeys managers only.
  const managerOnly: readonly Role[] = ['manager'];
  const access = Object.fromEntries(Object.keys(implementation).map((method) => [method, managerOnly]));
  const mutating = ['createContainer', 'startContainer', 'stopContainer', 'killContainer', 'removeContainer', 'pauseContainer', 'unpauseContainer', 'renameContainer', 'updateContainer', 'pullImage', 'createVolume', 'removeVolume', 'removeImage', 'tagImage', 'execContainer', 'attachContainer', 'copyToContainer', 'createNetwork', 'removeNetwork'];
  return { name: 'flotilla.agent.v1.EngineAgentService', definition: EngineAgentServiceService, implementation, access, mutating, longLived: ['waitContainer'] };
}

