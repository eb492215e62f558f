import { Readable } from 'node:stream';

export interface HollowLogOptions {
  /** Bytes of output in all (frame headers not counted). */
  totalBytes: number;
  /** Output bytes per frame; Docker's json-file driver cuts long lines at 16 KiB. */
  frameBytes?: number;
  /** Bytes the stream buffers before it stops making frames (its high-water mark). */
  bufferBytes?: number;
}

/** The byte at `offset` of a hollow container's output: the alphabet, over and over. */
export function hollowLogByte(offset: number): number {
  return 0x61 + (offset % 26);
}

/**
 * A container's output as Docker's logs endpoint answers it (multiplexed stdout frames), made
 * only when read, one frame per read, the way a paused socket stops delivering. What it made
 * and whether it is waiting to be read tell a test how the agent reads it, without timing.
 */
export class HollowLogSource extends Readable {
  /** Output bytes made so far. */
  bytesMade = 0;
  /** Times the buffer filled up: the reader had stopped pulling. */
  pauses = 0;
  /** Full, and not read from since: the reader is holding back. */
  waiting = false;
  private readonly totalBytes: number;
  private readonly frameBytes: number;

  constructor(options: HollowLogOptions) {
    super({ highWaterMark: options.bufferBytes ?? 64 * 1024 });
    this.totalBytes = options.totalBytes;
    this.frameBytes = options.frameBytes ?? 16 * 1024;
  }

  override _read(): void {
    this.waiting = false;
    if (this.bytesMade >= this.totalBytes) {
      this.push(null);
      return;
    }
    const length = Math.min(this.frameBytes, this.totalBytes - this.bytesMade);
    const frame = Buffer.alloc(8 + length);
    frame[0] = 1; // stdout
    frame.writeUInt32BE(length, 4);
    for (let i = 0; i < length; i++) frame[8 + i] = hollowLogByte(this.bytesMade + i);
    this.bytesMade += length;
    if (!this.push(frame)) {
      this.pauses++;
      this.waiting = true;
    }
  }
}
