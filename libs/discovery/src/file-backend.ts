import * as path from 'node:path';
import { silentLogger, type Logger } from '@flotilla/grpc';
import { FailedPreconditionError } from '@flotilla/errors';
import { systemClock, type Clock, type Timer } from '@flotilla/time';
import type { DiscoveryBackend, DiscoveryListener, DiscoveryUpdate } from './backend';
import { lineEntries } from './entries';
import { entriesUpdate } from './entries-update';
import { nodeFileAccess, type DirectoryWatch, type FileAccess } from './file-access';
import { MAX_FILE_BYTES } from './limits';

export interface FileBackendOptions {
  /** The discovery URI, e.g. file:///etc/flotilla/engines. */
  source: string;
  path: string;
  clock?: Clock;
  logger?: Logger;
  /** The safety net: the file is read this often even when no change was seen. Default 5 s. */
  rereadIntervalMs?: number;
  /** How long a change may settle before the file is read (editors write in bursts). Default 50 ms. */
  settleMs?: number;
  files?: FileAccess;
}

/**
 * A file with one address (or range) per line; blank lines and `#` comments are ignored. Changes
 * are seen through a watch on the file's directory (which survives atomic renames and deletes)
 * and, as a safety net for file systems where watches miss events, a periodic re-read. A file
 * that is missing, unreadable or has no usable entry is reported as an error, so the last good
 * set stands.
 */
export class FileBackend implements DiscoveryBackend {
  readonly source: string;
  private readonly path: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly files: FileAccess;
  private readonly rereadIntervalMs: number;
  private readonly settleMs: number;
  private listener: DiscoveryListener | undefined;
  private dirWatch: DirectoryWatch | undefined;
  private interval: Timer | undefined;
  private settle: Timer | undefined;
  private reading = false;
  private readAgain = false;
  private closed = false;

  constructor(options: FileBackendOptions) {
    this.source = options.source;
    this.path = options.path;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.files = options.files ?? nodeFileAccess;
    this.rereadIntervalMs = options.rereadIntervalMs ?? 5000;
    this.settleMs = options.settleMs ?? 50;
  }

  watch(listener: DiscoveryListener): void {
    if (this.listener) throw new FailedPreconditionError('the file backend is already being watched');
    this.listener = listener;
    this.attach();
    this.interval = this.clock.setInterval(() => {
      // The directory may have been missing (or replaced) when the watch was last set up.
      this.attach();
      void this.read();
    }, this.rereadIntervalMs);
    void this.read();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.interval?.cancel();
    this.settle?.cancel();
    this.dirWatch?.close();
    this.dirWatch = undefined;
  }

  private attach(): void {
    if (this.dirWatch || this.closed) return;
    const dir = path.dirname(this.path);
    try {
      this.dirWatch = this.files.watchDirectory(
        dir,
        () => this.changed(),
        (err) => {
          this.logger.debug('directory watch failed; the periodic re-read carries on', { dir, error: err.message });
          this.dirWatch?.close();
          this.dirWatch = undefined;
        },
      );
    } catch (err) {
      this.logger.debug('cannot watch the directory yet; the periodic re-read carries on', { dir, error: (err as Error).message });
    }
  }

  private changed(): void {
    if (this.settle || this.closed) return;
    this.settle = this.clock.setTimeout(() => {
      this.settle = undefined;
      void this.read();
    }, this.settleMs);
  }

  /** Reads the file, one read at a time; a change seen during a read leads to one more. */
  private async read(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        const update = await this.readOnce();
        if (this.closed) return;
        this.listener?.(update);
      } while (this.readAgain);
    } finally {
      this.reading = false;
    }
  }

  private async readOnce(): Promise<DiscoveryUpdate> {
    let content: string;
    try {
      content = await this.files.readText(this.path, MAX_FILE_BYTES);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file is missing' : (err as Error).message;
      return { kind: 'error', error: new FailedPreconditionError(`cannot read ${this.path}: ${reason}`) };
    }
    return entriesUpdate(`file ${this.path}`, lineEntries(content.replace(/^\uFEFF/, '')));
  }
}
