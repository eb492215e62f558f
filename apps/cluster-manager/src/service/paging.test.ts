import fc from 'fast-check';
import { InvalidArgumentError } from '@flotilla/errors';
import { ClusterContainer, ListContainersResponse } from '@flotilla/proto/cluster';
import { compareKeys, decodePageToken, encodePageToken, maxPageBytes, pageSizeOf, readPage, type Listing, type PageKey } from './paging';

const KiB = 1024;
const id = (key: PageKey) => JSON.stringify(key);

/** A listing over a set that tests change between pages. */
function setListing(live: Map<string, PageKey>): Listing<PageKey> {
  return {
    name: 'Test',
    arity: 2,
    items: () => [...live.values()].sort(compareKeys),
    key: (k) => k,
    bytes: (k) => Buffer.byteLength(id(k)),
  };
}

function containerListing(items: ClusterContainer[]): Listing<ClusterContainer> {
  const key = (c: ClusterContainer): PageKey => [c.engine!.address, c.container!.id];
  return {
    name: 'ListContainers',
    arity: 2,
    items: () => [...items].sort((a, b) => compareKeys(key(a), key(b))),
    key,
    bytes: (c) => ClusterContainer.encode(c).finish().length,
  };
}

function container(address: string, containerId: string, labelBytes: number): ClusterContainer {
  return ClusterContainer.fromPartial({ container: { id: containerId, names: [`c-${containerId}`], labels: { big: 'x'.repeat(labelBytes) } }, engine: { address, id: 'E', name: 'engine' } });
}

/** Every page of a listing that does not change, with the request each was read with. */
function allPages<T>(listing: Listing<T>, pageSize: number, maxBytes?: number): Array<{ items: T[]; nextPageToken: string }> {
  const pages = [];
  let pageToken = '';
  const most = [...listing.items(undefined)].length + 1;
  do {
    const page = readPage({ pageSize, pageToken }, listing, maxBytes);
    pages.push(page);
    pageToken = page.nextPageToken;
    // A page that did not move on would never end.
    if (pages.length > most) throw new Error(`more than ${most} pages`);
  } while (pageToken);
  return pages;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

// Short strings over a small alphabet, so keys share prefixes and first parts often.
const part = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '\u{1F600}', ':', '"'), maxLength: 3 });
const key = fc.tuple(part, part);

describe('readPage (properties)', () => {
  it('concatenating the pages gives every item exactly once, in key order, for any set and page size', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { selector: id, maxLength: 80 }), fc.integer({ min: 1, max: 20 }), (keys, size) => {
        const pages = allPages(setListing(new Map(keys.map((k) => [id(k), k]))), size);
        expect(pages.flatMap((p) => p.items)).toEqual([...keys].sort(compareKeys));
        expect(pages.every((p) => p.items.length <= size)).toBe(true);
        // Only the last page is short, and only the last has no token.
        expect(pages.slice(0, -1).every((p) => p.items.length === size && p.nextPageToken)).toBe(true);
        expect(pages.at(-1)!.nextPageToken).toBe('');
      }),
    );
  });

  it('neither skips nor repeats an item present throughout while items are added and removed between pages', () => {
    const change = fc.record({ add: fc.array(key, { maxLength: 4 }), remove: fc.array(fc.nat(), { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.uniqueArray(key, { selector: id, maxLength: 60 }), fc.integer({ min: 1, max: 10 }), fc.array(change, { maxLength: 30 }), (keys, size, changes) => {
        const live = new Map(keys.map((k) => [id(k), k]));
        const touched = new Set<string>();
        const seen: PageKey[] = [];
        let pageToken = '';
        for (let step = 0; ; step++) {
          const page = readPage({ pageSize: size, pageToken }, setListing(live));
          seen.push(...page.items);
          if (!page.nextPageToken) break;
          if (step > keys.length + 4 * changes.length) throw new Error('the listing does not end');
          pageToken = page.nextPageToken;
          // Changes only for as many pages as there are changes, so every listing ends.
          const c = changes[step];
          if (!c) continue;
          for (const n of c.remove) {
            if (!live.size) break;
            const victim = [...live.keys()][n % live.size];
            live.delete(victim);
            touched.add(victim);
          }
          for (const k of c.add) {
            live.set(id(k), k);
            touched.add(id(k));
          }
        }
        // Strictly increasing: nothing repeated, nothing out of order.
        for (let i = 1; i < seen.length; i++) expect(compareKeys(seen[i - 1], seen[i])).toBeLessThan(0);
        const listed = new Set(seen.map(id));
        const throughout = keys.filter((k) => !touched.has(id(k)));
        expect(throughout.filter((k) => !listed.has(id(k)))).toEqual([]);
      }),
    );
  });

  it('keeps every page within the byte limit (one item alone may pass it), and stops only when the next item would not fit', () => {
    const item = fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 4000 }));
    fc.assert(
      fc.property(fc.uniqueArray(item, { selector: ([n]) => n, minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 100, max: 40_000 }), (specs, size, maxBytes) => {
        const items = specs.map(([n, labelBytes]) => container(`10.0.0.${n % 3}:4250`, `id${String(n).padStart(3, '0')}`, labelBytes));
        const listing = containerListing(items);
        const pages = allPages(listing, size, maxBytes);
        expect(pages.flatMap((p) => p.items)).toEqual(listing.items(undefined));
        const encoded = (page: { items: ClusterContainer[]; nextPageToken: string }) => ListContainersResponse.encode({ containers: page.items, nextPageToken: page.nextPageToken }).finish().length;
        for (const [i, page] of pages.entries()) {
          expect(page.items.length).toBeGreaterThan(0);
          if (page.items.length > 1) expect(encoded(page)).toBeLessThanOrEqual(maxBytes);
          const next = pages[i + 1]?.items[0];
          if (next && page.items.length < size) {
            // The next item, and the token that would have followed it, would have passed the limit.
            expect(encoded({ items: [...page.items, next], nextPageToken: encodePageToken('ListContainers', listing.key(next)) })).toBeGreaterThan(maxBytes);
          }
        }
      }),
    );
  });
});

