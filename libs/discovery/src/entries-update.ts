import { FailedPreconditionError } from '@flotilla/errors';
import type { DiscoveryUpdate } from './backend';
import type { RawEntry } from './entries';
import { parseEntries } from './entries';

/**
 * Turns one read of a source into an update. A read in which not one entry could be used (a
 * binary file, a half-written one, a list of typos) counts as unreadable, so the last good set is
 * kept instead of emptying the cluster; a source with no entries at all is a legitimately empty
 * set.
 */
export function entriesUpdate(what: string, entries: Iterable<RawEntry>): DiscoveryUpdate {
  let parsed;
  try {
    parsed = parseEntries(entries);
  } catch (err) {
    return { kind: 'error', error: err instanceof Error ? err : new Error(String(err)) };
  }
  if (parsed.entryCount > 0 && parsed.addresses.length === 0) {
    const first = parsed.problems[0];
    const detail = first ? `; ${first.position}: ${JSON.stringify(first.entry)}: ${first.error}` : '';
    return { kind: 'error', error: new FailedPreconditionError(`${what} has ${parsed.entryCount} entries and not one usable address${detail}`) };
  }
  return { kind: 'entries', entries: { addresses: parsed.addresses, problems: parsed.problems } };
}
