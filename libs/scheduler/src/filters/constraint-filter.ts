import { holds, type Expression } from '../expression';
import type { PlacementEngine } from '../placement-engine';
import type { Filter } from './filter';

/** The engine's value for a constraint key: `node` is its name and ID; other keys are labels (missing: ""). */
export function constraintValues(engine: PlacementEngine, key: string): string[] {
  return key === 'node' ? [engine.name, engine.id] : [labelValue(engine, key)];
}

function labelValue(engine: PlacementEngine, key: string): string {
  const direct = engine.labels[key];
  if (direct !== undefined) return direct;
  for (const k in engine.labels) if (k.toLowerCase() === key) return engine.labels[k];
  return '';
}

export function constraintHolds(engine: PlacementEngine, c: Expression): boolean {
  // The hot path: one label, no arrays.
  if (c.key !== 'node') return c.matches(labelValue(engine, c.key)) !== c.negated;
  return holds(c, constraintValues(engine, c.key));
}

/** Engine constraints: `node==name|id`, other keys match engine labels. */
export const constraintFilter: Filter = {
  name: 'constraint',
  applies: (request) => request.constraints.length > 0,
  reject(engine, request, pass) {
    for (const c of request.constraints) {
      if (c.soft && !pass.soft) continue;
      if (!constraintHolds(engine, c)) {
        const actual = c.key === 'node' ? `engine is ${engine.name} (${engine.id.slice(0, 14)})` : `label ${c.key} is ${JSON.stringify(constraintValues(engine, c.key)[0])}`;
        return `constraint ${c.text} does not hold: ${actual}`;
      }
    }
    return null;
  },
};
