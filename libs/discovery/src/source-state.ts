import { systemClock, type Clock } from '@flotilla/time';
import type { DiscoveryUpdate } from './backend';
import type { EntryProblem } from './entries';

export interface SourceSnapshot {
  source: string;
  /** 0 before the first good read. */
  generation: bigint;
  addresses: string[];
  problems: EntryProblem[];
  /** When anything here last changed; undefined before the first read. */
  updatedAt: Date | undefined;
  /** Why the source could not be read the last time; empty when it could. */
  sourceError: string;
}

/** What one update changed. */
export interface SourceChange {
  /** The address set changed: the generation grew and managers need a push. */
  addressesChanged: boolean;
  /** Anything shown to readers changed (addresses, problems, the source error). */
  changed: boolean;
  added: string[];
  removed: string[];
}

function sameProblems(a: readonly EntryProblem[], b: readonly EntryProblem[]): boolean {
  return a.length === b.length && a.every((p, i) => p.position === b[i].position && p.entry === b[i].entry && p.error === b[i].error);
}

/**
 * What discovery currently believes about one source: the last good set, its problems and
 * generation, and why the last read failed, if it did. An error never empties the set.
 *
 * The generation starts at the clock's reading in milliseconds (not at 1) and grows by one per
 * change: the cluster-manager ignores a push whose generation is not above the last one it applied
 * for the source, so a restarted discovery must start above anything it pushed before.
 */
export class SourceState {
  private generation = 0n;
  private addresses: string[] = [];
  private problems: EntryProblem[] = [];
  private sourceError = '';
  private updatedAt: Date | undefined;
  private readonly clock: Clock;

  constructor(
    readonly source: string,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
  }

  apply(update: DiscoveryUpdate): SourceChange {
    const now = new Date(this.clock.now());
    if (update.kind === 'error') {
      const changed = update.error.message !== this.sourceError;
      this.sourceError = update.error.message;
      if (changed) this.updatedAt = now;
      return { addressesChanged: false, changed, added: [], removed: [] };
    }
    const next = update.entries.addresses;
    const before = new Set(this.addresses);
    const after = new Set(next);
    const added = next.filter((a) => !before.has(a));
    const removed = this.addresses.filter((a) => !after.has(a));
    const first = this.generation === 0n;
    const addressesChanged = first || added.length > 0 || removed.length > 0;
    const changed = addressesChanged || this.sourceError !== '' || !sameProblems(this.problems, update.entries.problems) || next.join() !== this.addresses.join();
    if (addressesChanged) this.generation = first ? BigInt(Math.max(1, Math.floor(this.clock.now()))) : this.generation + 1n;
    this.addresses = [...next];
    this.problems = update.entries.problems;
    this.sourceError = '';
    if (changed) this.updatedAt = now;
    return { addressesChanged, changed, added, removed };
  }

  /**
   * Moves the generation past one a cluster-manager already holds for this source (pushed by an
   * earlier run whose clock was ahead), so the current set is not ignored.
   */
  passGeneration(held: bigint): boolean {
    if (held <= this.generation || this.generation === 0n) return false;
    this.generation = held + 1n;
    this.updatedAt = new Date(this.clock.now());
    return true;
  }

  snapshot(): SourceSnapshot {
    return {
      source: this.source,
      generation: this.generation,
      addresses: [...this.addresses],
      problems: [...this.problems],
      updatedAt: this.updatedAt,
      sourceError: this.sourceError,
    };
  }
}
