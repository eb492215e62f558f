// Slow readers of byte streams (container logs), for tests of backpressure: what a server reads
// from its source while its client reads nothing is what it holds in memory.
import { waitFor } from './wait-for';

/** The parts of a grpc-js client stream of byte chunks a slow reader uses. */
export interface PausableCall<T> {
  on(event: 'data', listener: (item: T) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  once(event: 'data', listener: (item: T) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export interface SlowReader {
  readonly bytesRead: number;
  /** Reads the rest of the stream; resolves with the bytes read in all, or rejects on a wrong byte. */
  readRest(): Promise<number>;
}

/**
 * Reads a stream, checking each byte against `expected(offset)`, and pauses it after the first
 * message. (A grpc-js client stream that was never read from takes in everything the server
 * sends; one that read and then paused stops taking.)
 */
export function slowReader<T extends { data: Uint8Array }>(stream: PausableCall<T>, expected: (offset: number) => number): SlowReader {
  let offset = 0;
  let failure: Error | undefined;
  stream.on('data', (message: T) => {
    for (const byte of message.data) {
      if (byte !== expected(offset)) failure ??= new Error(`byte ${offset} is ${byte}, expected ${expected(offset)}`);
      offset++;
    }
  });
  stream.once('data', () => stream.pause());
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('end', () => resolve());
  });
  ended.catch(() => undefined); // a reader that cancels never awaits it
  return {
    get bytesRead() {
      return offset;
    },
    async readRest() {
      stream.resume();
      await ended;
      if (failure) throw failure;
      return offset;
    },
  };
}

/** A source that makes its bytes only as they are read, and says when it stands full and unread. */
export interface PulledSource {
  readonly bytesMade: number;
  readonly waiting: boolean;
}

/**
 * Waits until the source stands full and unread across two looks (its reader holds back), or
 * has made all `totalBytes` (its reader read it through). Which one is the test's assertion.
 */
export function heldBackOrReadThrough(source: () => PulledSource | undefined, totalBytes: number): Promise<'held back' | 'read through'> {
  let lastMade = -1;
  return waitFor(
    () => {
      const s = source();
      if (!s) return undefined;
      if (s.bytesMade >= totalBytes) return 'read through' as const;
      const still = s.waiting && s.bytesMade === lastMade;
      lastMade = s.bytesMade;
      return still ? ('held back' as const) : undefined;
    },
    { what: 'the source to be held back or read through' },
  );
}
