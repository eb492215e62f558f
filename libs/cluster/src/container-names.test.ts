import { ContainerNameIndex, type NameHolder } from './container-names';

class Holder implements NameHolder {
  readonly names = new Set<string>();
  removed = false;
  hasName(name: string): boolean {
    return this.names.has(name);
  }
}

const every = () => true;

describe('ContainerNameIndex', () => {
  it('finds a name while some engine holds it, and forgets it once none does', () => {
    const index = new ContainerNameIndex<Holder>();
    const a = new Holder();
    const b = new Holder();
    for (const e of [a, b]) {
      e.names.add('web');
      index.held('web', e);
    }
    expect(index.taken('web', every)).toBe(true);
    a.names.delete('web');
    index.released('web', a);
    expect(index.taken('web', every)).toBe(true);
    b.names.delete('web');
    index.released('web', b);
    expect(index.taken('web', every)).toBe(false);
    expect(index.size).toBe(0);
  });

  it('keeps a name an engine still holds through another container or a create', () => {
    const index = new ContainerNameIndex<Holder>();
    const a = new Holder();
    a.names.add('db');
    index.held('db', a);
    index.held('db', a);
    index.released('db', a); // the engine still says it holds it
    expect(index.taken('db', every)).toBe(true);
  });

  it('counts only the engines the caller counts, and drops engines that left or no longer hold the name', () => {
    const index = new ContainerNameIndex<Holder>();
    const pending = new Holder();
    pending.names.add('x');
    index.held('x', pending);
    expect(index.taken('x', (e) => e !== pending)).toBe(false);
    expect(index.size).toBe(1); // a pending engine may count later
    pending.removed = true;
    expect(index.taken('x', every)).toBe(false);
    expect(index.size).toBe(0);

    const stale = new Holder();
    index.held('y', stale); // told of a name it no longer has
    expect(index.taken('y', every)).toBe(false);
    expect(index.size).toBe(0);
  });

  it('forgets every name of an engine that left', () => {
    const index = new ContainerNameIndex<Holder>();
    const gone = new Holder();
    const stays = new Holder();
    for (const n of ['a', 'b', 'c']) {
      gone.names.add(n);
      index.held(n, gone);
    }
    stays.names.add('c');
    index.held('c', stays);
    index.forget(gone, gone.names);
    expect(index.size).toBe(1);
    expect(index.taken('c', every)).toBe(true);
    expect(index.taken('a', every)).toBe(false);
  });
});
