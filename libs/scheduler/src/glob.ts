/**
 * Glob matching without a regular-expression engine, so a user's glob can never backtrack:
 * `*` matches any run of characters (none included), every other character matches itself
 * ignoring case, and the whole candidate must match.
 *
 * With only `*` as a wildcard, matching the fixed pieces between stars at their leftmost
 * possible place is always right (a later place never leaves more room for the rest), so one
 * left-to-right pass decides: each piece is searched for once (`indexOf`), from where the one
 * before it ended, and nothing is ever retried.
 */
export function compileGlob(glob: string): (candidate: string) => boolean {
  // Case is ignored the way the literal path ignores it: both sides lower-cased.
  const parts = glob.toLowerCase().split('*');
  const head = parts[0];
  const tail = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  // Head and tail must not overlap, and every fixed piece needs room of its own.
  const minLength = parts.reduce((n, p) => n + p.length, 0);
  if (parts.length === 1) return (candidate) => candidate.toLowerCase() === head;
  return (candidate) => {
    // Lower-casing may change the length (e.g. 'İ'), so the room is checked on what is compared.
    const c = candidate.toLowerCase();
    if (c.length < minLength || !c.startsWith(head) || !c.endsWith(tail)) return false;
    const end = c.length - tail.length;
    let at = head.length;
    for (const piece of middle) {
      const found = c.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}
