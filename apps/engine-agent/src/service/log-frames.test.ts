import { LogFrameDecoder } from './log-frames';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('LogFrameDecoder', () => {
  it('splits frames whatever the chunk boundaries', () => {
    const all = Buffer.concat([frame(1, 'hello\n'), frame(2, 'oops\n'), frame(1, '')]);
    for (let size = 1; size <= all.length; size++) {
      const decoder = new LogFrameDecoder();
      const frames = [];
      for (let i = 0; i < all.length; i += size) frames.push(...decoder.push(all.subarray(i, i + size)));
      expect(frames.map((f) => [f.stream, f.data.toString()])).toEqual([
        ['stdout', 'hello\n'],
        ['stderr', 'oops\n'],
        ['stdout', ''],
      ]);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('refuses a stream that is not multiplexed', () => {
    expect(() => new LogFrameDecoder().push(Buffer.from('plain text output'))).toThrow(/not a multiplexed log stream/);
  });
});
