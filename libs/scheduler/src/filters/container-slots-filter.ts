import type { Filter } from './filter';

export const containerSlotsLabel = 'containerslots';

/** An engine labelled `containerslots=N` takes at most N containers. */
export const containerSlotsFilter: Filter = {
  name: 'containerslots',
  applies: () => true,
  reject(engine) {
    const text = engine.labels[containerSlotsLabel];
    if (text === undefined) return null;
    // Number('') is 0: a blank label is invalid (ignored), not a cap of 0.
    const slots = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isInteger(slots) || slots < 0) return null;
    return engine.containerCount >= slots ? `all ${slots} container slots are taken` : null;
  },
};
