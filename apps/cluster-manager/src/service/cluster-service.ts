import { engineStatusName, normaliseEngineAddress, type Cluster, type ClusterContainers } from '@flotilla/cluster';
import { drained, InvalidArgumentError, serverStream, unary, type Logger, type ServiceRegistration } from '@flotilla/grpc';
import {
  ClusterServiceService,
  ContainerSpec,
  type ClusterServiceContainerLogsRequest,
  type ClusterServiceContainerLogsResponse,
  type ClusterServicePullImageRequest,
  type ClusterServicePullImageResponse,
  type ClusterServiceServer,
  type WatchEventsRequest,
  type WatchEventsResponse,
} from '@flotilla/proto';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';

export interface ClusterServiceOptions {
  cluster: Cluster;
  containers: ClusterContainers;
  logger: Logger;
  /** Ends event streams cleanly when the server shuts down. */
  closing?: AbortSignal;
  /** Events a WatchEvents reader may fall behind before it is ended with RESOURCE_EXHAUSTED. */
  maxQueuedEvents?: number;
}

export function createClusterService(options: ClusterServiceOptions): ServiceRegistration {
  const { cluster, containers, logger, closing } = options;
  const spec = (value: ContainerSpec | undefined) => {
    if (!value) throw InvalidArgumentError.field('spec', null, 'a container spec is required');
    return value;
  };
  /** An AbortSignal that fires when the call ends or the server closes. */
  const callSignal = (call: ServerWritableStream<unknown, unknown>) => {
    const abort = new AbortController();
    const stop = () => abort.abort();
    call.once('cancelled', stop);
    call.once('close', stop);
    closing?.addEventListener('abort', stop, { once: true });
    return abort.signal;
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
      return { engines: cluster.listEngines({ statuses, labels: request.labels }).map((e) => cluster.view(e)) };
    }),

    getEngine: unary(async (request) => ({ engine: cluster.view(cluster.getEngine(request.engine)) })),

    getInfo: unary(async () => cluster.info()),

    syncEngines: unary(async (request) => {
      let generation: bigint;
      try {
        generation = BigInt(request.generation);
      } catch {
        throw InvalidArgumentError.field('generation', request.generation, 'must be a whole number');
      }
      const result = cluster.syncEngines(request.source, generation, request.addresses);
      return { ...result, generation: String(result.generation) };
    }),

    createContainer: unary(async (request) => containers.create(spec(request.spec), request.start)),

    explainPlacement: unary(async (request) => containers.explain(spec(request.spec))),

    startContainer: unary(async (request) => containers.start(request.container)),

    stopContainer: unary(async (request) => containers.stop(request.container, request.timeoutSeconds)),

    killContainer: unary(async (request) => containers.kill(request.container, request.signal)),

    removeContainer: unary(async (request) => containers.remove(request.container, request.force, request.volumes)),

    inspectContainer: unary(async (request) => containers.inspect(request.container)),

    listContainers: unary(async (request) => ({ containers: containers.list(request) })),

    containerLogs: serverStream<ClusterServiceContainerLogsRequest, ClusterServiceContainerLogsResponse>(async (request, call) => {
      const signal = callSignal(call);
      for await (const chunk of containers.logs(request, signal)) {
        if (signal.aborted) break;
        if (!call.write(chunk)) await drained(call);
      }
    }),

    pullImage: serverStream<ClusterServicePullImageRequest, ClusterServicePullImageResponse>(async (request, call) => {
      const signal = callSignal(call);
      for await (const item of containers.pull(request.image, request.engines, signal)) {
        if (signal.aborted) break;
        if (!call.write(item)) await drained(call);
      }
    }),

    watchEvents: serverStream<WatchEventsRequest, WatchEventsResponse>(async (request, call) => {
      const subscription = cluster.subscribe(request, options.maxQueuedEvents);
      // Headers now, so a client knows its subscription is live before the first event.
      call.sendMetadata(new Metadata());
      const stop = () => subscription.close();
      call.once('cancelled', stop);
      call.once('close', stop);
      closing?.addEventListener('abort', stop, { once: true });
      logger.debug('event subscriber connected', { peer: call.getPeer(), subscribers: cluster.subscriberCount });
      try {
        for await (const event of subscription) {
          if (call.cancelled) break;
          // A reader that is behind makes the subscription queue grow until it overflows.
          if (!call.write({ event })) await Promise.race([drained(call), subscription.failed]);
        }
      } finally {
        subscription.close();
        closing?.removeEventListener('abort', stop);
        logger.debug('event subscriber gone', { peer: call.getPeer() });
      }
    }),
  };

  return { name: 'flotilla.v1.ClusterService', definition: ClusterServiceService, implementation };
}
