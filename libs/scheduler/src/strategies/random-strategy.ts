import { weighResources, type Strategy } from './strategy';

/** Any engine that fits, at random: each gets a random weight and the lowest wins. */
export function randomStrategy(random: () => number = Math.random): Strategy {
  return {
    name: 'random',
    sampleable: true,
    weigh(engine, request, overcommit) {
      const fit = weighResources(engine, request, overcommit, 0);
      return 'reason' in fit ? fit : { weight: random() };
    },
    better: (a, b) => a.weight < b.weight,
  };
}
