import * as fs from 'node:fs';
import { FailedPreconditionError } from '@flotilla/errors';

/** A directory watch; close() stops it. */
export interface DirectoryWatch {
  close(): void;
}

/** The file-system calls the file backend makes, injectable for tests. */
export interface FileAccess {
  /** The file's text; rejects when it is missing, unreadable or larger than `maxBytes`. */
  readText(path: string, maxBytes: number): Promise<string>;
  /**
   * Calls `onChange` on any change in the directory: a watch on the directory, not the file,
   * still sees the file after an atomic rename or a delete and re-create replaced it.
   */
  watchDirectory(dir: string, onChange: () => void, onError: (err: Error) => void): DirectoryWatch;
}

export const nodeFileAccess: FileAccess = {
  async readText(path, maxBytes) {
    const handle = await fs.promises.open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) throw new FailedPreconditionError(`${path} is ${size} bytes, more than the limit of ${maxBytes}`);
      // Read one byte more than allowed, in case the file grew after stat.
      const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length === buffer.length) break;
      }
      if (length > maxBytes) throw new FailedPreconditionError(`${path} is more than the limit of ${maxBytes} bytes`);
      return buffer.subarray(0, length).toString('utf8');
    } finally {
      await handle.close();
    }
  },
  watchDirectory(dir, onChange, onError) {
    const watcher = fs.watch(dir, { persistent: false }, () => onChange());
    watcher.on('error', (err) => onError(err));
    return { close: () => watcher.close() };
  },
};
