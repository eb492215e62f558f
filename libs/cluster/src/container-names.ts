/** What the name index asks of an engine. */
export interface NameHolder {
  /** Whether a container on the engine, or one being created there, has this exact name. */
  hasName(name: string): boolean;
  /** Whether the engine left the cluster. */
  readonly removed: boolean;
}

/**
 * Which engines hold each container name, so the cluster-wide check a create makes ("is this name
 * taken anywhere?") reads one entry instead of asking every engine. Engines tell it when a name
 * comes and goes; the engine stays the truth: an entry is dropped only once its engine no longer
 * holds the name, or has left the cluster.
 */
export class ContainerNameIndex<E extends NameHolder = NameHolder> {
  private readonly holders = new Map<string, Set<E>>();

  /** The engine now holds `name`. */
  held(name: string, engine: E): void {
    let engines = this.holders.get(name);
    if (!engines) this.holders.set(name, (engines = new Set()));
    engines.add(engine);
  }

  /** The engine may have let go of `name` (it may still hold it through another container or a create). */
  released(name: string, engine: E): void {
    const engines = this.holders.get(name);
    if (!engines || engine.hasName(name)) return;
    engines.delete(engine);
    if (engines.size === 0) this.holders.delete(name);
  }

  /** The engine left the cluster: it holds none of `names` any more. */
  forget(engine: E, names: Iterable<string>): void {
    for (const name of names) {
      const engines = this.holders.get(name);
      if (!engines?.delete(engine)) continue;
      if (engines.size === 0) this.holders.delete(name);
    }
  }

  /** Whether an engine for which `counts` holds (e.g. a validated one) holds `name`. */
  taken(name: string, counts: (engine: E) => boolean): boolean {
    const engines = this.holders.get(name);
    if (!engines) return false;
    let found = false;
    for (const engine of engines) {
      if (engine.removed || !engine.hasName(name)) engines.delete(engine);
      else if (counts(engine)) found = true;
    }
    if (engines.size === 0) this.holders.delete(name);
    return found;
  }

  /** Names held, for tests and metrics. */
  get size(): number {
    return this.holders.size;
  }
}
