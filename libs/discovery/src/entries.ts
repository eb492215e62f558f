import { formatHostPort, parseHostPort } from '@flotilla/grpc';
import { clip, FlotillaError, InvalidArgumentError } from '@flotilla/errors';
import { EntryError } from './entry-error';
import { MAX_ADDRESSES_PER_SET, MAX_PROBLEM_ENTRY_CHARS, MAX_PROBLEMS } from './limits';
import { expandRanges, splitRanges } from './range';

/** An entry discovery could not use, and where it is; the rest of the set still applies. */
export interface EntryProblem {
  /** "line 3" of a file, "entry 2" of a list, or an etcd key. */
  position: string;
  entry: string;
  error: string;
}

/** One entry to parse, with its position for problems. */
export interface RawEntry {
  position: string;
  text: string;
  /** The entry names one engine; a range in it is a problem (etcd keys). */
  single?: boolean;
}

export interface ParsedEntries {
  /** Normalised host:port addresses, each once, in the order they were first listed. */
  addresses: string[];
  problems: EntryProblem[];
  /** Entries that were not blank or comments. */
  entryCount: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The one spelling of an address, as the cluster-manager writes it (lower-case host, IPv6 in
 * brackets and compressed: [0:0:0:0:0:0:0:1] is [::1]), so discovery and the manager agree on
 * which engines are the same. Throws InvalidArgumentError naming `field`.
 */
export function normaliseAddress(value: string, field = 'address'): string {
  const { host, port } = parseHostPort(field, value);
  const canonical = host.includes(':') ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host;
  return formatHostPort({ host: canonical, port });
}

/**
 * The addresses one entry stands for, normalised (`HOST:PORT`, lower-case host, IPv6 in
 * brackets). Throws EntryError naming what is wrong.
 */
export function parseEntry(text: string, single = false): string[] {
  const entry = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) throw new EntryError('expected host:port, without a scheme such as tcp://');
  if (/\s/.test(entry)) throw new EntryError('expected one host:port, found white space inside');
  if (single && splitRanges(entry).ranges.length > 0) throw new EntryError('a range is not allowed here: each engine registers its own key');
  const expanded = expandRanges(entry);
  return expanded.map((one) => {
    try {
      return normaliseAddress(one);
    } catch (err) {
      if (err instanceof FlotillaError) throw new EntryError(message(err));
      throw err;
    }
  });
}

/**
 * Parses entries into one set. A bad entry becomes a problem and is skipped. A set larger than
 * MAX_ADDRESSES_PER_SET is refused as a whole (InvalidArgumentError): half a cluster chosen by
 * line order would be worse than keeping the last good set.
 */
export function parseEntries(entries: Iterable<RawEntry>): ParsedEntries {
  const addresses = new Set<string>();
  const problems: EntryProblem[] = [];
  let hidden = 0;
  let entryCount = 0;
  for (const { position, text, single } of entries) {
    if (!text.trim()) continue;
    entryCount++;
    try {
      for (const address of parseEntry(text, single)) addresses.add(address);
    } catch (err) {
      if (!(err instanceof EntryError)) throw err;
      if (problems.length < MAX_PROBLEMS) problems.push({ position, entry: clip(text.trim(), MAX_PROBLEM_ENTRY_CHARS), error: err.message });
      else hidden++;
    }
    if (addresses.size > MAX_ADDRESSES_PER_SET) {
      throw InvalidArgumentError.field(position, clip(text.trim(), MAX_PROBLEM_ENTRY_CHARS), `the set grows past the limit of ${MAX_ADDRESSES_PER_SET} addresses here`);
    }
  }
  if (hidden > 0) problems.push({ position: '', entry: '', error: `${hidden} more problems not shown` });
  return { addresses: [...addresses], problems, entryCount };
}

/** Entries of a comma-separated list, positioned "entry N" (empty items are skipped). */
export function listEntries(list: string): RawEntry[] {
  return list.split(',').map((text, i) => ({ position: `entry ${i + 1}`, text }));
}

/** Entries of a file, one per line, positioned "line N"; `#` starts a comment. */
export function lineEntries(content: string): RawEntry[] {
  return content.split(/\r?\n/).map((line, i) => {
    const hash = line.indexOf('#');
    return { position: `line ${i + 1}`, text: hash >= 0 ? line.slice(0, hash) : line };
  });
}