describe('readPage', () => {
  it('stops a page of containers with 512 KiB labels before 2 MiB, and still pages through them all', () => {
    const items = Array.from({ length: 7 }, (_, i) => container('127.0.0.1:4250', `big${i}`, 512 * KiB));
    const pages = allPages(containerListing(items), 0);
    expect(pages.map((p) => p.items.length)).toEqual([3, 3, 1]);
    for (const p of pages) {
      expect(ListContainersResponse.encode({ containers: p.items, nextPageToken: p.nextPageToken }).finish().length).toBeLessThanOrEqual(maxPageBytes);
    }
  });

  it('returns an item bigger than a whole page alone, so the listing goes on past it', () => {
    const items = [container('a:1', 'c1', 10), container('a:1', 'c2', 3 * 1024 * KiB), container('a:1', 'c3', 10)];
    expect(allPages(containerListing(items), 0).map((p) => p.items.map((c) => c.container!.id))).toEqual([['c1'], ['c2'], ['c3']]);
  });

  it('reads 500 items per page by default and up to 1000 when asked', () => {
    const live = new Map(Array.from({ length: 1500 }, (_, i): [string, PageKey] => [String(i), ['e', String(i).padStart(4, '0')]]));
    expect(allPages(setListing(live), 0).map((p) => p.items.length)).toEqual([500, 500, 500]);
    expect(allPages(setListing(live), 1000).map((p) => p.items.length)).toEqual([1000, 500]);
  });

  it('gives no token when the last page is exactly full', () => {
    const live = new Map(Array.from({ length: 4 }, (_, i): [string, PageKey] => [String(i), ['e', String(i)]]));
    expect(allPages(setListing(live), 2).map((p) => [p.items.length, Boolean(p.nextPageToken)])).toEqual([
      [2, true],
      [2, false],
    ]);
    expect(readPage({ pageSize: 0, pageToken: '' }, setListing(new Map()))).toEqual({ items: [], nextPageToken: '' });
  });
});

describe('page sizes and tokens', () => {
  it('takes 0 as 500 and refuses more than 1000, naming page_size', () => {
    expect(pageSizeOf(0)).toBe(500);
    expect(pageSizeOf(1)).toBe(1);
    expect(pageSizeOf(1000)).toBe(1000);
    for (const bad of [1001, 4_294_967_295, -1, 1.5]) {
      const err = thrown(() => pageSizeOf(bad));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^page_size /);
    }
    expect(thrown(() => readPage({ pageSize: 1001, pageToken: '' }, setListing(new Map()))).message).toBe('page_size 1001: must be from 0 to 1000 (0 means 500)');
  });

  it('round-trips any key through a token of URL-safe characters', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 3 }), (k) => {
        const token = encodePageToken('Test', k);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodePageToken('Test', k.length, token)).toEqual(k);
      }),
    );
  });

  it('refuses a malformed token, naming page_token', () => {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const good = encodePageToken('ListContainers', ['127.0.0.1:4250', 'abc']);
    const bad = [
      'not a token',
      'bm90IGpzb24', // "not json"
      `${good}=`,
      `${good}A`, // decodes to the same bytes, but is not what the manager wrote
      json({ after: 'x' }),
      json(['ListContainers', 'only-one']),
      json(['ListContainers', 'a', 'b', 'c']),
      json(['ListContainers', 'a', 7]),
      json(['ListEngines', 'a', 'b']),
      encodePageToken('ListEngines', ['127.0.0.1:4250']),
      'A'.repeat(70_000),
    ];
    for (const token of bad) {
      const err = thrown(() => decodePageToken('ListContainers', 2, token));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(/^page_token ".*": is not a next_page_token of ListContainers$/);
    }
    expect(decodePageToken('ListContainers', 2, good)).toEqual(['127.0.0.1:4250', 'abc']);
    expect(decodePageToken('ListContainers', 2, '')).toBeUndefined();
    // A long token is shortened in the message.
    expect(thrown(() => decodePageToken('ListContainers', 2, 'A'.repeat(70_000))).message.length).toBeLessThan(200);
    // The longest keys an agent can send still make a token the manager takes back.
    const longest = ['[' + 'f'.repeat(253) + ']:65535', '\u0001'.repeat(4096)];
    expect(decodePageToken('ListContainers', 2, encodePageToken('ListContainers', longest))).toEqual(longest);
  });

  it('continues after the key of the token even when that item is gone', () => {
    const live = new Map<string, PageKey>([
      ['1', ['a', '1']],
      ['3', ['a', '3']],
      ['5', ['b', '1']],
    ]);
    const token = encodePageToken('Test', ['a', '2']);
    expect(readPage({ pageSize: 0, pageToken: token }, setListing(live)).items).toEqual([
      ['a', '3'],
      ['b', '1'],
    ]);
  });
});

describe('compareKeys', () => {
  it('orders by code unit, part by part, whatever the locale', () => {
    expect(compareKeys(['a', 'b'], ['a', 'b'])).toBe(0);
    expect(compareKeys(['a', 'z'], ['b', 'a'])).toBeLessThan(0);
    expect(compareKeys(['B'], ['a'])).toBeLessThan(0);
    expect(compareKeys(['10.0.0.10:4250'], ['10.0.0.9:4250'])).toBeLessThan(0);
    expect(compareKeys(['a'], ['a', ''])).toBeLessThan(0);
  });
});
