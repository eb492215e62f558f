import fc from 'fast-check';
import { compileGlob } from './glob';

/** Reference: dynamic programming over (glob prefix, candidate prefix), case folded by toLowerCase. */
function refGlob(glob: string, candidate: string): boolean {
  const p = glob.toLowerCase();
  const c = candidate.toLowerCase();
  let dp: boolean[] = [true, ...new Array<boolean>(c.length).fill(false)];
  for (const ch of p) {
    const next = new Array<boolean>(c.length + 1).fill(false);
    if (ch === '*') {
      let any = false;
      for (let j = 0; j <= c.length; j++) next[j] = any = any || dp[j];
    } else {
      for (let j = 1; j <= c.length; j++) next[j] = dp[j - 1] && c[j - 1] === ch;
    }
    dp = next;
  }
  return dp[c.length];
}

describe('compileGlob', () => {
  it('matches the whole candidate, * standing for any run of characters', () => {
    const g = compileGlob('web-*-1');
    expect(g('web-a-1')).toBe(true);
    expect(g('web--1')).toBe(true);
    expect(g('web-a-b-c-1')).toBe(true);
    expect(g('web-a-12')).toBe(false);
    expect(g('xweb-a-1')).toBe(false);
    expect(compileGlob('*')('')).toBe(true);
    expect(compileGlob('**')('anything')).toBe(true);
    expect(compileGlob('a**b')('ab')).toBe(true);
  });

  it('ignores case', () => {
    expect(compileGlob('Redis*')('REDIS:alpine')).toBe(true);
    expect(compileGlob('*-EU')('zone-eu')).toBe(true);
  });

  it('does not let the head and the tail share characters', () => {
    expect(compileGlob('a*a')('a')).toBe(false);
    expect(compileGlob('a*a')('aa')).toBe(true);
    expect(compileGlob('ab*bc')('abc')).toBe(false);
    expect(compileGlob('ab*bc')('abbc')).toBe(true);
    expect(compileGlob('a*b*a')('aba')).toBe(true);
    expect(compileGlob('a*b*a')('ab')).toBe(false);
    expect(compileGlob('a*bb*a')('abba')).toBe(true);
    expect(compileGlob('a*bb*a')('abbba')).toBe(true);
    expect(compileGlob('a*bb*a')('abab')).toBe(false);
  });

  it('treats every other character, regular-expression metacharacters included, as itself', () => {
    const g = compileGlob('a.b?(c)|[d]{1}^$\\*');
    expect(g('a.b?(c)|[d]{1}^$\\')).toBe(true);
    expect(g('a.b?(c)|[d]{1}^$\\ and more')).toBe(true);
    expect(g('axb?(c)|[d]{1}^$\\')).toBe(false);
    expect(g('a.bb(c)|[d]{1}^$\\')).toBe(false);
  });

  it('decides a 10,000-character candidate against many stars (a backtracking matcher would not finish)', () => {
    // As a RegExp, ^.*a.*a.*a.*a.*a.*a.*b$ backtracks through O(n^6) splits of this candidate.
    const g = compileGlob('*a*a*a*a*a*a*b');
    const many = 'a'.repeat(10_000);
    expect(g(many)).toBe(false);
    expect(g(`${many}b`)).toBe(true);
    expect(g(`${many}!`)).toBe(false);
  });

  it('agrees with a reference matcher (property)', () => {
    const ch = fc.constantFrom('a', 'A', 'b', 'B', '*', '-', '.');
    const text = fc.array(fc.constantFrom('a', 'A', 'b', 'B', '-', '.'), { maxLength: 12 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 8 }).map((cs) => cs.join('')), text, (glob, candidate) => {
        expect(compileGlob(glob)(candidate)).toBe(refGlob(glob, candidate));
      }),
      { numRuns: 2000 },
    );
  });
});
