import { InvalidArgumentError } from '@flotilla/grpc';
import { EngineStatus, type ClusterEngine } from '@flotilla/proto';
import type { Engine, EngineStatusName } from './engine';

const toStatus: Record<EngineStatusName, EngineStatus> = {
  pending: EngineStatus.ENGINE_STATUS_PENDING,
  healthy: EngineStatus.ENGINE_STATUS_HEALTHY,
  unhealthy: EngineStatus.ENGINE_STATUS_UNHEALTHY,
  disconnected: EngineStatus.ENGINE_STATUS_DISCONNECTED,
};

export function engineStatusOf(name: EngineStatusName): EngineStatus {
  return toStatus[name];
}

export function engineStatusName(status: EngineStatus, field = 'statuses'): EngineStatusName {
  const found = (Object.keys(toStatus) as EngineStatusName[]).find((k) => toStatus[k] === status);
  if (!found) throw InvalidArgumentError.field(field, status, 'expected PENDING, HEALTHY, UNHEALTHY or DISCONNECTED');
  return found;
}

/** Capacity with overcommit: total · (1 + ratio). */
export function usable(total: number, overcommitRatio: number): number {
  return Math.floor(total * (1 + overcommitRatio));
}

/** The engine as the cluster API shows it. */
export function engineView(engine: Engine, health: number, overcommitRatio: number): ClusterEngine {
  const { running, paused, stopped } = engine.tally;
  return {
    address: engine.address,
    id: engine.id,
    name: engine.name,
    status: engineStatusOf(engine.status),
    failureCount: engine.failureCount,
    lastError: engine.lastError,
    updatedAt: new Date(engine.updatedAt),
    health,
    info: engine.info,
    containers: { running, paused, stopped, total: running + paused + stopped },
    reservedNanoCpus: String(engine.reservedNanoCpus),
    reservedMemoryBytes: String(engine.reservedMemoryBytes),
    usableNanoCpus: String(usable(engine.cpus * 1e9, overcommitRatio)),
    usableMemoryBytes: String(usable(engine.memoryBytes, overcommitRatio)),
    images: engine.images.size,
  };
}
