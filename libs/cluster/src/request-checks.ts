import { clip, InvalidArgumentError } from '@flotilla/errors';
import { containerNamePattern } from '@flotilla/policy';

/**
 * The checks request limits are made of. Each refusal is INVALID_ARGUMENT naming the field, the
 * value cut short (a refused value may be megabytes, and it goes into logs and terminals) and the
 * limit, in the form of InvalidArgumentError.field: `field "value…": why`.
 */

const previewEntries = 3;

export function bytesOf(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

function refuse(field: string, shown: string, why: string): InvalidArgumentError {
  return InvalidArgumentError.fields([{ field, description: `${shown}: ${why}` }]);
}

function previewList(values: readonly string[]): string {
  const shown = values.slice(0, previewEntries).map((v) => JSON.stringify(clip(v, 20)));
  return `[${shown.join(',')}${values.length > previewEntries ? ',…' : ''}]`;
}

function previewMap(entries: ReadonlyArray<readonly [string, string]>): string {
  const shown = entries.slice(0, previewEntries).map(([k, v]) => `${JSON.stringify(clip(k, 20))}:${JSON.stringify(clip(v, 20))}`);
  return `{${shown.join(',')}${entries.length > previewEntries ? ',…' : ''}}`;
}

/** A string of at most `limit` bytes; returns its size. */
export function checkText(field: string, value: string, limit: number): number {
  const bytes = bytesOf(value);
  if (bytes > limit) throw InvalidArgumentError.field(field, clip(value), `value is ${bytes} bytes; at most ${limit}`);
  return bytes;
}

/** A list of at most `entries` entries; `shown` is what the message shows of it. */
export function checkCount(field: string, length: number, entries: number, shown = ''): void {
  if (length > entries) throw refuse(field, shown || `(${length} entries)`, `${length} entries; at most ${entries}`);
}

export interface ListLimits {
  entries: number;
  entryBytes: number;
  /** All entries together. */
  totalBytes?: number;
}

/** A list of strings: how many, how long each, how long together. */
export function checkList(field: string, values: readonly string[], limits: ListLimits): void {
  checkCount(field, values.length, limits.entries, previewList(values));
  let total = 0;
  for (let i = 0; i < values.length; i++) total += checkText(`${field}[${i}]`, values[i], limits.entryBytes);
  if (limits.totalBytes !== undefined && total > limits.totalBytes) throw refuse(field, previewList(values), `${total} bytes in all; at most ${limits.totalBytes}`);
}

export interface MapLimits {
  entries: number;
  keyBytes: number;
  valueBytes: number;
  totalBytes: number;
}

/** A string map (labels): how many entries, how long each key and value, how long together. */
export function checkMap(field: string, map: Readonly<Record<string, string>>, limits: MapLimits): void {
  const entries = Object.entries(map);
  checkCount(field, entries.length, limits.entries, previewMap(entries));
  let total = 0;
  for (const [key, value] of entries) {
    const keyBytes = bytesOf(key);
    if (keyBytes > limits.keyBytes) throw refuse(`${field} key`, JSON.stringify(clip(key)), `key is ${keyBytes} bytes; at most ${limits.keyBytes}`);
    total += keyBytes + checkText(`${field}[${JSON.stringify(clip(key))}]`, value, limits.valueBytes);
  }
  if (total > limits.totalBytes) throw refuse(field, previewMap(entries), `${total} bytes of keys and values in all; at most ${limits.totalBytes}`);
}

/** A whole number in [min, max]. */
export function checkRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw InvalidArgumentError.field(field, value, `must be ${min} to ${max}`);
}


/** A container name: Docker's grammar, at most `limit` bytes; empty lets Docker pick one. */
export function checkContainerName(field: string, name: string, limit: number): void {
  checkText(field, name, limit);
  if (name && !containerNamePattern.test(name)) throw InvalidArgumentError.field(field, clip(name), 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
}
