/** One piece of a container's output. */
export interface LogFrame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/**
 * Splits Docker's multiplexed stream (logs, and exec and attach without a TTY): each frame is an
 * 8-byte header (stream type, three zero bytes, big-endian length) and the payload. The payload is
 * passed on as it comes, in pieces, never gathered: a frame's length comes from the engine, and a
 * header claiming gigabytes must not make the agent hold them. Chunks may end anywhere; only a
 * partial header (under 8 bytes) waits.
 */
export class LogFrameDecoder {
  private header: Buffer = Buffer.alloc(0);
  private stream: LogFrame['stream'] = 'stdout';
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;

  push(chunk: Buffer): LogFrame[] {
    const out: LogFrame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        const data = Buffer.from(chunk.subarray(at, at + take));
        // Consecutive pieces of one stream go out as one.
        const last = out.at(-1);
        if (last && last.stream === this.stream) last.data = Buffer.concat([last.data, data]);
        else out.push({ stream: this.stream, data });
        this.remaining -= take;
        at += take;
        continue;
      }
      const need = 8 - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (this.header.length < 8) break;
      const type = this.header[0];
      if (type > 2 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
        throw new Error(`not a multiplexed log stream (header ${this.header.toString('hex')})`);
      }
      this.stream = type === 2 ? 'stderr' : 'stdout';
      this.remaining = this.header.readUInt32BE(4);
      this.header = Buffer.alloc(0);
    }
    return out;
  }

  /** Bytes of an unfinished frame (its header, or payload still owed) when the stream ended. */
  get pendingBytes(): number {
    return this.header.length + this.remaining;
  }
}
