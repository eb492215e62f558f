import { LogFrameDecoder, maxGatheredFrameBytes } from './log-frames';

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

  it('passes a frame longer than it gathers on as it comes, without holding the length its header claims', () => {
    const decoder = new LogFrameDecoder();
    const header = Buffer.alloc(8);
    header[0] = 2;
    header.writeUInt32BE(0xffffffff, 4);
    expect(decoder.push(Buffer.concat([header, Buffer.from('first')]))).toEqual([{ stream: 'stderr', data: Buffer.from('first') }]);
    expect(decoder.push(Buffer.from('second'))).toEqual([{ stream: 'stderr', data: Buffer.from('second') }]);
    expect(decoder.pendingBytes).toBe(0xffffffff - 11);
    // A frame at the limit still comes whole.
    const whole = Buffer.alloc(8 + maxGatheredFrameBytes, 'x');
    whole.fill(0, 0, 8);
    whole[0] = 1;
    whole.writeUInt32BE(maxGatheredFrameBytes, 4);
    const fresh = new LogFrameDecoder();
    expect(fresh.push(whole.subarray(0, 1000))).toEqual([]);
    expect(fresh.push(whole.subarray(1000)).map((f) => f.data.length)).toEqual([maxGatheredFrameBytes]);
  });

  it('refuses a stream that is not multiplexed', () => {
    expect(() => new LogFrameDecoder().push(Buffer.from('plain text output'))).toThrow(/not a multiplexed log stream/);
  });
});
