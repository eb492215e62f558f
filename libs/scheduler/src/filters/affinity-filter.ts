import { holds, type Expression } from '../expression';
import type { PlacementEngine } from '../placement-engine';
import type { Filter } from './filter';

function valuesFor(engine: PlacementEngine, expression: Expression): Iterable<string> {
  switch (expression.key) {
    case 'container':
      return engine.containerRefs();
    case 'image':
      return engine.imageRefs();
    default:
      return engine.containerLabelValues(expression.key);
  }
}

function satisfied(engine: PlacementEngine, expression: Expression): boolean {
  if (expression.key === 'image' && expression.literal !== undefined) {
    const has = engine.hasImage(expression.value);
    return expression.negated ? !has : has;
  }
  // A plain container reference may be an ID prefix (as `docker ps` shows), which only hasContainer knows.
  if (expression.key === 'container' && expression.literal !== undefined && engine.hasContainer(expression.value)) return !expression.negated;
  return holds(expression, valuesFor(engine, expression));
}

/** Affinities to containers (`container==web`), images (`image==redis`) or container labels. */
export const affinityFilter: Filter = {
  name: 'affinity',
  applies: (request) => request.affinities.length > 0,
  reject(engine, request, pass) {
    for (const a of request.affinities) {
      if (a.soft && !pass.soft) continue;
      if (!satisfied(engine, a)) return `affinity ${a.text} does not hold`;
    }
    return null;
  },
};
