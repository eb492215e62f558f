import type { Engine } from './engine';

/**
 * Validated engines by `label=value` (lower case), so placement narrows by constraint without a
 * scan of every engine.
 */
export class LabelIndex {
  private readonly byLabel = new Map<string, Set<Engine>>();
  /** The keys each engine is under, so it leaves exactly those when its labels change. */
  private readonly keysOf = new Map<Engine, string[]>();

  withLabel(key: string, value: string): Iterable<Engine> {
    return this.byLabel.get(`${key}=${value}`) ?? [];
  }

  countWithLabel(key: string, value: string): number {
    return this.byLabel.get(`${key}=${value}`)?.size ?? 0;
  }

  /** Indexes the engine by its labels now, in place of those it was indexed by. */
  add(engine: Engine): void {
    this.remove(engine);
    const keys = Object.entries(engine.labels).map(([k, v]) => `${k.toLowerCase()}=${v.toLowerCase()}`);
    for (const key of keys) {
      let set = this.byLabel.get(key);
      if (!set) this.byLabel.set(key, (set = new Set()));
      set.add(engine);
    }
    this.keysOf.set(engine, keys);
  }

  remove(engine: Engine): void {
    for (const key of this.keysOf.get(engine) ?? []) {
      const set = this.byLabel.get(key);
      set?.delete(engine);
      if (set?.size === 0) this.byLabel.delete(key);
    }
    this.keysOf.delete(engine);
  }
}
