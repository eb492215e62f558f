import fc from 'fast-check';
import { FakeClock } from '@flotilla/time';
import { AddressIndex } from './address-index';
import { Cluster } from './cluster';
import type { Engine } from './engine';
import type { EngineFilter } from './engine-registry';
import { engineSnapshot, FakeAgents } from './testing';

const codeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function walked(index: AddressIndex, start: { after?: string; from?: string } = {}, most = Infinity): string[] {
  const out: string[] = [];
  index.walk(start, (a) => {
    out.push(a);
    return out.length < most;
  });
  return out;
}

describe('AddressIndex', () => {
  it('keeps addresses in code-unit order (as page keys compare), not locale order', () => {
    const index = new AddressIndex();
    for (const a of ['b:1', 'B:1', 'a:1', '[::1]:1', '\u00e9:1', 'e:1', '\u{1F600}:1', '\uff21:1', '10.0.0.10:1', '10.0.0.9:1']) expect(index.add(a)).toBe(true);
    expect(index.toArray()).toEqual(['10.0.0.10:1', '10.0.0.9:1', 'B:1', '[::1]:1', 'a:1', 'b:1', 'e:1', '\u00e9:1', '\u{1F600}:1', '\uff21:1']);
    expect(index.size).toBe(10);
  });

  it('adds and deletes once, and walks from after or at an address, whether the address is held or not', () => {
    const index = new AddressIndex();
    for (const a of ['c', 'a', 'e']) index.add(a);
    expect(index.add('c')).toBe(false);
    expect(index.size).toBe(3);
    expect(walked(index)).toEqual(['a', 'c', 'e']);
    expect(walked(index, { after: '' })).toEqual(['a', 'c', 'e']);
    expect(walked(index, { after: 'a' })).toEqual(['c', 'e']);
    expect(walked(index, { after: 'b' })).toEqual(['c', 'e']);
    expect(walked(index, { from: 'c' })).toEqual(['c', 'e']);
    expect(walked(index, { from: 'd' })).toEqual(['e']);
    expect(walked(index, { after: 'e' })).toEqual([]);
    expect(walked(index, { after: 'a' }, 1)).toEqual(['c']);
    expect(index.delete('c')).toBe(true);
    expect(index.delete('c')).toBe(false);
    expect(index.has('c')).toBe(false);
    expect(index.has('e')).toBe(true);
    expect(walked(index, { from: 'c' })).toEqual(['e']);
  });

  it('matches a sorted set under any sequence of adds and deletes', () => {
    const op = fc.tuple(fc.boolean(), fc.string({ unit: fc.constantFrom('a', 'b', 'Z', 'é', '\u{1F600}', ':', '1'), maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.string({ maxLength: 3 }), (ops, probe) => {
        const index = new AddressIndex();
        const model = new Set<string>();
        for (const [add, key] of ops) {
          if (add) expect(index.add(key)).toBe(!model.has(key));
          else expect(index.delete(key)).toBe(model.has(key));
          if (add) model.add(key);
          else model.delete(key);
        }
        const sorted = [...model].sort(codeUnits);
        expect(index.toArray()).toEqual(sorted);
        expect(walked(index, { after: probe })).toEqual(sorted.filter((k) => k > probe));
        expect(walked(index, { from: probe })).toEqual(sorted.filter((k) => k >= probe));
      }),
    );
  });
});

/** A cluster of validated engines on fake agents. */
function harness() {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5 });
  let ids = 0;
  const add = (address: string, labels: Record<string, string> = {}): Engine => {
    cluster.addEngine(address);
    const id = `E${ids++}`;
    agents.snapshot(address, engineSnapshot(id, { name: `node-${id}`, labels }));
    return cluster.engines.get(id)!;
  };
  return { clock, agents, cluster, add };
}

/** Every page of engine addresses after the last one read, `size` at a time, as ListEngines reads them. */
function page(cluster: Cluster, after: string, size: number, filter: EngineFilter = {}): string[] {
  return cluster.listEngines({ ...filter, afterAddress: after, limit: size }).map((e) => e.address);
}

