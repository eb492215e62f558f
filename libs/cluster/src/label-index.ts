import type { Engine } from './engine';

/**
 * Validated engines by `label=value` (lower case), so placement narrows by constraint without a
 * scan of every engine.
 */
export class LabelIndex {
  private readonly byLabel = new Map<string, Set<Engine>>();
  /** The keys each engine is under, so it leaves exactly those when its labels change. */
  private readonly keysOf = new Map<Engine, string[]>();
  /** Each label's engines as an array (placement starts anywhere in it), made again after a change. */
  private readonly lists = new Map<string, readonly Engine[]>();

  withLabel(key: string, value: string): readonly Engine[] {
    const label = `${key}=${value}`;
    let list = this.lists.get(label);
    if (!list) {
      const set = this.byLabel.get(label);
      if (!set) return [];
      this.lists.set(label, (list = [...set]));
    }
    return list;
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
      this.lists.delete(key);
    }
    this.keysOf.set(engine, keys);
  }

  remove(engine: Engine): void {
    for (const key of this.keysOf.get(engine) ?? []) {
      const set = this.byLabel.get(key);
      set?.delete(engine);
      this.lists.delete(key);
      if (set?.size === 0) this.byLabel.delete(key);
    }
    this.keysOf.delete(engine);
  }
}
