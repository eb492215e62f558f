import { byAddress, weighResources, type Strategy } from './strategy';

/** Highest weight wins (the fullest engine that fits); ties go to the engine with more containers. */
export const binpackStrategy: Strategy = {
  name: 'binpack',
  sampleable: false,
  weigh: (engine, request, overcommit) => weighResources(engine, request, overcommit, 10),
  better: (a, b) =>
    a.weight !== b.weight ? a.weight > b.weight : a.engine.containerCount !== b.engine.containerCount ? a.engine.containerCount > b.engine.containerCount : byAddress(a, b),
};
