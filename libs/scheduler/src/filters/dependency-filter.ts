import type { Filter } from './filter';

/** The engine must hold every container the new one depends on (volumes-from, links, container network). */
export const dependencyFilter: Filter = {
  name: 'dependency',
  applies: (request) => request.dependencies.length > 0,
  reject(engine, request) {
    const missing = request.dependencies.filter((ref) => !engine.hasContainer(ref));
    return missing.length ? `does not hold ${missing.map((m) => JSON.stringify(m)).join(', ')}, which the container depends on` : null;
  },
};
