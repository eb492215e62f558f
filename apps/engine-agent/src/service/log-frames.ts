/** One piece of a container's output. */
export interface LogFrame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/**
 * Splits Docker's multiplexed log stream: each frame is an 8-byte header (stream type, three zero
 * bytes, big-endian length) and the payload. Chunks may end anywhere, so partial frames wait.
 */
export class LogFrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LogFrame[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: LogFrame[] = [];
    while (this.buffer.length >= 8) {
      const type = this.buffer[0];
      const length = this.buffer.readUInt32BE(4);
      if (type > 2 || this.buffer[1] !== 0 || this.buffer[2] !== 0 || this.buffer[3] !== 0) {
        throw new Error(`not a multiplexed log stream (header ${this.buffer.subarray(0, 8).toString('hex')})`);
      }
      if (this.buffer.length < 8 + length) break;
      frames.push({ stream: type === 2 ? 'stderr' : 'stdout', data: Buffer.from(this.buffer.subarray(8, 8 + length)) });
      this.buffer = this.buffer.subarray(8 + length);
    }
    return frames;
  }

  /** Bytes of an unfinished frame left when the stream ended. */
  get pendingBytes(): number {
    return this.buffer.length;
  }
}
