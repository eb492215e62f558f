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
      // Pieces of one stream may come split; in order, they are the frames' payloads.
      const joined: Array<[string, string]> = [];
      for (const f of frames) {
        const last = joined.at(-1);
        if (last && last[0] === f.stream) last[1] += f.data.toString();
        else joined.push([f.stream, f.data.toString()]);
      }
      expect(joined).toEqual([
        ['stdout', 'hello\n'],
        ['stderr', 'oops\n'],
      ]);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('passes a frame on as it comes, without gathering the length its header claims', () => {
    const decoder = new LogFrameDecoder();
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(0xffffffff, 4);
    expect(decoder.push(Buffer.concat([header, Buffer.from('first')]))).toEqual([{ stream: 'stdout', data: Buffer.from('first') }]);
    expect(decoder.push(Buffer.from('second'))).toEqual([{ stream: 'stdout', data: Buffer.from('second') }]);
    expect(decoder.pendingBytes).toBe(0xffffffff - 11);
  });

  it('refuses a stream that is not multiplexed', () => {
    expect(() => new LogFrameDecoder().push(Buffer.from('plain text output'))).toThrow(/not a multiplexed log stream/);
  });
});