describe('the cluster in address order (listEngines with afterAddress)', () => {
  it('lists every engine, pending ones too, by address, from after an address, at most limit', () => {
    const { cluster, add } = harness();
    const addresses = ['10.0.0.9:4250', '10.0.0.10:4250', 'b.example:4250', 'a.example:4250', '[::1]:4250'];
    for (const a of addresses) add(a);
    cluster.addEngine('10.0.0.1:4250'); // pending
    const sorted = [...addresses, '10.0.0.1:4250'].sort(codeUnits);
    expect(page(cluster, '', 100)).toEqual(sorted);
    expect(page(cluster, '', 2)).toEqual(sorted.slice(0, 2));
    expect(page(cluster, sorted[1], 2)).toEqual(sorted.slice(2, 4));
    expect(page(cluster, '10.0.0.2', 100)).toEqual(sorted.filter((a) => a > '10.0.0.2'));
    expect(cluster.listEngines({ fromAddress: sorted[3] }).map((e) => e.address)).toEqual(sorted.slice(3));
    expect(page(cluster, sorted.at(-1)!, 100)).toEqual([]);
    expect(page(cluster, '', 0)).toEqual([]);
    // Without afterAddress the order stays by name, then address.
    expect(cluster.listEngines().map((e) => e.address)).toEqual([...cluster.listEngines()].sort((a, b) => (a.name || a.address).localeCompare(b.name || b.address) || a.address.localeCompare(b.address)).map((e) => e.address));
  });

  it('filters by status, labels and validation as the name-ordered listing does', () => {
    const { cluster, agents, add } = harness();
    add('10.0.0.1:4250', { zone: 'a', disk: 'ssd' });
    add('10.0.0.2:4250', { zone: 'b' });
    add('10.0.0.3:4250', { zone: 'a' });
    add('10.0.0.4:4250');
    cluster.addEngine('10.0.0.5:4250');
    agents.end('10.0.0.3:4250');
    const filters: EngineFilter[] = [{}, { statuses: ['healthy'] }, { statuses: ['unhealthy', 'pending'] }, { labels: { zone: 'a' } }, { labels: { zone: '*' } }, { labels: { zone: '*', disk: 'ssd' } }, { labels: { zone: 'A' } }, { validated: true }, { validated: true, labels: { zone: 'a' } }];
    for (const filter of filters) {
      const expected = cluster.listEngines(filter).map((e) => e.address).sort(codeUnits);
      expect([filter, page(cluster, '', 100, filter)]).toEqual([filter, expected]);
      // A page at a time, one engine each.
      const paged: string[] = [];
      for (let last = ''; ; ) {
        const [next] = page(cluster, last, 1, filter);
        if (next === undefined) break;
        paged.push((last = next));
      }
      expect(paged).toEqual(expected);
    }
    expect(page(cluster, '', 100, { validated: true })).toEqual(['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250', '10.0.0.4:4250']);
  });

  it('pages through engines that join and leave between pages: each present throughout is listed once, in order', () => {
    const address = (n: number) => `10.0.${n >> 8}.${n & 255}:4250`;
    const change = fc.record({ add: fc.array(fc.nat(300), { maxLength: 5 }), remove: fc.array(fc.nat(), { maxLength: 5 }) });
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(300), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), fc.array(change, { maxLength: 20 }), (initial, size, changes) => {
        const { cluster, add } = harness();
        for (const n of initial) add(address(n));
        const touched = new Set<string>();
        const seen: string[] = [];
        let after = '';
        for (let step = 0; ; step++) {
          const addresses = page(cluster, after, size);
          seen.push(...addresses);
          if (addresses.length < size) break;
          after = addresses[addresses.length - 1];
          const c = changes[step];
          if (!c) continue;
          for (const n of c.remove) {
            const held = [...cluster.engines.values()];
            if (!held.length) break;
            const victim = held[n % held.length];
            cluster.removeEngine(victim.address);
            touched.add(victim.address);
          }
          for (const n of c.add) {
            if (cluster.findEngine(address(n))) continue;
            add(address(n));
            touched.add(address(n));
          }
        }
        for (let i = 1; i < seen.length; i++) expect(seen[i - 1] < seen[i]).toBe(true);
        const listed = new Set(seen);
        const throughout = initial.map(address).filter((a) => !touched.has(a));
        expect(throughout.filter((a) => !listed.has(a))).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
