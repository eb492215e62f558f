import fc from 'fast-check';
import { DockerEvent } from '@flotilla/proto';
import { itemCaps, truncatedLabel } from './docker-mapping';
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

describe('malformed and oversized event lines', () => {
  it.each([
    ['{"Type":"container","Action":"start","timeNano":"abc"}', 'not a time'],
    ['{"Type":"container","Action":"start","timeNano":-1}', 'not a time'],
    ['{"Type":"container","Action":"start","timeNano":1e400}', 'not a time'],
    ['{"Type":"container","Action":"start","timeNano":99999999999999999999}', 'out of range'],
    ['{"Type":"container","Action":"start","time":1e400}', 'not a time'],
    ['{"Type":"container","Action":"start","time":-3}', 'not a time'],
    ['{"Type":"container","Action":"start","time":"10"}', 'without time'],
    ['[1,2]', 'not a JSON object'],
    ['null', 'not a JSON object'],
  ])('refuses %s with a reason instead of throwing', (line, reason) => {
    const parsed = parseEventLine(line);
    expect('error' in parsed && parsed.error).toContain(reason);
  });

  it('reads an exact timeNano given as a string, and ignores a timeNano-looking number elsewhere in the line', () => {
    expect(parseEventLine('{"Type":"container","Action":"start","timeNano":"1795779339805916760"}')).toMatchObject({ event: { timeNano: '1795779339805916760' } });
    const decoy = '{"Type":"container","Action":"start","Actor":{"ID":"a","Attributes":{"timeNano":5}},"timeNano":1795779339805916760}';
    expect(parseEventLine(decoy)).toMatchObject({ event: { timeNano: '1795779339805916760', actorAttributes: {} } });
  });

  it('caps attributes (a container event carries the container labels) and marks the cut', () => {
    const attributes: Record<string, string> = { name: 'web', image: 'busybox' };
    for (let i = 0; i < 64; i++) attributes[`blob.${i}`] = 'x'.repeat(8192);
    const parsed = parseEventLine(JSON.stringify({ Type: 'container', Action: 'create', Actor: { ID: 'a\ud800', Attributes: attributes }, scope: 'local', timeNano: 1 }));
    if (!('event' in parsed)) throw new Error(parsed.error);
    expect(parsed.event.actorId).toBe('a\ufffd');
    expect(parsed.event.actorAttributes).toMatchObject({ name: 'web', image: 'busybox', [truncatedLabel]: 'attributes' });
    expect(DockerEvent.encode(parsed.event).finish().length).toBeLessThanOrEqual(itemCaps.labelBytes + 1024);
  });

  it('never throws, whatever the line (property)', () => {
    const runs = 500;
    const json = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ Type: fc.jsonValue(), Action: fc.jsonValue(), Actor: fc.jsonValue(), time: fc.jsonValue(), timeNano: fc.oneof(fc.jsonValue(), fc.bigInt().map(String)) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(json, (line) => {
        const parsed = parseEventLine(line);
        if ('event' in parsed) expect(() => DockerEvent.encode(parsed.event).finish()).not.toThrow();
      }),
      { numRuns: runs },
    );
    console.log(`parseEventLine property: ${runs} cases`);
  });

  it('drops a line over the length limit, counts it, and keeps the lines around it', () => {
    const limit = Math.max(start.length, die.length) + 10;
    const splitter = new EventLineSplitter(limit);
    const lines = [...splitter.push(start.slice(0, 50)), ...splitter.push('y'.repeat(500)), ...splitter.push(`\n${die}\n`), ...splitter.push('z'.repeat(500)), ...splitter.end()];
    expect(lines).toEqual([die]);
    expect(splitter.dropped).toBe(2);
    const ok = new EventLineSplitter(1000);
    expect([...ok.push('x'.repeat(2000) + '\n' + start + '\n'), ...ok.push(die), ...ok.end()]).toEqual([start, die]);
    expect(ok.dropped).toBe(1);
  });
});
