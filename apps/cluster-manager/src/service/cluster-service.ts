import { checkAttachStartSizes, checkCopyToStartSizes, checkExecStartSizes, clusterRequestChecks, ContainerOperations, engineStatusName, normaliseEngineAddress, type Cluster, type ClusterContainers, type ClusterImages, type ClusterNetworks, type ClusterVolumes } from '@flotilla/cluster';
import { callerOf, clientStream, drained, duplexStream, effectiveRole, firstStart, requestsOf, serverStream, unary, type Caller, type Logger, type ServiceRegistration } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import type { Role } from '@flotilla/pki';
import { ClusterServiceService, ContainerSpec, type ContainerLogsRequest, type ContainerLogsResponse, type ContainerStatsRequest, type ContainerStatsResponse, type AttachContainerRequest, type AttachContainerResponse, type CopyFromContainerRequest, type CopyFromContainerResponse, type CopyToContainerRequest, type CopyToContainerResponse, type ExecContainerRequest, type ExecContainerResponse, type PullImageRequest, type PullImageResponse, type ClusterServiceServer, type WatchEventsRequest, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { Metadata } from '@grpc/grpc-js';
import { checkedService } from './request-guard';
import { clusterServiceDefinition } from './engine-page-encoding';
import { containerListing, engineListing, imageListing, networkListing, volumeListing } from './listings';
import { readPage } from './paging';

export interface ClusterServiceOptions {
  cluster: Cluster;
  containers: ClusterContainers;
  volumes: ClusterVolumes;
  images: ClusterImages;
  networks: ClusterNetworks;
  logger: Logger;
  /** Events a WatchEvents reader may fall behind before it is ended with RESOURCE_EXHAUSTED. */
  maxQueuedEvents?: number;
}

const operator: readonly Role[] = ['operator'];
const anyReader: readonly Role[] = ['operator', 'reader'];

/**
 * Who may call what (the README's "Security model" lists the same): operators run the cluster,
 * readers list, inspect, watch, explain, wait for containers, list their processes and read their
 * resource use, and only discovery pushes engine sets. Logs stay with operators: a container's output often carries
 * secrets.
 */
export const clusterAccess: Record<keyof ClusterServiceServer, readonly Role[]> = {
  addEngine: operator,
  removeEngine: operator,
  listEngines: anyReader,
  getEngine: anyReader,
  getInfo: anyReader,
  watchEvents: anyReader,
  syncEngines: ['discovery'],
  createContainer: operator,
  explainPlacement: anyReader,
  startContainer: operator,
  stopContainer: operator,
  killContainer: operator,
  removeContainer: operator,
  pauseContainer: operator,
  unpauseContainer: operator,
  renameContainer: operator,
  updateContainer: operator,
  waitContainer: anyReader,
  topContainer: anyReader,
  inspectContainer: anyReader,
  containerLogs: operator,
  containerStats: anyReader,
  listContainers: anyReader,
  pullImage: operator,
  listVolumes: anyReader,
  createVolume: operator,
  inspectVolume: anyReader,
  removeVolume: operator,
  listImages: anyReader,
  inspectImage: anyReader,
  removeImage: operator,
  tagImage: operator,
  execContainer: operator,
  attachContainer: operator,
  statContainerPath: anyReader,
  inspectExec: anyReader,
  copyFromContainer: operator,
  copyToContainer: operator,
  listNetworks: anyReader,
  createNetwork: operator,
  inspectNetwork: anyReader,
  removeNetwork: operator,
};

/** Calls that change the cluster: each takes from its caller's rate budget. */
export const clusterMutating: readonly string[] = [
  'addEngine',
  'removeEngine',
  'syncEngines',
  'createContainer',
  'startContainer',
  'stopContainer',
  'killContainer',
  'removeContainer',
  'pauseContainer',
  'unpauseContainer',
  'renameContainer',
  'updateContainer',
  'pullImage',
  'createVolume',
  'removeVolume',
  'removeImage',
  'tagImage',
  'execContainer',
  'attachContainer',
  'copyToContainer',
  'createNetwork',
  'removeNetwork',
];

/**
 * Whose discovery sources a SyncEngines call sets: the discovery certificate's name. Insecure
 * callers have no identity (their name is a peer address that changes with every connection),
 * so they share one.
 */
export function discoveryPusher(caller: Caller): string {
  return caller.insecure ? '' : caller.name;
}

/**
 * Writes what an agent streams (logs, pull progress) to the manager's client, taking the next
 * item only when the client has read the last: the agent's stream is pulled no faster than the
 * client reads, so a slow reader holds back the agent instead of filling the manager's memory.
 */
export async function relay<T>(source: AsyncIterable<T>, call: Parameters<typeof drained>[0] & { write(item: T): boolean }, signal: AbortSignal): Promise<void> {
  for await (const item of source) {
    if (signal.aborted) return;
    if (!call.write(item)) await drained(call, signal);
  }
}

/** A two-way call's messages after its start, as the domain takes them. */
async function* requestsAfterStart<T extends { request?: R }, R>(requests: AsyncIterable<T>): AsyncGenerator<R | undefined> {
  for await (const { request } of requests) yield request;
}


/** The domain's answers as a two-way call's response messages. */
async function* responses<R>(outputs: AsyncIterable<R>): AsyncGenerator<{ response: R }> {
  for await (const response of outputs) yield { response };
}

export function createClusterService(options: ClusterServiceOptions): ServiceRegistration {
  const { cluster, containers, volumes, images, networks, logger } = options;
  const operations = new ContainerOperations(containers);
  const spec = (value: ContainerSpec | undefined) => {
    if (!value) throw InvalidArgumentError.field('spec', null, 'a container spec is required');
    return value;
  };

  const implementation: ClusterServiceServer = {
    addEngine: unary(async (request) => {
      const address = normaliseEngineAddress(request.address);
      const added = cluster.addEngine(address);
      return { added, engine: cluster.view(cluster.getEngine(address)) };
    }),

    removeEngine: unary(async (request) => ({ engine: cluster.removeEngine(request.engine) })),

    listEngines: unary(async (request) => {
      const statuses = request.statuses.map((s, i) => engineStatusName(s, `statuses[${i}]`));
      const page = readPage(request, engineListing(cluster, { statuses, labels: request.labels }));
      return { engines: page.items, nextPageToken: page.nextPageToken };
    }),

    getEngine: unary(async (request) => ({ engine: cluster.view(cluster.getEngine(request.engine)) })),

    getInfo: unary(async () => cluster.info()),

    syncEngines: unary(async (request, call) => {
      const result = cluster.syncEngines(request.source, request.generation, request.addresses, discoveryPusher(callerOf(call)));
      return { ...result, generation: String(result.generation) };
    }),

    // The container policy is decided for the caller's role (insecure callers act as operators).
    // The call's signal cancels a pull the create waits on when the caller goes.
    createContainer: unary(async (request, call, signal) => containers.create(spec(request.spec), request.start, effectiveRole(callerOf(call)), { requestId: request.requestId, signal, registryAuth: request.registryAuth })),

    explainPlacement: unary(async (request, call) => containers.explain(spec(request.spec), effectiveRole(callerOf(call)))),

    startContainer: unary(async (request) => containers.start(request.container)),

    stopContainer: unary(async (request) => containers.stop(request.container, request.timeoutSeconds)),

    killContainer: unary(async (request) => containers.kill(request.container, request.signal)),

    removeContainer: unary(async (request) => containers.remove(request.container, request.force, request.volumes)),

    pauseContainer: unary(async (request) => operations.pause(request.container)),

    unpauseContainer: unary(async (request) => operations.unpause(request.container)),

    renameContainer: unary(async (request) => operations.rename(request.container, request.newName)),

    // The call's signal (its deadline, or the caller cancelling) ends the wait on the agent too.
    updateContainer: unary(async (request) => operations.update(request.container, request.resources)),

    waitContainer: unary(async (request, _call, signal) => operations.wait(request.container, request.condition, signal)),

    topContainer: unary(async (request) => operations.top(request.container, request.psArgs)),

    inspectContainer: unary(async (request) => containers.inspect(request.container)),

    listContainers: unary(async (request) => {
      const { all, engines, states, labels, names } = request;
      const page = readPage(request, containerListing(cluster, containers, { all, engines, states, labels, names }));
      return { containers: page.items, nextPageToken: page.nextPageToken };
    }),

    containerLogs: serverStream<ContainerLogsRequest, ContainerLogsResponse>(async (request, call, signal) => {
      await relay(containers.logs(request, signal), call, signal);
    }),

    containerStats: serverStream<ContainerStatsRequest, ContainerStatsResponse>(async (request, call, signal) => {
      await relay(operations.stats(request.container, request.stream, signal), call, signal);
    }),

    pullImage: serverStream<PullImageRequest, PullImageResponse>(async (request, call, signal) => {
      await relay(containers.pull(request.image, request.engines, signal, request.auth), call, signal);
    }),

    listVolumes: unary(async (request) => {
      const { engines, names, labels } = request;
      const page = readPage(request, volumeListing(cluster, volumes, { engines, names, labels }));
      return { volumes: page.items, nextPageToken: page.nextPageToken };
    }),

    createVolume: unary(async (request) => ({ results: await volumes.create(request) })),

    inspectVolume: unary(async (request) => volumes.inspect(request.name, request.engine)),

    removeVolume: unary(async (request) => ({ results: await volumes.remove(request.name, request.engine, request.force) })),

    listImages: unary(async (request) => {
      const { engines, references, labels } = request;
      const page = readPage(request, imageListing(cluster, images, { engines, references, labels }));
      return { images: page.items, nextPageToken: page.nextPageToken };
    }),

    inspectImage: unary(async (request) => images.inspect(request.image, request.engine)),

    removeImage: unary(async (request) => ({ results: await images.remove(request.image, request.engine, request.force, request.noPrune) })),

    tagImage: unary(async (request) => ({ results: await images.tag(request.image, request.tag, request.engine) })),

    execContainer: duplexStream<ExecContainerRequest, ExecContainerResponse>(async (call, signal) => {
      const requests = requestsOf<ExecContainerRequest>(call, signal);
      const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
      if (!start) return;
      checkExecStartSizes(start);
      await relay(responses(operations.exec(start.container, start.options, requestsAfterStart(requests), signal)), call, signal);
    }),

    listNetworks: unary(async (request) => {
      const { engines, names, labels } = request;
      const page = readPage(request, networkListing(cluster, networks, { engines, names, labels }));
      return { networks: page.items, nextPageToken: page.nextPageToken };
    }),

    createNetwork: unary(async (request) => ({ results: await networks.create(request) })),

    inspectNetwork: unary(async (request) => networks.inspect(request.network, request.engine)),

    removeNetwork: unary(async (request) => ({ results: await networks.remove(request.network, request.engine) })),

    inspectExec: unary(async (request) => operations.inspectExec(request.container, request.execId)),

    statContainerPath: unary(async (request) => operations.statPath(request.container, request.path)),

    copyFromContainer: serverStream<CopyFromContainerRequest, CopyFromContainerResponse>(async (request, call, signal) => {
      await relay(responses(operations.copyFrom(request.container, request.path, signal)), call, signal);
    }),

    copyToContainer: clientStream<CopyToContainerRequest, CopyToContainerResponse>(async (call, signal) => {
      const requests = requestsOf<CopyToContainerRequest>(call, signal);
      const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
      if (!start) throw InvalidArgumentError.field('start', 'empty', 'the first message must carry start');
      checkCopyToStartSizes(start);
      return operations.copyTo(start.container, start.path, start.noOverwriteDirNonDir, requestsAfterStart(requests), signal);
    }),

    attachContainer: duplexStream<AttachContainerRequest, AttachContainerResponse>(async (call, signal) => {
      const requests = requestsOf<AttachContainerRequest>(call, signal);
      const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
      if (!start) return;
      checkAttachStartSizes(start);
      await relay(responses(operations.attach(start.container, start.options, requestsAfterStart(requests), signal)), call, signal);
    }),

    watchEvents: serverStream<WatchEventsRequest, WatchEventsResponse>(async (request, call, signal) => {
      const subscription = cluster.subscribe(request, options.maxQueuedEvents);
      // Headers now, so a client knows its subscription is live before the first event.
      call.sendMetadata(new Metadata());
      // On the call's own signal, which ends with the call: nothing is left on the server's.
      signal.addEventListener('abort', () => subscription.close(), { once: true });
      logger.debug('event subscriber connected', { peer: call.getPeer(), subscribers: cluster.subscriberCount });
      try {
        for await (const event of subscription) {
          if (signal.aborted) break;
          // A reader that is behind makes the subscription queue grow until it overflows.
          if (!call.write({ event })) await Promise.race([drained(call, signal), subscription.failed]);
        }
      } finally {
        subscription.close();
        logger.debug('event subscriber gone', { peer: call.getPeer() });
      }
    }),
  };

  // Every request is checked against its size limits before its handler runs.
  const checked = checkedService(ClusterServiceService, implementation, clusterRequestChecks);
  return { name: 'flotilla.cluster.v1.ClusterService', definition: clusterServiceDefinition, implementation: checked, access: clusterAccess, mutating: clusterMutating, longLived: ['waitContainer'] };
}
