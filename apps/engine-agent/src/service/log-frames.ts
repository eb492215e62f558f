/** One piece of a container's output. */
export interface LogFrame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** The largest frame gathered whole; a longer one is passed on in pieces as they come. */
export const maxGatheredFrameBytes = 1024 * 1024;

/**
 * Splits Docker's multiplexed stream (logs, and exec and attach without a TTY): each frame is an
 * 8-byte header (stream type, three zero bytes, big-endian length) and the payload. Chunks may end
 * anywhere, so a partial frame waits, and comes out whole, as Docker wrote it. But a frame's length
 * comes from the engine, and a header claiming gigabytes must not make the agent hold them: a frame
 * over `maxGatheredFrameBytes` is passed on in pieces as they come.
 */
export class LogFrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private stream: LogFrame['stream'] = 'stdout';
  /** Payload bytes still owed by a frame being passed on in pieces. */
  private remaining = 0;

  push(chunk: Buffer): LogFrame[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: LogFrame[] = [];
    while (this.buffer.length > 0) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, this.buffer.length);
        frames.push({ stream: this.stream, data: Buffer.from(this.buffer.subarray(0, take)) });
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        continue;
      }
      if (this.buffer.length < 8) break;
      const type = this.buffer[0];
      const length = this.buffer.readUInt32BE(4);
      if (type > 2 || this.buffer[1] !== 0 || this.buffer[2] !== 0 || this.buffer[3] !== 0) {
        throw new Error(`not a multiplexed log stream (header ${this.buffer.subarray(0, 8).toString('hex')})`);
      }
      const stream = type === 2 ? 'stderr' : 'stdout';
      if (length > maxGatheredFrameBytes) {
        this.stream = stream;
        this.remaining = length;
        this.buffer = this.buffer.subarray(8);
        continue;
      }
      if (this.buffer.length < 8 + length) break;
      frames.push({ stream, data: Buffer.from(this.buffer.subarray(8, 8 + length)) });
      this.buffer = this.buffer.subarray(8 + length);
    }
    return frames;
  }

  /** Bytes of an unfinished frame (its header, or payload still owed) when the stream ended. */
  get pendingBytes(): number {
    return this.buffer.length + this.remaining;
  }
}
