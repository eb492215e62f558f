import { InvalidArgumentError } from '@flotilla/errors';

/** Where an item sits in its listing's order; the token of a page holds the key of its last item. */
export type PageKey = readonly string[];

/** A listing as pages read it: its items in key order, and how big each one is on the wire. */
export interface Listing<T> {
  /** Named in every token, so one listing's token is refused by another. */
  name: string;
  /** Strings per key. */
  arity: number;
  /**
   * The items in key order, lazily: a page reads only as far as it returns, plus one. `after`
   * lets a listing start near its place; items at or before it are skipped anyway.
   */
  items(after: PageKey | undefined): Iterable<T>;
  key(item: T): PageKey;
  /** Encoded size of one item (its message, without the field's tag and length). */
  bytes(item: T): number;
}

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

export interface Page<T> {
  items: T[];
  /** Empty on the last page. */
  nextPageToken: string;
}

export const defaultPageSize = 500;
export const maxPageSize = 1000;
/** Half the 4 MiB message limit: a page of big items (containers with many labels) stays well inside it. */
export const maxPageBytes = 2 * 1024 * 1024;
/**
 * Longer than any token this manager hands out: an address and a container ID, each within the
 * agent's 4 KiB string cap, JSON-escaped and in base64 stay under 40,000 characters.
 */
const maxTokenLength = 64 * 1024;

/** Code-unit order: the same on every host and in every locale, and cheap at 100,000s of keys. */
export function compareKeys(a: PageKey, b: PageKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

export function pageSizeOf(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0 || requested > maxPageSize) {
    throw InvalidArgumentError.field('page_size', requested, `must be from 0 to ${maxPageSize} (0 means ${defaultPageSize})`);
  }
  return requested || defaultPageSize;
}

/** base64url of JSON `[listing, ...key]`: opaque to clients, and any string survives it. */
export function encodePageToken(listing: string, key: PageKey): string {
  return Buffer.from(JSON.stringify([listing, ...key]), 'utf8').toString('base64url');
}

/** The key in a token of `listing`; undefined for the empty token (the first page). */
export function decodePageToken(listing: string, arity: number, token: string): PageKey | undefined {
  if (token === '') return undefined;
  const refuse = () => InvalidArgumentError.field('page_token', token.length > 64 ? `${token.slice(0, 64)}…` : token, `is not a next_page_token of ${listing}`);
  // Buffer's decoder skips what it cannot read: only a token that encodes back the same is ours.
  if (token.length > maxTokenLength || !/^[A-Za-z0-9_-]+$/.test(token)) throw refuse();
  const text = Buffer.from(token, 'base64url');
  if (text.toString('base64url') !== token) throw refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1 || parsed[0] !== listing) throw refuse();
  const key: unknown[] = parsed.slice(1);
  if (!key.every((part): part is string => typeof part === 'string')) throw refuse();
  return key;
}

/** Bytes a length-delimited field takes: its tag (fields 1 to 15 take one byte), the length, the value. */
export function fieldBytes(length: number): number {
  let varint = 1;
  for (let rest = length; rest >= 0x80; rest = Math.floor(rest / 0x80)) varint++;
  return 1 + varint + length;
}

/**
 * One page: the items after the token's key, up to the page size, stopping before the response
 * would pass `maxBytes` (with room for the next token), but always at least one item so a single
 * huge item cannot stall a listing. Keys, not offsets, say where the next page starts: items that
 * come or go between pages never make another item repeat or be skipped.
 */
export function readPage<T>(request: PageRequest, listing: Listing<T>, maxBytes = maxPageBytes): Page<T> {
  const size = pageSizeOf(request.pageSize);
  const after = decodePageToken(listing.name, listing.arity, request.pageToken);
  const items: T[] = [];
  let last: PageKey | undefined;
  let used = 0;
  let more = false;
  for (const item of listing.items(after)) {
    const key = listing.key(item);
    if (after && compareKeys(key, after) <= 0) continue;
    // A token only when another item follows: reading one item past the page says so.
    if (items.length === size) {
      more = true;
      break;
    }
    const cost = fieldBytes(listing.bytes(item));
    // Room for this item and for the token that would follow it (made only when room is short).
    const room = maxBytes - used - cost;
    if (items.length > 0 && room < fieldBytes(maxTokenLength) && room < fieldBytes(encodePageToken(listing.name, key).length)) {
      more = true;
      break;
    }
    items.push(item);
    last = key;
    used += cost;
  }
  return { items, nextPageToken: more && last ? encodePageToken(listing.name, last) : '' };
}
