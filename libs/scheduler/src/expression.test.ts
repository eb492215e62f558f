import { status } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@flotilla/errors';
import fc from 'fast-check';
import { holds, parseExpression } from './expression';

/**
 * Reference glob matcher, independent of regular expressions: `*` matches any run of characters,
 * every other character matches itself ignoring (ASCII) case, and the whole candidate must match.
 */
function refGlob(pattern: string, candidate: string): boolean {
  const p = pattern.toLowerCase();
  const c = candidate.toLowerCase();
  // dp[j]: p[0..i) matches c[0..j)
  let dp: boolean[] = new Array(c.length + 1).fill(false);
  dp[0] = true;
  for (let i = 0; i < p.length; i++) {
    const next: boolean[] = new Array(c.length + 1).fill(false);
    if (p[i] === '*') {
      let any = false;
      for (let j = 0; j <= c.length; j++) {
        any = any || dp[j];
        next[j] = any;
      }
    } else {
      for (let j = 1; j <= c.length; j++) next[j] = dp[j - 1] && c[j - 1] === p[i];
    }
    dp = next;
  }
  return dp[c.length];
}

function parseError(text: string, field = 'constraints[0]'): InvalidArgumentError {
  try {
    parseExpression(text, field);
  } catch (err) {
    return err as InvalidArgumentError;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe('parseExpression', () => {
  it('parses key==value', () => {
    const e = parseExpression('zone==b', 'constraints[0]');
    expect(e).toMatchObject({ text: 'zone==b', key: 'zone', negated: false, soft: false, value: 'b', literal: 'b' });
    expect(e.matches('b')).toBe(true);
    expect(e.matches('B')).toBe(true);
    expect(e.matches('bb')).toBe(false);
    expect(e.matches('')).toBe(false);
  });

  it('parses key!=value', () => {
    const e = parseExpression('zone!=b', 'f');
    expect(e).toMatchObject({ key: 'zone', negated: true, soft: false, value: 'b' });
    expect(holds(e, ['b'])).toBe(false);
    expect(holds(e, ['c'])).toBe(true);
    expect(holds(e, [])).toBe(true);
  });

  it('trims the expression, the key and the value', () => {
    const e = parseExpression('  zone ==  b  ', 'f');
    expect(e).toMatchObject({ text: 'zone ==  b', key: 'zone', value: 'b', literal: 'b' });
  });

  it('lower-cases the key and accepts keys per [a-z_][a-z0-9-_.]+ in any case', () => {
    for (const key of ['zone', 'ZONE', '_x', 'a1', 'node.role', 'com.example-label_1', 'Storage_Driver', '__']) {
      expect(parseExpression(`${key}==v`, 'f').key).toBe(key.toLowerCase());
    }
  });

  it('soft values start with ~ and keep the rest as the value', () => {
    const e = parseExpression('zone==~b', 'f');
    expect(e).toMatchObject({ soft: true, negated: false, value: 'b', literal: 'b' });
    const n = parseExpression('zone!=~/^b/', 'f');
    expect(n).toMatchObject({ soft: true, negated: true, value: '/^b/', literal: undefined });
    expect(n.matches('bee')).toBe(true);
  });

  it('globs: * matches anything and the whole value must match', () => {
    const e = parseExpression('image==redis*', 'f');
    expect(e.literal).toBeUndefined();
    expect(e.matches('redis')).toBe(true);
    expect(e.matches('redis:3.2')).toBe(true);
    expect(e.matches('REDIS:alpine')).toBe(true);
    expect(e.matches('my-redis')).toBe(false);
    const mid = parseExpression('name==web-*-1', 'f');
    expect(mid.matches('web-a-1')).toBe(true);
    expect(mid.matches('web--1')).toBe(true);
    expect(mid.matches('web-a-12')).toBe(false);
    expect(parseExpression('kk==*', 'f').matches('')).toBe(true);
  });

  it('treats regular-expression metacharacters in globs and literals as plain text', () => {
    const e = parseExpression('kk==a.b*', 'f');
    expect(e.matches('a.bcd')).toBe(true);
    expect(e.matches('axbcd')).toBe(false);
    const l = parseExpression('kk==1+1', 'f');
    expect(l.matches('1+1')).toBe(true);
    expect(l.matches('11')).toBe(false);
    const q = parseExpression('kk==a?(b)|[c]*', 'f');
    expect(q.matches('a?(b)|[c]x')).toBe(true);
    expect(q.matches('ab')).toBe(false);
  });

  it('/regex/ is unanchored and ignores case', () => {
    const e = parseExpression('kernel==/4\\.1[0-9]/', 'f');
    expect(e.literal).toBeUndefined();
    expect(e.matches('linux-4.15.0-generic')).toBe(true);
    expect(e.matches('3.10')).toBe(false);
    const anchored = parseExpression('zone==/^us-/', 'f');
    expect(anchored.matches('US-east')).toBe(true);
    expect(anchored.matches('eu-us-1')).toBe(false);
    // A lone slash is plain text.
    expect(parseExpression('kk==/', 'f').matches('/')).toBe(true);
  });

  it('literal matching ignores case', () => {
    const e = parseExpression('storagedriver==Overlay2', 'f');
    expect(e.literal).toBe('overlay2');
    expect(e.matches('overlay2')).toBe(true);
    expect(e.matches('OVERLAY2')).toBe(true);
    expect(e.matches('overlay')).toBe(false);
  });

  it.each([
    ['zone=b', 'expected KEY==VALUE or KEY!=VALUE'],
    ['zone', 'expected KEY==VALUE or KEY!=VALUE'],
    ['==b', 'expected KEY==VALUE or KEY!=VALUE'],
    ['zone>=b', 'expected KEY==VALUE or KEY!=VALUE'],
    ['zone~=b', 'expected KEY==VALUE or KEY!=VALUE'],
    ['1zone==b', 'key "1zone" must match'],
    ['z==b', 'key "z" must match'],
    ['zo ne==b', 'key "zo ne" must match'],
    ['zo/ne==b', 'key "zo/ne" must match'],
    ['zone==', 'the value is empty'],
    ['zone==   ', 'the value is empty'],
    ['zone==~', 'the value is empty'],
    ['zone!=~ ', 'the value is empty'],
    ['zone==/[/', 'bad regular expression'],
    ['zone==/(a/', 'bad regular expression'],
    ['zone==~/*/', 'bad regular expression'],
    ['zone==/(a)\\1/', 'backreferences are not supported'],
    ['zone==/a(?=b)/', 'lookahead and lookbehind are not supported'],
    ['zone==/(?<!a)b/', 'lookahead and lookbehind are not supported'],
    [`zone==/${'a'.repeat(257)}/`, 'regular expression too long: 257 characters, the limit is 256'],
    ['zone==/[ab]{1000}c/', 'regular expression too large'],
  ])('rejects %j', (text, why) => {
    const err = parseError(text, 'constraints[0]');
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message.startsWith(`constraints[0] ${JSON.stringify(text)}: `)).toBe(true);
    expect(err.message).toContain(why);
  });

  it('says why a regular expression RE2 cannot run is refused', () => {
    expect(parseError('foo==/(a)\\1/', 'affinities[0]').message).toBe(
      'affinities[0] "foo==/(a)\\\\1/": bad regular expression: invalid escape sequence: `\\1` (backreferences are not supported: regular expressions use RE2 syntax, which matches in linear time)',
    );
  });

  it('regular expressions: (a+)+$ decides 29 "a"s and a "!", and 10,000-character values', () => {
    for (const text of ['foo==/(a+)+$/', 'foo==~/(a+)+$/']) {
      const e = parseExpression(text, 'constraints[0]');
      expect(e.matches(`${'a'.repeat(29)}!`)).toBe(false);
      expect(e.matches('A'.repeat(29))).toBe(true);
      expect(e.matches(`${'a'.repeat(10_000)}!`)).toBe(false);
      expect(e.matches('a'.repeat(10_000))).toBe(true);
    }
    const ne = parseExpression('foo!=/(a+)+$/', 'affinities[0]');
    expect(holds(ne, [`${'a'.repeat(29)}!`])).toBe(true);
    expect(holds(ne, [`${'a'.repeat(10_000)}!`, 'aa'])).toBe(false);
  });

  it('globs and literals decide 10,000-character values', () => {
    const value = 'a'.repeat(10_000);
    expect(parseExpression('foo==*a*a*a*a*a*a*b', 'f').matches(`${value}!`)).toBe(false);
    expect(parseExpression('foo==*a*a*a*a*a*a*b', 'f').matches(`${value}B`)).toBe(true);
    expect(parseExpression(`foo==${value}`, 'f').matches(value.toUpperCase())).toBe(true);
  });

  it('names the field it was given', () => {
    expect(parseError('zone=b', 'env[3]').message).toBe('env[3] "zone=b": expected KEY==VALUE or KEY!=VALUE');
    expect(parseError('x==', 'affinities[1]').message).toMatch(/^affinities\[1\] "x==": /);
  });
});

describe('holds', () => {
  it('holds for == when any value matches, and compares "" when there are none', () => {
    const e = parseExpression('app==web*', 'f');
    expect(holds(e, ['db', 'web-1'])).toBe(true);
    expect(holds(e, ['db'])).toBe(false);
    expect(holds(e, [])).toBe(false);
    expect(holds(parseExpression('app==*', 'f'), [])).toBe(true);
    expect(holds(parseExpression('app==/^$/', 'f'), [])).toBe(true);
  });

  it('!= holds only when no value matches', () => {
    const e = parseExpression('app!=web*', 'f');
    expect(holds(e, ['db', 'web-1'])).toBe(false);
    expect(holds(e, ['db'])).toBe(true);
    expect(holds(e, [])).toBe(true);
  });

  it('reads the values lazily and stops at the first match', () => {
    const e = parseExpression('kk==b', 'f');
    const seen: string[] = [];
    function* values() {
      for (const v of ['a', 'b', 'c']) {
        seen.push(v);
        yield v;
      }
    }
    expect(holds(e, values())).toBe(true);
    expect(seen).toEqual(['a', 'b']);
  });
});

// ---- property tests ----

// Characters that are special in regular expressions, letters in both cases, digits and separators.
const chars = ['a', 'b', 'A', 'B', 'z', '0', '1', '-', '_', '.', ':', '+', '?', '(', ')', '[', ']', '{', '}', '^', '$', '|', '\\', '/', '@', '#', ' '];
const charArb = fc.constantFrom(...chars);
const wordArb = fc.array(charArb, { maxLength: 8 }).map((cs) => cs.join(''));
const patternArb = fc
  .array(fc.oneof({ weight: 4, arbitrary: charArb }, { weight: 1, arbitrary: fc.constant('*') }), { minLength: 1, maxLength: 8 })
  .map((cs) => cs.join(''))
  // Keep only values the grammar reads as globs or literals: not empty after trimming, not soft, not /regex/.
  .filter((p) => p.trim() === p && p !== '' && !p.startsWith('~') && !(p.length > 1 && p.startsWith('/') && p.endsWith('/')));

function flipCase(text: string, mask: number): string {
  return [...text].map((c, i) => ((mask >> i % 30) & 1 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
}

/** A candidate that matches the pattern (each `*` filled with a random word), with random case flips. */
const matchingCandidateArb = (pattern: string) =>
  fc.tuple(fc.array(wordArb, { minLength: pattern.split('*').length, maxLength: pattern.split('*').length }), fc.nat()).map(([fills, mask]) => {
    const parts = pattern.split('*');
    return flipCase(parts.map((p, i) => (i === 0 ? p : fills[i] + p)).join(''), mask);
  });

describe('matches (property)', () => {
  it('agrees with a reference glob matcher on random candidates', () => {
    fc.assert(
      fc.property(patternArb, wordArb, (pattern, candidate) => {
        const e = parseExpression(`key==${pattern}`, 'f');
        expect(e.matches(candidate)).toBe(refGlob(pattern, candidate));
        expect(e.literal === undefined).toBe(pattern.includes('*'));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with a reference glob matcher on candidates built to match, and near misses', () => {
    fc.assert(
      fc.property(
        patternArb.chain((p) => fc.tuple(fc.constant(p), matchingCandidateArb(p), charArb, fc.nat())),
        ([pattern, candidate, extra, at]) => {
          const e = parseExpression(`key==${pattern}`, 'f');
          expect(refGlob(pattern, candidate)).toBe(true);
          expect(e.matches(candidate)).toBe(true);
          const i = at % (candidate.length + 1);
          const mutated = candidate.slice(0, i) + extra + candidate.slice(i);
          expect(e.matches(mutated)).toBe(refGlob(pattern, mutated));
          const dropped = candidate.slice(0, i) + candidate.slice(i + 1);
          expect(e.matches(dropped)).toBe(refGlob(pattern, dropped));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('negation is the complement of matching, with "" for no values', () => {
    fc.assert(
      fc.property(patternArb, fc.array(wordArb, { maxLength: 4 }), (pattern, values) => {
        const eq = parseExpression(`key==${pattern}`, 'f');
        const ne = parseExpression(`key!=${pattern}`, 'f');
        const expected = (values.length ? values : ['']).some((v) => refGlob(pattern, v));
        expect(holds(eq, values)).toBe(expected);
        expect(holds(ne, values)).toBe(!expected);
      }),
      { numRuns: 300 },
    );
  });

  it('an alphanumeric /regex/ matches any candidate that contains it, ignoring case', () => {
    const alnum = fc.array(fc.constantFrom('a', 'B', 'c', '1', '2'), { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));
    const text = fc.array(fc.constantFrom('a', 'b', 'C', '1', '2', '-'), { maxLength: 10 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(alnum, text, (re, candidate) => {
        const e = parseExpression(`key==/${re}/`, 'f');
        expect(e.matches(candidate)).toBe(candidate.toLowerCase().includes(re.toLowerCase()));
      }),
      { numRuns: 300 },
    );
  });

  it('keys: accepted exactly when they match [a-z_][a-z0-9-_.]+ ignoring case', () => {
    const keyChars = fc.constantFrom('a', 'Z', '_', '0', '9', '-', '.', '/', ' ', '$');
    fc.assert(
      fc.property(fc.array(keyChars, { minLength: 1, maxLength: 6 }).map((cs) => cs.join('')), (key) => {
        const trimmed = key.trim();
        const valid = /^[a-zA-Z_][a-zA-Z0-9\-_.]+$/.test(trimmed);
        let parsed: string | undefined;
        try {
          parsed = parseExpression(`${key}==v`, 'k').key;
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          expect((err as Error).message.startsWith(`k ${JSON.stringify(`${key}==v`)}: `)).toBe(true);
        }
        expect(parsed).toBe(valid ? trimmed.toLowerCase() : undefined);
      }),
      { numRuns: 300 },
    );
  });
});
