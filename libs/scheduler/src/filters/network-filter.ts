import type { Filter } from './filter';

/**
 * The engine must hold the user-defined network the container joins, when one of the cluster's
 * engines holds it: each engine's networks are its own, so a container that names one goes where
 * it exists (Docker would refuse the create elsewhere).
 */
export const networkFilter: Filter = {
  name: 'network',
  applies: (request) => (request.networks?.length ?? 0) > 0,
  reject(engine, request) {
    const missing = (request.networks ?? []).filter((ref) => !engine.hasNetwork(ref));
    return missing.length ? `does not hold network ${missing.map((m) => JSON.stringify(m)).join(', ')}, which the container joins and another engine holds` : null;
  },
};
