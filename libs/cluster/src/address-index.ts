/**
 * Engine addresses in code-unit order (a JavaScript string `<`, the order page keys compare in,
 * see the manager's paging.ts), kept as engines join and leave, so a page of engines is "the next
 * N after this address" with no sort per call: a binary search, then N steps.
 *
 * A sorted array: add and delete find their place by binary search and move the tail by one (a
 * memmove, microseconds at 10,000s of addresses); reads are O(log n + N).
 */
export class AddressIndex {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Where the first address at or after `key` is (`size` when there is none). */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Where the first address after `key` is (`size` when there is none). */
  private upperBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(key: string): boolean {
    const i = this.lowerBound(key);
    return i < this.keys.length && this.keys[i] === key;
  }

  /** False when the address was already there. */
  add(key: string): boolean {
    const i = this.lowerBound(key);
    if (i < this.keys.length && this.keys[i] === key) return false;
    this.keys.splice(i, 0, key);
    return true;
  }

  /** False when the address was not there. */
  delete(key: string): boolean {
    const i = this.lowerBound(key);
    if (i >= this.keys.length || this.keys[i] !== key) return false;
    this.keys.splice(i, 1);
    return true;
  }

  /**
   * The addresses in order, from just after `after` or from `from` itself (from the first when
   * neither is given), while `take` answers true: it is called with each in turn and stops the
   * walk by answering false. Nothing may be added or deleted during the walk.
   */
  walk(start: { after?: string; from?: string }, take: (address: string) => boolean): void {
    const first = start.after !== undefined ? this.upperBound(start.after) : start.from !== undefined ? this.lowerBound(start.from) : 0;
    for (let i = first; i < this.keys.length; i++) {
      if (!take(this.keys[i])) return;
    }
  }

  /** Every address, in order (a copy). */
  toArray(): string[] {
    return [...this.keys];
  }
}
