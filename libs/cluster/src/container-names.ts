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
 * holds the name, or has left the cluster. A name held by one engine (the usual case) costs one
 * map entry; only a name several engines hold gets a set.
 */
export class ContainerNameIndex<E extends NameHolder = NameHolder> {
  private readonly holders = new Map<string, E | Set<E>>();

  /** The engine now holds `name`. */
  held(name: string, engine: E): void {
    const entry = this.holders.get(name);
    if (entry === undefined || entry === engine) this.holders.set(name, engine);
    else if (entry instanceof Set) entry.add(engine);
    else this.holders.set(name, new Set([entry, engine]));
  }

  /** The engine may have let go of `name` (it may still hold it through another container or a create). */
  released(name: string, engine: E): void {
    if (!engine.hasName(name)) this.drop(name, engine);
  }

  /** The engine left the cluster: it holds none of `names` any more. */
  forget(engine: E, names: Iterable<string>): void {
    for (const name of names) this.drop(name, engine);
  }

  /** Whether an engine for which `counts` holds (e.g. a validated one) holds `name`. */
  taken(name: string, counts: (engine: E) => boolean): boolean {
    const entry = this.holders.get(name);
    if (entry === undefined) return false;
    let found = false;
    for (const engine of entry instanceof Set ? [...entry] : [entry]) {
      if (engine.removed || !engine.hasName(name)) this.drop(name, engine);
      else if (counts(engine)) found = true;
    }
    return found;
  }

  /** Names held, for tests and metrics. */
  get size(): number {
    return this.holders.size;
  }

  private drop(name: string, engine: E): void {
    const entry = this.holders.get(name);
    if (entry === engine) this.holders.delete(name);
    else if (entry instanceof Set && entry.delete(engine) && entry.size === 1) this.holders.set(name, entry.values().next().value!);
  }
}
