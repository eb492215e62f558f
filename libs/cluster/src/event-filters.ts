import { InvalidArgumentError } from '@flotilla/errors';
import type { ClusterEvent, WatchEventsRequest } from '@flotilla/proto/cluster';
import { normaliseEngineAddress } from './engine-address';

export type EventFilterRequest = Pick<WatchEventsRequest, 'types' | 'engines' | 'containers'>;

/**
 * The test a WatchEvents request's filters make: every filter given must match (types, engines by
 * address, ID or name, containers by ID, an ID prefix of 12 or more characters, or name); an empty one matches
 * all. An empty engine or container reference is INVALID_ARGUMENT.
 */
export function clusterEventFilter(request: EventFilterRequest): (event: ClusterEvent) => boolean {
  const types = new Set(request.types.map((t) => t.trim().toLowerCase()).filter(Boolean));
  const engines = request.engines.map((ref, i) => {
    if (!ref.trim()) throw InvalidArgumentError.field(`engines[${i}]`, ref, 'must not be empty');
    try {
      return normaliseEngineAddress(ref.trim());
    } catch {
      return ref.trim(); // an ID or a name
    }
  });
  const containers = request.containers.map((ref, i) => {
    if (!ref.trim()) throw InvalidArgumentError.field(`containers[${i}]`, ref, 'must not be empty');
    return ref.trim();
  });
  const matchesEngine = (e: ClusterEvent) => engines.some((ref) => ref === e.engine?.id || ref === e.engine?.name || ref === e.engine?.address);
  const matchesContainer = (e: ClusterEvent) => {
    if (e.type !== 'container') return false;
    const id = e.docker?.actorId ?? '';
    const names = [e.docker?.actorAttributes.name, ...(e.container?.names ?? [])];
    return containers.some((ref) => ref === id || (ref.length >= 12 && id.startsWith(ref)) || names.includes(ref));
  };
  return (e) => (!types.size || types.has(e.type)) && (!engines.length || matchesEngine(e)) && (!containers.length || matchesContainer(e));
}
