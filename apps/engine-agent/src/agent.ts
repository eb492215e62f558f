import { startServer, type Keepalive, type Logger, type RunningServer, type Security, type CallerLimitsOptions } from '@flotilla/grpc';
import type { ContainerPolicy } from '@flotilla/policy';
import { descriptorSetPath } from '@flotilla/proto';
import { systemClock, type Clock } from '@flotilla/time';
import type { DockerBackend } from './docker/docker-backend';
import { EngineMonitor } from './monitor/engine-monitor';
import { defaultReconcileIntervalMs } from './monitor/reconcile-diff';
import { createAgentService } from './service/agent-service';

export interface AgentOptions {
  backend: DockerBackend;
  listen: string;
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
  const server = await startServer({
    address: options.listen,
    services: [service],
    security: options.security,
    callerLimits: options.callerLimits,
    descriptorSetPath,
    keepalive: options.keepalive,
    logger: options.logger,
  });
  monitor.start();
  return {
    server,
    monitor,
    port: server.port,
    async stop(graceMs = 5000) {
      await server.shutdown(graceMs);
      await monitor.stop();
    },
  };
}
