import fc from 'fast-check';
import { RE2JS } from 're2js';
import { compileRegex, maxRegexLength, maxRegexProgramSize, regexCacheSize, regexMemoSize, RegexRefusedError } from './regex';

function refusal(pattern: string): string {
  try {
    compileRegex(pattern);
  } catch (err) {
    expect(err).toBeInstanceOf(RegexRefusedError);
    return (err as Error).message;
  }
  throw new Error(`${JSON.stringify(pattern)} compiled`);
}

describe('compileRegex', () => {
  it('searches anywhere in the candidate and ignores case, as RegExp(pattern, "i").test did', () => {
    const re = compileRegex('4\\.1[0-9]');
    expect(re('linux-4.15.0-generic')).toBe(true);
    expect(re('LINUX-4.1X')).toBe(false);
    expect(compileRegex('ssd')('NVMe-SSD-1')).toBe(true);
    expect(compileRegex('[a-c]+x')('zzBCx')).toBe(true);
    expect(compileRegex('^us-')('US-east')).toBe(true);
    expect(compileRegex('^us-')('eu-us-1')).toBe(false);
    expect(compileRegex('-1$')('web-1')).toBe(true);
    expect(compileRegex('-1$')('web-1\n')).toBe(false); // $ is the end of the text only, as without the m flag
    expect(compileRegex('a.b')('a\nb')).toBe(false); // . does not match a newline, as without the s flag
    expect(compileRegex('^$')('')).toBe(true);
    expect(compileRegex('')('anything')).toBe(true);
    expect(compileRegex('\\d+\\s\\w\\b')('x 12 y')).toBe(true);
    expect(compileRegex('\\/x')('a/x')).toBe(true);
  });

  it('(a+)+$ gives its verdict on 29 "a"s and a "!", and on 10,000-character values', () => {
    const re = compileRegex('(a+)+$');
    expect(re(`${'a'.repeat(29)}!`)).toBe(false);
    expect(re('a'.repeat(29))).toBe(true);
    expect(re(`${'a'.repeat(10_000)}!`)).toBe(false);
    expect(re('a'.repeat(10_000))).toBe(true);
    expect(re(`${'A'.repeat(9_999)}!a`)).toBe(true);
  });

  it('other classic catastrophic patterns decide 10,000-character values', () => {
    const value = `${'a'.repeat(10_000)}!`;
    for (const pattern of ['^(a|a)*$', '^(a|aa)+$', '(a*)*b', '^(\\w+\\s?)*$', '(.*a){12}x']) {
      expect(compileRegex(pattern)(value)).toBe(false);
    }
  });

  it.each([
    ['(a)\\1', 'invalid escape sequence: `\\1` (backreferences are not supported: regular expressions use RE2 syntax, which matches in linear time)'],
    ['(?<n>a)\\k<n>', 'backreferences are not supported'],
    ['a(?=b)', 'invalid or unsupported Perl syntax: `(?=` (lookahead and lookbehind are not supported'],
    ['a(?!b)', 'lookahead and lookbehind are not supported'],
    ['(?<=a)b', 'lookahead and lookbehind are not supported'],
    ['(?<!a)b', 'lookahead and lookbehind are not supported'],
    ['[', 'bad regular expression: missing closing ]'],
    ['(a', 'bad regular expression: missing closing ): `(a`'],
    ['*', 'bad regular expression: missing argument to repetition operator'],
    ['a{1001}', 'bad regular expression: invalid repeat count'],
  ])('refuses %j with the reason', (pattern, why) => {
    const message = refusal(pattern);
    expect(message).toContain(why);
    expect(message).not.toContain('(?i)');
  });

  it(`refuses patterns longer than ${maxRegexLength} characters, naming the limit`, () => {
    expect(compileRegex('a'.repeat(maxRegexLength))('a'.repeat(maxRegexLength))).toBe(true);
    expect(refusal('a'.repeat(maxRegexLength + 1))).toBe(`regular expression too long: ${maxRegexLength + 1} characters, the limit is ${maxRegexLength}`);
  });

  it(`refuses patterns that compile to more than ${maxRegexProgramSize} instructions, naming the limit`, () => {
    expect(compileRegex('^[\\w.-]{1,255}$')('node-1.example')).toBe(true);
    expect(refusal('[ab]{1000}c')).toMatch(new RegExp(`^regular expression too large: it compiles to \\d+ instructions, the limit is ${maxRegexProgramSize}$`));
    // Short text, large program: counted repetition is what the limit is for.
    expect(refusal('(?:abcdefghij){999}')).toContain('regular expression too large');
    // A refusal is remembered like a compiled pattern, and refused again the same way.
    expect(refusal('[ab]{1000}c')).toContain('regular expression too large');
  });

  it(`keeps at most ${regexCacheSize} compiled patterns, least recently used out first`, () => {
    const compile = jest.spyOn(RE2JS, 'compile');
    try {
      const patterns = Array.from({ length: regexCacheSize + 1 }, (_, i) => `^cache-${i}$`);
      for (const p of patterns.slice(0, regexCacheSize)) compileRegex(p);
      expect(compile).toHaveBeenCalledTimes(regexCacheSize);
      compileRegex(patterns[0]); // a hit: now the most recently used
      expect(compile).toHaveBeenCalledTimes(regexCacheSize);
      compileRegex(patterns[regexCacheSize]); // evicts patterns[1], the least recently used
      expect(compile).toHaveBeenCalledTimes(regexCacheSize + 1);
      compileRegex(patterns[0]);
      expect(compile).toHaveBeenCalledTimes(regexCacheSize + 1);
      compileRegex(patterns[1]);
      expect(compile).toHaveBeenCalledTimes(regexCacheSize + 2);
      // Matchers from the cache and fresh ones behave the same.
      expect(compileRegex(patterns[1])('CACHE-1')).toBe(true);
      expect(compileRegex(patterns[1])('cache-10')).toBe(false);
    } finally {
      compile.mockRestore();
    }
  });

  it(`remembers at most ${regexMemoSize} verdicts per pattern, for values up to 256 characters`, () => {
    const test = jest.spyOn(RE2JS.prototype, 'test');
    try {
      const re = compileRegex('^memo-[0-9]+$');
      expect(re('memo-1')).toBe(true);
      expect(re('MEMO-1')).toBe(true);
      expect(re('memo-x')).toBe(false);
      expect(test).toHaveBeenCalledTimes(3);
      expect(re('memo-1')).toBe(true);
      expect(re('memo-x')).toBe(false);
      expect(compileRegex('^memo-[0-9]+$')('memo-1')).toBe(true); // the memo goes with the cached pattern
      expect(test).toHaveBeenCalledTimes(3);
      // Long values are matched every time rather than kept.
      const long = `memo-${'1'.repeat(300)}`;
      expect(re(long)).toBe(true);
      expect(re(long)).toBe(true);
      expect(test).toHaveBeenCalledTimes(5);
      // Full: the memo starts over, so 'memo-1' is matched again.
      for (let i = 0; i < regexMemoSize; i++) expect(re(`memo-${i + 2}`)).toBe(true);
      test.mockClear();
      expect(re('memo-1')).toBe(true);
      expect(test).toHaveBeenCalledTimes(1);
    } finally {
      test.mockRestore();
    }
  });

  it('agrees with RegExp(pattern, "i").test on syntax both engines share (property)', () => {
    const literal = fc.constantFrom('a', 'B', 'c', '-', '\\.', '\\d');
    const alternation: fc.Arbitrary<string> = fc.letrec<{ re: string; alt: string; piece: string }>((tie) => ({
      piece: fc.tuple(
        fc.oneof({ maxDepth: 2, withCrossShrink: true }, literal, fc.constantFrom('.', '[ab]', '[^a]', '[a-c1]'), tie('alt').map((r) => `(${r})`), tie('alt').map((r) => `(?:${r})`)),
        fc.constantFrom('', '', '*', '+', '?', '{1,2}', '*?'),
      ).map(([a, q]) => a + q),
      re: fc.array(tie('piece'), { minLength: 1, maxLength: 3 }).map((ps) => ps.join('')),
      alt: fc.array(tie('re'), { minLength: 1, maxLength: 2 }).map((rs) => rs.join('|')),
    })).alt;
    const pattern = fc.tuple(fc.boolean(), alternation, fc.boolean()).map(([start, body, end]) => `${start ? '^' : ''}${body}${end ? '$' : ''}`)
      .filter((p) => p.length <= 80);
    const candidate = fc.array(fc.constantFrom('a', 'A', 'b', 'B', 'c', '1', '-', '.', '\n'), { maxLength: 10 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(pattern, fc.array(candidate, { minLength: 1, maxLength: 5 }), (p, candidates) => {
        const re = compileRegex(p);
        const js = new RegExp(p, 'i');
        for (const c of candidates) expect(re(c)).toBe(js.test(c));
      }),
      { numRuns: 500 },
    );
  });
});
