import { buildInfo } from '@flotilla/config';
import { spreadAgentLinkKeepalive, startServer, versionService, type Keepalive, type Logger, type RunningServer, type Security, type CallerLimitsOptions } from '@flotilla/grpc';
import { grpcCallMetrics, MetricsRegistry, startMetricsEndpoint, type MetricsEndpoint } from '@flotilla/metrics';
import type { ContainerPolicy } from '@flotilla/policy';
import { systemClock, type Clock } from '@flotilla/time';
import { registerAgentMetrics } from './agent-metrics';
import type { DockerBackend } from './docker/docker-backend';
import { EngineMonitor } from './monitor/engine-monitor';
import { defaultReconcileIntervalMs } from './monitor/reconcile-diff';
import { createAgentService } from './service/agent-service';
import { descriptorSetPath } from '@flotilla/proto/agent';

export interface AgentOptions {
  backend: DockerBackend;
  listen: string;
  /** A loopback `host:port` for the Prometheus endpoint (GET /metrics); none when unset. */
  metricsAddress?: string;
  logger: Logger;
  heartbeatIntervalMs: number;
  /** How often the monitor reconciles its model with the engine; 0: never. Default 30s. */
  reconcileIntervalMs?: number;
  security: Security;
  callerLimits?: CallerLimitsOptions;
  clock?: Clock;
  keepalive?: Partial<Keepalive>;
  /** What creates may take of the host, per role the manager acts for; default: nothing. */
  containerPolicy?: ContainerPolicy;
}

export interface RunningAgent {
  server: RunningServer;
  monitor: EngineMonitor;
  port: number;
  /** The Prometheus endpoint, when `metricsAddress` is set. */
  metrics?: MetricsEndpoint;
  stop(graceMs?: number): Promise<void>;
}

/** An engine-agent over any Docker back end: the real one in the app, hollow ones in benchmarks. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const monitor = new EngineMonitor(options.backend, {
    clock: options.clock ?? systemClock,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    reconcileIntervalMs: options.reconcileIntervalMs ?? defaultReconcileIntervalMs,
    logger: options.logger,
  });
  // Streams end on shutdown through each call's signal (libs/grpc call-scope.ts).
  const service = createAgentService({ backend: options.backend, monitor, logger: options.logger, containerPolicy: options.containerPolicy });
  // A registry of its own per agent: benchmarks run thousands of agents in one process.
  const metrics = options.metricsAddress ? new MetricsRegistry() : undefined;
  const server = await startServer({
    address: options.listen,
    services: [service, versionService({ program: 'flotilla-engine-agent', ...buildInfo(__dirname, '@flotilla/engine-agent') })],
    security: options.security,
    callerLimits: options.callerLimits,
    descriptorSetPath,
    // An interval of this agent's own: grpc-js re-arms a server's ping timer when the ping is
    // answered, and a manager answers thousands of agents' pings in one turn of its loop, so
    // after any pause of it their next pings would come in one burst, and again every minute.
    keepalive: spreadAgentLinkKeepalive(options.keepalive),
    logger: options.logger,
    observeCall: metrics && grpcCallMetrics(metrics),
  });
  let endpoint: MetricsEndpoint | undefined;
  if (metrics && options.metricsAddress) {
    registerAgentMetrics(metrics, monitor);
    endpoint = await startMetricsEndpoint({ address: options.metricsAddress, registry: metrics, logger: options.logger }).catch(async (err: unknown) => {
      await server.shutdown(0);
      throw err;
    });
  }
  monitor.start();
  return {
    server,
    monitor,
    port: server.port,
    metrics: endpoint,
    async stop(graceMs = 5000) {
      await server.shutdown(graceMs);
      await endpoint?.close();
      await monitor.stop();
    },
  };
}
