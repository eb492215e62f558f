import type { Filter } from './filter';

/**
 * The engine must hold every named volume the container mounts that exists in the cluster: a
 * named volume lives on one engine, so a container that mounts it goes where it is, as classic
 * Swarm's dependency filter kept `--volumes-from` beside its container. Volumes that exist
 * nowhere are not in the request (Docker creates them on the chosen engine).
 */
export const volumeFilter: Filter = {
  name: 'volume',
  applies: (request) => (request.volumes?.length ?? 0) > 0,
  reject(engine, request) {
    const missing = (request.volumes ?? []).filter((name) => !engine.hasVolume(name));
    return missing.length ? `does not hold volume${missing.length > 1 ? 's' : ''} ${missing.map((m) => JSON.stringify(m)).join(', ')}, which the container mounts and another engine holds` : null;
  },
};
