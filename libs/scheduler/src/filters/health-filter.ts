import type { Filter } from './filter';

/** Only engines whose health is above 0 (healthy, and not flapping away). */
export const healthFilter: Filter = {
  name: 'health',
  applies: () => true,
  reject: (engine) => (engine.healthScore() > 0 ? null : 'engine is not healthy'),
};
