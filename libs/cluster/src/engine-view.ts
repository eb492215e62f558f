import { InvalidArgumentError } from '@flotilla/errors';
import { EngineStatus, type ClusterEngine, type EngineRef } from '@flotilla/proto';
import { addressIp } from '@flotilla/scheduler';
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

/** How events, containers and placements name an engine: ID, name, address and, as classic Swarm's node did, IP. */
export function engineRef(engine: Engine): EngineRef {
  return { id: engine.id, name: engine.name, address: engine.address, ip: addressIp(engine.address) };
}

const classicActions: Readonly<Record<string, string>> = { connect: 'engine_connect', disconnect: 'engine_disconnect', reconnect: 'engine_reconnect' };

/** Classic Swarm's name of an engine event's action (engine_connect, ...); empty where classic had none. */
export function classicEngineAction(action: string): string {
  return classicActions[action] ?? '';
}

/** Capacity with overcommit: total · (1 + ratio). */
export function usable(total: number, overcommitRatio: number): number {
  const exact = total * (1 + overcommitRatio);
  // 1 + ratio is rarely exact in binary (1 + 0.15 is 1.1499999999999999), so a whole product can
  // land a hair below it (3e9 · 1.15 gave 3449999999): take a value within rounding error of a
  // whole number as that number before flooring.
  const whole = Math.round(exact);
  return Math.abs(exact - whole) <= Math.abs(exact) * 4 * Number.EPSILON ? whole : Math.floor(exact);
}

/** Why an engine is in the cluster: added by hand, listed by discovery sources, or both. */
export interface EngineMembership {
  addedByHand: boolean;
  /** Each as the discovery identity, a space and the source (the source alone without an identity). */
  discoverySources: string[];
}

/** The engine as the cluster API shows it. */
export function engineView(engine: Engine, health: number, overcommitRatio: number, membership: EngineMembership = { addedByHand: false, discoverySources: [] }): ClusterEngine {
  const { running, paused, stopped } = engine.tally;
  const until = engine.flappingUntil();
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
    healthState: engine.healthState(),
    recentFailures: engine.recentFailures(),
    flappingUntil: until === undefined ? undefined : new Date(until),
    addedByHand: membership.addedByHand,
    discoverySources: membership.discoverySources,
  };
}
