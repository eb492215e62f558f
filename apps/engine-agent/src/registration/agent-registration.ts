import { createRegistrar, register, type DiscoveryUri, type Registration } from '@flotilla/discovery';
import type { Logger, TlsFiles } from '@flotilla/grpc';
import type { Clock } from '@flotilla/time';

export interface AgentRegistrationOptions {
  discovery: DiscoveryUri;
  /** HOST:PORT the cluster-manager dials to reach this agent. */
  address: string;
  heartbeatMs: number;
  ttlMs: number;
  /** True while the agent's Docker engine is reachable (EngineMonitor.engineState.reachable). */
  engineReachable: () => boolean;
  etcdTls?: TlsFiles;
  logger: Logger;
  clock?: Clock;
}

export interface AgentRegistration {
  readonly registered: boolean;
  /** Stops renewing and closes the connection to the store; the entry lapses after its TTL. */
  stop(): Promise<void>;
}

/**
 * Registers the agent's advertised address in discovery (`swarm join --advertise --heartbeat
 * --ttl`), renewed only while its Docker engine is reachable: a manager should not be sent to an
 * agent whose engine is down, and a killed agent stops renewing by itself. Either way the entry
 * lapses after the TTL and discovery removes the engine from the cluster.
 *
 * A graceful stop does not deregister: an agent restarted within the TTL keeps its engine in the
 * cluster instead of removing and re-adding it.
 */
export function startAgentRegistration(options: AgentRegistrationOptions): AgentRegistration {
  const registrar = createRegistrar(options.discovery, { etcdTls: options.etcdTls, logger: options.logger });
  let registration: Registration;
  try {
    registration = register(registrar, options.address, options.heartbeatMs, options.ttlMs, options.engineReachable, { clock: options.clock, logger: options.logger });
  } catch (err) {
    void registrar.close();
    throw err;
  }
  options.logger.info('registering in discovery', { discovery: options.discovery.source, advertise: options.address, heartbeatMs: options.heartbeatMs, ttlMs: options.ttlMs });
  return {
    get registered() {
      return registration.registered;
    },
    async stop() {
      await registration.stop();
      await registrar.close();
    },
  };
}
