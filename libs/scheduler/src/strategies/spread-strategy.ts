import { byAddress, weighResources, type Strategy } from './strategy';

/** Lowest weight wins (the emptiest engine); ties go to the engine with fewer containers. */
export const spreadStrategy: Strategy = {
  name: 'spread',
  sampleable: true,
  weigh: (engine, request, overcommit) => weighResources(engine, request, overcommit, -10),
  better: (a, b) =>
    a.weight !== b.weight ? a.weight < b.weight : a.engine.containerCount !== b.engine.containerCount ? a.engine.containerCount < b.engine.containerCount : byAddress(a, b),
};
