import { entriesUpdate } from './entries-update';
import { lineEntries, listEntries, parseEntries, parseEntry } from './entries';

describe('parseEntry', () => {
  it('expands the classic Swarm ranges, and ranges in the port', () => {
    expect(parseEntry('10.0.0.[10:12]:4243')).toEqual(['10.0.0.10:4243', '10.0.0.11:4243', '10.0.0.12:4243']);
    expect(parseEntry('engine[1:3].example:4243')).toEqual(['engine1.example:4243', 'engine2.example:4243', 'engine3.example:4243']);
    expect(parseEntry('127.0.0.1:[4250:4252]')).toEqual(['127.0.0.1:4250', '127.0.0.1:4251', '127.0.0.1:4252']);
    expect(parseEntry('node[08:10]:1')).toEqual(['node08:1', 'node09:1', 'node10:1']);
    expect(parseEntry('[::1]:[2375:2376]')).toEqual(['[::1]:2375', '[::1]:2376']);
    expect(parseEntry(' Engine.Example:2375 ')).toEqual(['engine.example:2375']);
    expect(parseEntry('[0:0:0:0:0:0:0:1]:2375')).toEqual(['[::1]:2375']);
    expect(parseEntry('[FD00:0::0A]:[1:2]')).toEqual(['[fd00::a]:1', '[fd00::a]:2']);
  });

  it.each([
    ['10.0.0.1:99999', /address "10.0.0.1:99999": port must be 1 to 65535/],
    ['10.0.0.1', /expected host:port/],
    ['tcp://10.0.0.1:2375', /without a scheme/],
    ['10.0.0.[20:10]:2375', /range \[20:10\] is reversed/],
    ['10.0.[0:255].[0:255]:2375', /the ranges \[0:255\] \[0:255\] expand to 65536 addresses, more than the limit of 4096/],
    ['h[1:5000]:1', /range \[1:5000\] expands to 5000 addresses, more than the limit of 4096/],
    ['h[1:9999999999]:1', /has more than 9 digits/],
    ['10.0.0.[250:260]:2375', /10\.0\.0\.256:2375.*not an IPv4 address/],
    ['h[1-3]:2375', /malformed range \[1-3\]/],
    ['a b:1', /white space/],
    ['@@@:1', /not a valid host name/],
  ])('refuses %s', (entry, error) => {
    expect(() => parseEntry(entry)).toThrow(error);
  });
});

describe('parseEntries', () => {
  it('skips blank lines and comments, reports bad lines by number, and keeps the good ones in order, each once', () => {
    const parsed = parseEntries(
      lineEntries(['# engines', '', '10.0.0.2:2375  # rack 2', 'not an address', '10.0.0.1:2375', '10.0.0.2:2375', '10.0.0.3:70000', '   '].join('\n')),
    );
    expect(parsed.addresses).toEqual(['10.0.0.2:2375', '10.0.0.1:2375']);
    expect(parsed.problems).toEqual([
      { position: 'line 4', entry: 'not an address', error: expect.stringMatching(/white space/) },
      { position: 'line 7', entry: '10.0.0.3:70000', error: expect.stringMatching(/port must be 1 to 65535/) },
    ]);
    expect(parsed.entryCount).toBe(5);
  });

  it('positions list items as entries', () => {
    const parsed = parseEntries(listEntries('a:1,,b:x,c:3,'));
    expect(parsed.addresses).toEqual(['a:1', 'c:3']);
    expect(parsed.problems).toEqual([{ position: 'entry 3', entry: 'b:x', error: expect.any(String) }]);
  });

  it('keeps at most 100 problems and says how many more there were', () => {
    const parsed = parseEntries(lineEntries(Array.from({ length: 150 }, (_, i) => `bad${i}`).join('\n')));
    expect(parsed.problems).toHaveLength(101);
    expect(parsed.problems[100]).toEqual({ position: '', entry: '', error: '50 more problems not shown' });
  });

  it('refuses a range inside a single-engine entry', () => {
    expect(parseEntries([{ position: '/p/h[1:2]:1', text: 'h[1:2]:1', single: true }]).problems[0].error).toMatch(/a range is not allowed here/);
  });
});

describe('entriesUpdate', () => {
  it('treats a source with entries but no usable one as unreadable, and an empty one as empty', () => {
    const garbage = entriesUpdate('file /x', lineEntries('\u0000\u0001\u0002\n%%%%\n'));
    expect(garbage.kind).toBe('error');
    expect(garbage.kind === 'error' && garbage.error.message).toMatch(/file \/x has 2 entries and not one usable address; line 1/);
    expect(entriesUpdate('file /x', lineEntries('# nothing yet\n\n'))).toEqual({ kind: 'entries', entries: { addresses: [], problems: [] } });
  });

  it('refuses a set past the limit as an error, so the last good set stands', () => {
    const update = entriesUpdate('file /x', lineEntries('10.0.0.1:[1:3000]\n10.0.0.2:[1:3000]'));
    expect(update.kind === 'error' && update.error.message).toMatch(/the set grows past the limit of 4096 addresses/);
  });
});
