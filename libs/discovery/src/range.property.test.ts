import fc from 'fast-check';
import { formatHostPort, parseHostPort } from '@flotilla/grpc';
import { EntryError } from './entry-error';
import { lineEntries, listEntries, parseEntries, parseEntry } from './entries';
import { MAX_ADDRESSES_PER_ENTRY, MAX_ADDRESSES_PER_SET } from './limits';
import { expandRanges, formatRange, rangeSize, splitRanges } from './range';

const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const port = fc.integer({ min: 1, max: 65535 });
const address = fc.tuple(fc.oneof(hostName, ipv4), port).map(([h, p]) => `${h}:${p}`);
/** A range with FROM ≤ TO whose size stays under the per-entry limit. */
const range = fc
  .tuple(fc.integer({ min: 0, max: 100_000 }), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(MAX_ADDRESSES_PER_ENTRY - 1)))
  .map(([from, extra]) => ({ from, to: from + extra }));

function expectEntryError(fn: () => unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(EntryError);
  expect((thrown as Error).message).toMatch(pattern);
}

describe('range expansion (properties)', () => {
  it('expands [FROM:TO] to TO-FROM+1 texts, in ascending order, the literal text kept around each number', () => {
    fc.assert(
      fc.property(range, label, (r, suffix) => {
        const out = expandRanges(`node${formatRange(r.from, r.to)}.${suffix}`);
        expect(out).toHaveLength(r.to - r.from + 1);
        const wrong = out.filter((t, i) => t !== `node${r.from + i}.${suffix}`);
        expect(wrong).toEqual([]);
      }),
    );
  });

  it('pads to the width of a FROM written with a leading zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 200 }), (width, from, extra) => {
        const to = from + extra;
        const out = expandRanges(`n[${String(from).padStart(width, '0')}:${to}]`);
        expect(out).toHaveLength(extra + 1);
        out.forEach((t, i) => expect(t).toBe(`n${String(from + i).padStart(width, '0')}`));
      }),
    );
  });

  it('expands several ranges to every combination, the first range outermost, or refuses past the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 })), { minLength: 1, maxLength: 3 }), (specs) => {
        const ranges = specs.map(([from, extra]) => ({ from, to: from + extra }));
        const entry = ranges.map((r) => `x${formatRange(r.from, r.to)}`).join('.');
        const size = ranges.reduce((n, r) => n * (r.to - r.from + 1), 1);
        expect(rangeSize(splitRanges(entry).ranges)).toBe(size);
        if (size > MAX_ADDRESSES_PER_ENTRY) {
          expectEntryError(() => expandRanges(entry), /more than the limit of 4096/);
          return;
        }
        const out = expandRanges(entry);
        expect(out).toHaveLength(size);
        const tuples = out.map((t) => t.split('.').map((part) => Number(part.slice(1))));
        for (let i = 1; i < tuples.length; i++) {
          const a = tuples[i - 1];
          const b = tuples[i];
          const k = a.findIndex((v, j) => v !== b[j]);
          expect(k).toBeGreaterThanOrEqual(0);
          expect(b[k]).toBeGreaterThan(a[k]);
        }
        expect(new Set(out).size).toBe(size);
      }),
    );
  });

  it('refuses a reversed range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1000 }), (to, gap) => {
        expectEntryError(() => expandRanges(`10.0.0.[${to + gap}:${to}]:2375`), /is reversed/);
      }),
    );
  });

  it('refuses a range larger than the limit, naming the size and the limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: MAX_ADDRESSES_PER_ENTRY, max: 10_000_000 }), (from, extra) => {
        expectEntryError(() => expandRanges(`h[${from}:${from + extra}]:1`), new RegExp(`expands to ${extra + 1} addresses, more than the limit of ${MAX_ADDRESSES_PER_ENTRY}`));
      }),
    );
  });

  it('refuses malformed brackets rather than guessing', () => {
    fc.assert(
      fc.property(fc.constantFrom('[1-3]', '[a:b]', '[1:]', '[:3]', '[1:2:3]', '[1', '1]', '[[1:2]]', '[]'), (bad) => {
        expect(() => expandRanges(`host${bad}.example:2375`)).toThrow(EntryError);
      }),
    );
  });
});

describe('entries (properties)', () => {
  it('round-trips a list of addresses through nodes lists and files, normalised and each once', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 40 }), (addresses) => {
        const expected = [...new Set(addresses.map((a) => formatHostPort(parseHostPort('a', a))))];
        expect(parseEntries(listEntries(addresses.join(','))).addresses).toEqual(expected);
        expect(parseEntries(lineEntries(addresses.join('\n'))).addresses).toEqual(expected);
        expect(parseEntries(lineEntries(addresses.map((a) => `  ${a.toUpperCase()}  # comment`).join('\r\n'))).addresses).toEqual(expected);
      }),
    );
  });

  it('round-trips consecutive ports written as one port range', () => {
    fc.assert(
      fc.property(fc.oneof(hostName, ipv4), fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 0, max: 500 }), (host, from, extra) => {
        const listed = Array.from({ length: extra + 1 }, (_, i) => formatHostPort(parseHostPort('a', `${host}:${from + i}`)));
        expect(parseEntry(`${host}:${formatRange(from, from + extra)}`)).toEqual(listed);
      }),
    );
  });

  it('gives every non-blank entry either addresses or exactly one problem at its position, whatever the text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(address, fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 20 })), { maxLength: 30 }), (items) => {
        const lines = items.map((s) => s.replace(/[\r\n]/g, ' '));
        const parsed = parseEntries(lineEntries(lines.join('\n')));
        for (const problem of parsed.problems) {
          const n = Number(/^line (\d+)$/.exec(problem.position)?.[1]);
          expect(n).toBeGreaterThanOrEqual(1);
          expect(n).toBeLessThanOrEqual(lines.length);
          expect(problem.error).not.toBe('');
        }
        expect(new Set(parsed.problems.map((p) => p.position)).size).toBe(parsed.problems.length);
        for (const a of parsed.addresses) expect(formatHostPort(parseHostPort('a', a))).toBe(a);
      }),
    );
  });

  it('reports a bad port, with the entry and its position, and keeps the rest', () => {
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 10 }), fc.oneof(fc.integer({ min: 65536, max: 10_000_000 }), fc.constant(0)), fc.nat(10), (good, badPort, at) => {
        const lines = [...good];
        const i = at % (lines.length + 1);
        lines.splice(i, 0, `10.1.2.3:${badPort}`);
        const parsed = parseEntries(lineEntries(lines.join('\n')));
        expect(parsed.problems).toEqual([{ position: `line ${i + 1}`, entry: `10.1.2.3:${badPort}`, error: expect.stringMatching(/port must be 1 to 65535/) }]);
        expect(parsed.addresses).toHaveLength(new Set(good.map((a) => formatHostPort(parseHostPort('a', a)))).size);
      }),
    );
  });

  it('refuses a set that grows past the limit as a whole', () => {
    const lines = Array.from({ length: 2 }, (_, i) => `10.0.0.${i}:[1000:${1000 + MAX_ADDRESSES_PER_SET / 2}]`);
    expect(() => parseEntries(lineEntries(lines.join('\n')))).toThrow(/line 2 .*the set grows past the limit of 4096 addresses/);
  });
});
