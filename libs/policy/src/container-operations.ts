import { InvalidArgumentError } from '@flotilla/errors';

/*
 * The arguments of container operations that the manager and the agent both check (fields named
 * as in their requests, which share the names): the manager before anything reaches an engine,
 * the agent again as the last line before Docker.
 */

function checkBytes(field: string, value: string, limit: number): void {
  const bytes = Buffer.byteLength(value);
  if (bytes > limit) throw InvalidArgumentError.field(field, `${value.slice(0, 40)}…`, `value is ${bytes} bytes; at most ${limit}`);
}

/** Docker's container name grammar, with the optional leading slash Docker shows. */
export const containerNamePattern = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** Docker's volume name grammar (at least two characters). */
export const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The longest volume name taken, in bytes (ASCII only, by the grammar). */
export const volumeNameBytes = 255;

/**
 * A volume name, or INVALID_ARGUMENT naming the field. It goes into Docker's URL
 * (/volumes/NAME), so nothing outside the grammar may pass.
 */
export function checkVolumeName(field: string, value: string): string {
  checkBytes(field, value, volumeNameBytes);
  if (!volumeNamePattern.test(value)) throw InvalidArgumentError.field(field, value, 'a volume name is [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters)');
  return value;
}
/** The longest container name taken, in bytes (ASCII only, by the grammar). */
export const containerNameBytes = 255;

/** A new container name (rename): required, Docker's grammar; answered without the leading "/". */
export function checkNewContainerName(field: string, value: string): string {
  if (!value) throw InvalidArgumentError.field(field, value, 'a new name is required');
  checkBytes(field, value, containerNameBytes);
  if (!containerNamePattern.test(value)) throw InvalidArgumentError.field(field, value, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
  return value.replace(/^\//, '');
}

/** Docker's wait conditions; empty is "not-running", as in Docker. */
export const waitConditions = ['not-running', 'next-exit', 'removed'] as const;
export type WaitCondition = (typeof waitConditions)[number];

export function checkWaitCondition(field: string, value: string): WaitCondition {
  if (!value) return 'not-running';
  const found = waitConditions.find((c) => c === value);
  if (!found) throw InvalidArgumentError.field(field, value.slice(0, 40), `expected one of ${waitConditions.join(', ')} (empty: not-running)`);
  return found;
}

/** The longest path in a container taken (Linux's PATH_MAX). */
export const containerPathBytes = 4096;

/** A path in a container for a copy: required, at most PATH_MAX, no NUL (it goes into Docker's query string). */
export function checkContainerPath(field: string, value: string): string {
  if (!value) throw InvalidArgumentError.field(field, value, 'a path in the container is required');
  checkBytes(field, value, containerPathBytes);
  if (value.includes('\0')) throw InvalidArgumentError.field(field, value.slice(0, 40), 'must not contain a NUL byte');
  return value;
}

/** The most archive one CopyToContainer message may carry (the proto's contract). */
export const maxArchiveMessageBytes = 1024 * 1024;

/** A copy's message after its start (the manager's and the agent's share this shape): a piece of the archive, within the cap. */
export type ArchiveMessage = { $case: 'start'; value: unknown } | { $case: 'data'; value: Buffer } | undefined;

export function checkArchivePiece(request: ArchiveMessage): Buffer {
  if (request?.$case !== 'data') throw InvalidArgumentError.field('request', request?.$case ?? 'empty', 'after the start, only data messages');
  if (request.value.length > maxArchiveMessageBytes) throw InvalidArgumentError.field('data', `${request.value.length} bytes`, `at most ${maxArchiveMessageBytes} bytes per message`);
  return request.value;
}

/** The longest `ps` options taken, in bytes. */
export const psArgsBytes = 256;
/**
 * `ps` options: Docker passes them to `ps` on the engine's host as separate words, so only what
 * `ps` options are made of is let through (no quotes, paths, globs or shell characters).
 */
const psArgsPattern = /^[A-Za-z0-9 ,=-]*$/;

export function checkPsArgs(field: string, value: string): string {
  checkBytes(field, value, psArgsBytes);
  if (!psArgsPattern.test(value)) throw InvalidArgumentError.field(field, value, 'only letters, digits, space, ",", "=" and "-" are allowed');
  return value.trim();
}
