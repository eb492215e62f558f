import type { Filter } from './filter';

/**
 * Only engines whose health is above 0: healthy ones. A flapping engine passes (its health is
 * low, so the strategies place on it only when no steadier engine fits); the reason says the
 * engine's state in the word info and engine ls show.
 */
export const healthFilter: Filter = {
  name: 'health',
  applies: () => true,
  reject: (engine) => (engine.healthScore() > 0 ? null : `engine is ${engine.healthText?.() ?? 'not healthy'}`),
};
