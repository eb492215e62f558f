import { EventLineSplitter, parseEventLine, sinceParameter } from './event-lines';

const start = '{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web","image":"busybox:local"}},"scope":"local","time":1795779339,"timeNano":1795779339805916760}';
const die = '{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"0"}},"scope":"local","time":1795779340,"timeNano":1795779340000000001}';

describe('EventLineSplitter', () => {
  it('joins events split across chunks and splits chunks holding several events', () => {
    const text = `${start}\n${die}\n`;
    for (let cut = 1; cut < text.length; cut += 7) {
      const splitter = new EventLineSplitter();
      const lines = [...splitter.push(Buffer.from(text.slice(0, cut))), ...splitter.push(Buffer.from(text.slice(cut))), ...splitter.end()];
      expect(lines).toEqual([start, die]);
    }
  });

  it('keeps multi-byte characters whole when a chunk cuts through one', () => {
    const line = '{"Type":"container","Action":"create","Actor":{"ID":"x","Attributes":{"name":"café"}},"timeNano":1}';
    const bytes = Buffer.from(line + '\n');
    const cut = bytes.indexOf(0xc3) + 1;
    const splitter = new EventLineSplitter();
    expect([...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut))]).toEqual([line]);
  });

  it('returns a last line without newline at the end', () => {
    const splitter = new EventLineSplitter();
    expect(splitter.push(start)).toEqual([]);
    expect(splitter.end()).toEqual([start]);
  });
});

describe('parseEventLine', () => {
  it('reads type, action, actor and the exact nanosecond time', () => {
    const parsed = parseEventLine(start);
    expect(parsed).toEqual({
      event: { type: 'container', action: 'start', actorId: 'abc', actorAttributes: { name: 'web', image: 'busybox:local' }, scope: 'local', timeNano: '1795779339805916760' },
    });
  });

  it('falls back to seconds when timeNano is missing', () => {
    const parsed = parseEventLine('{"Type":"image","Action":"pull","Actor":{"ID":"busybox"},"time":10}');
    expect('event' in parsed && parsed.event.timeNano).toBe('10000000000');
  });

  it.each([
    ['not json', 'not JSON'],
    ['42', 'not a JSON object'],
    ['{"Action":"start","timeNano":1}', 'without Type or Action'],
    ['{"Type":"container","Action":"start"}', 'without time'],
  ])('rejects %s with a reason', (line, reason) => {
    const parsed = parseEventLine(line);
    expect('error' in parsed && parsed.error).toContain(reason);
  });
});

describe('sinceParameter', () => {
  it('writes seconds and nine digits of nanoseconds', () => {
    expect(sinceParameter(1795779339805916760n)).toBe('1795779339.805916760');
    expect(sinceParameter(5_000_000_007n)).toBe('5.000000007');
  });
});
