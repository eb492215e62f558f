import { buildInfo } from '@flotilla/config';
import { createBackend, SourceState, type DiscoveryBackend, type KeyValueStore } from '@flotilla/discovery';
import { dial, dialTls, startServer, versionService, type Logger, type RunningServer } from '@flotilla/grpc';
import { grpcCallMetrics, MetricsRegistry, startMetricsEndpoint, type MetricsEndpoint } from '@flotilla/metrics';
import { ClusterServiceClient } from '@flotilla/proto/cluster';
import type { DiscoveryState } from '@flotilla/proto/discovery';
import { systemClock, type Clock } from '@flotilla/time';
import type { DiscoveryConfig } from './config';
import { registerDiscoveryMetrics } from './discovery-metrics';
import { ManagerPusher } from './push/manager-pusher';
import { createDiscoveryService } from './service/discovery-service';
import { StateFeed } from './state/state-feed';
import { descriptorSetPath } from '@flotilla/proto/discovery';

export interface RunningDiscovery {
  server: RunningServer;
  port: number;
  /** The Prometheus endpoint, when --metrics-address is set. */
  metrics?: MetricsEndpoint;
  state(): DiscoveryState;
  stop(graceMs?: number): Promise<void>;
}

export interface DiscoveryDeps {
  clock?: Clock;
  /** Replaces the etcd client (tests). */
  store?: KeyValueStore;
}

/**
 * The discovery service: a backend watching the source, the source's state (last good set,
 * generation, problems), one pusher per cluster-manager, and the read API over gRPC.
 */
export async function startDiscovery(config: DiscoveryConfig, logger: Logger, deps: DiscoveryDeps = {}): Promise<RunningDiscovery> {
  const clock = deps.clock ?? systemClock;
  const backend: DiscoveryBackend = createBackend(config.discovery, {
    clock,
    logger,
    etcdTls: config.etcdTls,
    retry: config.retry,
    fileRereadIntervalMs: config.fileRereadIntervalMs,
    store: deps.store,
  });
  const source = new SourceState(backend.source, clock);
  const feed = new StateFeed();
  const metrics = config.metricsAddress ? new MetricsRegistry() : undefined;
  const counts = metrics && registerDiscoveryMetrics(metrics, source, config.managers);

  const payload = () => {
    const s = source.snapshot();
    return s.generation === 0n ? undefined : { source: s.source, generation: s.generation, addresses: s.addresses };
  };
  const pushers: ManagerPusher[] = config.managers.map(
    (address) =>
      new ManagerPusher({
        address,
        client: dial(ClusterServiceClient, address, {
          tls: dialTls(config.security),
          defaultDeadlineMs: config.pushTimeoutMs,
          channelOptions: { 'grpc.initial_reconnect_backoff_ms': config.retry.initialMs, 'grpc.max_reconnect_backoff_ms': config.retry.maxMs },
        }),
        current: payload,
        clock,
        logger,
        retry: config.retry,
        pushIntervalMs: config.pushIntervalMs,
        pushTimeoutMs: config.pushTimeoutMs,
        onStatus: () => {
          feed.bump();
          // Called after each push: a status with no error is one that went through.
          counts?.pushed(address, pushers.find((p) => p.address === address)?.pushStatus.lastError === '');
        },
        onNewerGeneration: (held) => {
          if (!source.passGeneration(held)) return;
          feed.bump();
          for (const p of pushers) p.changed();
        },
      }),
  );

  const state = (): DiscoveryState => {
    const s = source.snapshot();
    return {
      source: s.source,
      generation: s.generation.toString(),
      addresses: s.addresses,
      problems: s.problems,
      updatedAt: s.updatedAt,
      sourceError: s.sourceError,
      managers: pushers.map((p) => {
        const status = p.pushStatus;
        return { address: status.address, generation: status.generation.toString(), pushedAt: status.pushedAt, lastError: status.lastError };
      }),
    };
  };

  // Watch streams end on shutdown through each call's signal (libs/grpc call-scope.ts).
  const service = createDiscoveryService({ state, feed, logger });
  const server = await startServer({ address: config.listen, services: [service, versionService({ program: 'flotilla-discovery', ...buildInfo(__dirname, '@flotilla/discovery-service') })], security: config.security, callerLimits: config.callerLimits, descriptorSetPath, logger, observeCall: metrics && grpcCallMetrics(metrics) });
  const endpoint: MetricsEndpoint | undefined =
    metrics && config.metricsAddress
      ? await startMetricsEndpoint({ address: config.metricsAddress, registry: metrics, logger }).catch(async (err: unknown) => {
          await server.shutdown(0);
          await backend.close();
          for (const p of pushers) p.close();
          throw err;
        })
      : undefined;
  logger.info('discovery started', { source: backend.source, managers: config.managers });

  let lastProblems = '';
  backend.watch((update) => {
    const before = source.snapshot();
    const change = source.apply(update);
    const after = source.snapshot();
    if (update.kind === 'error') {
      if (change.changed) logger.warn('cannot read the discovery source; keeping the last good set', { source: after.source, error: after.sourceError, engines: after.addresses.length });
    } else {
      if (before.sourceError) logger.info('discovery source readable again', { source: after.source });
      const problems = JSON.stringify(after.problems);
      if (problems !== lastProblems && after.problems.length > 0) logger.warn('discovery entries skipped', { source: after.source, problems: after.problems });
      lastProblems = problems;
      if (change.addressesChanged) {
        logger.info('engine set changed', { source: after.source, generation: after.generation, engines: after.addresses.length, added: change.added, removed: change.removed });
        for (const p of pushers) p.changed();
      }
    }
    if (change.changed) feed.bump();
  });
  for (const p of pushers) p.start();

  let stopped: Promise<void> | undefined;
  return {
    server,
    port: server.port,
    metrics: endpoint,
    state,
    stop(graceMs = 5000) {
      stopped ??= (async () => {
        await server.shutdown(graceMs);
        await endpoint?.close();
        await backend.close();
        for (const p of pushers) p.close();
      })();
      return stopped;
    },
  };
}
