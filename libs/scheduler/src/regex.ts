import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/**
 * User-supplied regular expressions (the `/re/` values of placement expressions), run by re2js:
 * RE2 semantics, as classic Swarm's Go regexp, so matching takes time linear in the candidate
 * and a pattern can never freeze the event loop the way a backtracking `RegExp` can
 * (`/(a+)+$/` against 29 'a's and a '!' took JavaScript's engine 8 s).
 */

/** Longest accepted pattern (UTF-16 code units, between the slashes): bounds compile time. */
export const maxRegexLength = 256;

/**
 * Largest accepted compiled program, in RE2 instructions. Counted repetition lets 256 characters
 * compile to ~250,000 instructions (`(?:ab…){1000}`), and a match can cost up to one pass over
 * the program per candidate character; 1,000 leaves room for patterns such as `^[\w.-]{1,255}$`
 * (513).
 */
export const maxRegexProgramSize = 1000;

/**
 * Distinct patterns kept compiled, least recently used evicted first. Each compiled pattern
 * caches DFA states as it matches, up to re2js's budget of 8 MiB (reached only by adversarial
 * patterns and values), and its memo below, so the cache stays small.
 */
export const regexCacheSize = 16;

/**
 * Verdicts remembered per compiled pattern, for candidates up to `memoMaxValueLength`: label
 * values repeat across engines (a zone, a kernel) and a lookup costs tens of nanoseconds where
 * re2js takes 0.2-0.7 µs a match. Cleared when full, so at most this many per pattern.
 */
export const regexMemoSize = 1024;
const memoMaxValueLength = 256;

/** A pattern refused when parsed; the message says why, for the caller to report. */
export class RegexRefusedError extends Error {
  override readonly name = 'RegexRefusedError';
}

/** A compiled pattern and its memo of verdicts. */
class Compiled {
  private readonly memo = new Map<string, boolean>();
  constructor(private readonly re: RE2JS) {}

  test(candidate: string): boolean {
    if (candidate.length > memoMaxValueLength) return this.re.test(candidate);
    let verdict = this.memo.get(candidate);
    if (verdict === undefined) {
      verdict = this.re.test(candidate);
      if (this.memo.size >= regexMemoSize) this.memo.clear();
      this.memo.set(candidate, verdict);
    }
    return verdict;
  }
}

// A compiled pattern, or why it was refused (so a costly refusal is not compiled again).
const cache = new Map<string, Compiled | string>();

/**
 * A matcher for `pattern`: an unanchored search that ignores case (as `new RegExp(pattern, 'i')`
 * with `test` did). Throws RegexRefusedError for syntax RE2 lacks (backreferences, lookaround),
 * bad syntax, or a pattern over the limits above.
 */
export function compileRegex(pattern: string): (candidate: string) => boolean {
  if (pattern.length > maxRegexLength) {
    throw new RegexRefusedError(`regular expression too long: ${pattern.length} characters, the limit is ${maxRegexLength}`);
  }
  let entry = cache.get(pattern);
  if (entry === undefined) {
    entry = compile(pattern);
    if (cache.size >= regexCacheSize) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
  } else {
    cache.delete(pattern); // re-inserted below as the most recently used
  }
  cache.set(pattern, entry);
  if (typeof entry === 'string') throw new RegexRefusedError(entry);
  const compiled = entry;
  return (candidate) => compiled.test(candidate);
}

function compile(pattern: string): Compiled | string {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) return `bad regular expression: ${describe(err, pattern)}`;
    if (err instanceof RE2JSException) return `bad regular expression: ${err.message}`;
    throw err;
  }
  const size = re.programSize();
  if (size > maxRegexProgramSize) {
    return `regular expression too large: it compiles to ${size} instructions, the limit is ${maxRegexProgramSize}`;
  }
  return new Compiled(re);
}

function describe(err: RE2JSSyntaxException, pattern: string): string {
  // re2js reports the pattern with the `(?i)` it prepends for CASE_INSENSITIVE: show the user's.
  const input = err.input === `(?i)${pattern}` ? pattern : err.input;
  const what = input ? `${err.error}: \`${input}\`` : err.error;
  const hint = unsupported(err.error, input ?? '');
  return hint ? `${what} (${hint}: regular expressions use RE2 syntax, which matches in linear time)` : what;
}

/** Names the backtracking-only feature behind an RE2 syntax error, whose own words do not. */
function unsupported(error: string, input: string): string | undefined {
  if (error === 'invalid escape sequence' && /^\\([1-9]|k)/.test(input)) return 'backreferences are not supported';
  if (/^\(\?<?[=!]/.test(input)) return 'lookahead and lookbehind are not supported';
  return undefined;
}
