import { buildInfo } from '@flotilla/config';
import { Cluster, ClusterContainers, ClusterImages, ClusterNetworks, ClusterVolumes } from '@flotilla/cluster';
import { startServer, versionService, type Logger, type RunningServer } from '@flotilla/grpc';
import { grpcCallMetrics, MetricsRegistry, startMetricsEndpoint, type MetricsEndpoint } from '@flotilla/metrics';
import { systemClock, type Clock } from '@flotilla/time';
import { GrpcAgentConnector } from './agents/grpc-agent-connector';
import { registerClusterMetrics } from './cluster-metrics';
import { schedulerFrom } from './scheduler-config';
import type { ManagerConfig } from './config';
import { createClusterService } from './service/cluster-service';
import { descriptorSetPath } from '@flotilla/proto/cluster';

export interface RunningManager {
  cluster: Cluster;
  containers: ClusterContainers;
  server: RunningServer;
  port: number;
  /** The Prometheus endpoint, when --metrics-address is set. */
  metrics?: MetricsEndpoint;
  stop(graceMs?: number): Promise<void>;
}

/** GetInfo's manager_version: this package's version (its build is in --version and the "configuration" log line). */
export const managerVersion = buildInfo(__dirname, '@flotilla/cluster-manager').version;

/** The cluster-manager: a Cluster over real agent connections, served over gRPC. */
export async function startManager(config: ManagerConfig, logger: Logger, clock: Clock = systemClock): Promise<RunningManager> {
  const connector = new GrpcAgentConnector({ security: config.security });
  const cluster = new Cluster({
    connector,
    clock,
    logger,
    overcommitRatio: config.overcommitRatio,
    createRetry: config.createRetry,
    heartbeatTolerance: config.heartbeatTolerance,
    heartbeatRate: config.heartbeatRate,
    flapWindowMs: config.flapWindowMs,
    flapThreshold: config.flapThreshold,
    discoveryGraceMs: config.discoveryGraceMs,
    reconnect: config.reconnect,
    pendingRetry: config.pendingRetry,
    strategy: config.strategy,
    filters: config.filters,
    maxQueuedEvents: config.maxQueuedEvents,
    maxEngines: config.maxEngines,
    maxPendingEngines: config.maxPendingEngines,
    version: managerVersion,
  });
  const scheduler = schedulerFrom(config);
  // A registry of its own per manager, so several in one process (tests) never share series.
  const metrics = config.metricsAddress ? new MetricsRegistry() : undefined;
  const clusterMetrics = metrics && registerClusterMetrics(metrics, cluster);
  const containers = new ClusterContainers({
    cluster,
    connector,
    scheduler,
    clock,
    logger,
    publish: (event) => cluster.publish(event),
    containerPolicy: config.containerPolicy,
    orphanGraceMs: config.orphanGraceMs,
    onPlacement: clusterMetrics?.placementDecided,
  });
  const volumes = new ClusterVolumes({ cluster, connector, clock, logger });
  const images = new ClusterImages({ cluster, connector, clock, logger });
  const networks = new ClusterNetworks({ cluster, connector, clock, logger });
  // Streams end on shutdown through each call's signal (libs/grpc call-scope.ts).
  const service = createClusterService({ cluster, containers, volumes, images, networks, logger, maxQueuedEvents: config.maxQueuedEvents });
  const server = await startServer({ address: config.listen, services: [service, versionService({ program: 'flotilla-cluster-manager', ...buildInfo(__dirname, '@flotilla/cluster-manager') })], security: config.security, callerLimits: config.callerLimits, descriptorSetPath, logger, observeCall: metrics && grpcCallMetrics(metrics) });
  let endpoint: MetricsEndpoint | undefined;
  if (metrics && config.metricsAddress) {
    endpoint = await startMetricsEndpoint({ address: config.metricsAddress, registry: metrics, logger }).catch(async (err: unknown) => {
      await server.shutdown(0);
      throw err;
    });
  }
  cluster.start();
  containers.startSweeping();
  for (const address of config.engines) cluster.addEngine(address);
  return {
    cluster,
    containers,
    server,
    port: server.port,
    metrics: endpoint,
    async stop(graceMs = 5000) {
      await server.shutdown(graceMs);
      await endpoint?.close();
      containers.shutdown();
      volumes.shutdown();
      images.shutdown();
      networks.shutdown();
      cluster.stop();
      connector.closeAll();
    },
  };
}
