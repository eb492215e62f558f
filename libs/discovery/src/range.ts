import { EntryError } from './entry-error';
import { MAX_ADDRESSES_PER_ENTRY, MAX_BOUND_DIGITS } from './limits';

/**
 * Numeric ranges inside an entry, as classic Swarm wrote them: `10.0.0.[10:20]:2375`,
 * `engine[1:3].example:2375`, and (our addition) in the port, `127.0.0.1:[4250:4252]`. A bound
 * written with a leading zero pads every number to its width: `node[08:10]` is node08, node09,
 * node10. Several ranges in one entry expand to every combination, the first range outermost.
 */
export interface NumericRange {
  /** As written, e.g. `[10:20]`. */
  text: string;
  from: number;
  to: number;
  /** Digits every number is padded to; 0 for no padding. */
  width: number;
}

export interface SplitEntry {
  /** The text around the ranges; always one more than `ranges`. */
  literals: string[];
  ranges: NumericRange[];
}

const RANGE = /\[(\d+):(\d+)\]/g;
/** An IPv6 literal, the one other use of brackets: only at the start, before the port. */
const IPV6_LITERAL = /^\[[0-9a-f:.%]*\]:/i;

function bound(text: string, range: string): number {
  if (text.length > MAX_BOUND_DIGITS) throw new EntryError(`range ${range}: bound ${text} has more than ${MAX_BOUND_DIGITS} digits`);
  return Number(text);
}

/** Finds the ranges of an entry and checks each one; stray brackets are errors. */
export function splitRanges(entry: string): SplitEntry {
  const literals: string[] = [];
  const ranges: NumericRange[] = [];
  let last = 0;
  for (const match of entry.matchAll(RANGE)) {
    const [text, fromText, toText] = match;
    const from = bound(fromText, text);
    const to = bound(toText, text);
    if (from > to) throw new EntryError(`range ${text} is reversed: FROM must not be larger than TO`);
    const size = to - from + 1;
    if (size > MAX_ADDRESSES_PER_ENTRY) throw new EntryError(`range ${text} expands to ${size} addresses, more than the limit of ${MAX_ADDRESSES_PER_ENTRY}`);
    const width = fromText.length > 1 && fromText.startsWith('0') ? fromText.length : 0;
    literals.push(entry.slice(last, match.index));
    ranges.push({ text, from, to, width });
    last = match.index + text.length;
  }
  literals.push(entry.slice(last));
  for (const [i, literal] of literals.entries()) {
    const rest = i === 0 ? literal.replace(IPV6_LITERAL, ':') : literal;
    if (!/[[\]]/.test(rest)) continue;
    const group = /\[[^\]]*\]/.exec(rest);
    if (group) throw new EntryError(`malformed range ${group[0]}: expected [FROM:TO] with whole numbers`);
    throw new EntryError('unbalanced [ or ]: expected a range such as [1:3]');
  }
  return { literals, ranges };
}

/** How many addresses the ranges expand to (1 with no range). */
export function rangeSize(ranges: readonly NumericRange[]): number {
  return ranges.reduce((n, r) => n * (r.to - r.from + 1), 1);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Every text the entry's ranges expand to, in order (ascending numbers, the first range
 * outermost). Throws EntryError for a malformed, reversed or too large range.
 */
export function expandRanges(entry: string): string[] {
  const { literals, ranges } = splitRanges(entry);
  const total = rangeSize(ranges);
  if (total > MAX_ADDRESSES_PER_ENTRY) {
    throw new EntryError(`the ranges ${ranges.map((r) => r.text).join(' ')} expand to ${total} addresses, more than the limit of ${MAX_ADDRESSES_PER_ENTRY}`);
  }
  let out = [literals[0]];
  for (const [i, range] of ranges.entries()) {
    const next: string[] = [];
    for (const prefix of out) {
      for (let n = range.from; n <= range.to; n++) next.push(prefix + pad(n, range.width) + literals[i + 1]);
    }
    out = next;
  }
  return out;
}

/** Writes a range as the parser reads it. */
export function formatRange(from: number, to: number, width = 0): string {
  return `[${pad(from, width)}:${pad(to, width)}]`;
}
