import { formatHostPort, parseHostPort, parseListenAddress } from './address';
import { InvalidArgumentError } from '@flotilla/errors';

/** The InvalidArgumentError a call throws; fails the test when it throws nothing or something else. */
function invalid(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

describe('parseHostPort', () => {
  it.each([
    ['localhost:2375', 'localhost', 2375],
    ['engine-1.example.com:2376', 'engine-1.example.com', 2376],
    ['a:1', 'a', 1],
    ['127.0.0.1:65535', '127.0.0.1', 65535],
    ['0.0.0.0:80', '0.0.0.0', 80],
    ['255.255.255.255:443', '255.255.255.255', 443],
    ['[::1]:2375', '::1', 2375],
    ['[2001:db8::42]:9000', '2001:db8::42', 9000],
    ['[::ffff:10.0.0.1]:80', '::ffff:10.0.0.1', 80],
  ])('accepts %s', (text, host, port) => {
    expect(parseHostPort('address', text)).toEqual({ host, port });
  });

  it('normalises case and surrounding whitespace', () => {
    expect(parseHostPort('address', '  Engine-1.EXAMPLE.com:2375\n')).toEqual({ host: 'engine-1.example.com', port: 2375 });
    expect(parseHostPort('address', '\t[2001:DB8::AB]:80 ')).toEqual({ host: '2001:db8::ab', port: 80 });
    expect(parseHostPort('address', 'localhost:0080')).toEqual({ host: 'localhost', port: 80 });
  });

  it.each([
    ['missing port', 'localhost'],
    ['empty port', 'localhost:'],
    ['port 0', 'localhost:0'],
    ['port 65536', 'localhost:65536'],
    ['huge port', 'localhost:99999999999999999999'],
    ['negative port', 'localhost:-1'],
    ['non-numeric port', 'localhost:http'],
    ['bad IPv4 octet', '300.1.1.1:80'],
    ['IPv4 with too few octets', '10.0.1:80'],
    ['IPv4 with too many octets', '1.2.3.4.5:80'],
    ['unbracketed IPv6', '::1:2375'],
    ['unbracketed full IPv6', '2001:db8::1:80'],
    ['bracketed IPv4', '[127.0.0.1]:80'],
    ['bracketed non-address', '[localhost]:80'],
    ['bracketed garbage of colons', '[:]:80'],
    ['too many IPv6 groups', '[1:2:3:4:5:6:7:8:9]:80'],
    ['two double colons', '[1::2::3]:80'],
    ['missing host', ':80'],
    ['empty', ''],
    ['whitespace only', '   '],
    ['space in host', 'my host:80'],
    ['underscore in host', 'my_host:80'],
    ['leading hyphen', '-host:80'],
    ['trailing hyphen', 'host-:80'],
    ['label over 63 characters', `${'a'.repeat(64)}.example.com:80`],
    ['scheme', 'http://localhost:80'],
    ['path', 'localhost:80/path'],
    ['two ports', 'localhost:80:81'],
    ['garbage', '!!!'],
  ])('rejects %s (%j), naming the field and the value', (_why, text) => {
    const err = invalid(() => parseHostPort('engine-address', text));
    expect(err.message).toContain('engine-address');
    expect(err.message).toContain(JSON.stringify(text));
  });

  it('explains why a value is rejected', () => {
    expect(invalid(() => parseHostPort('a', 'localhost')).message).toMatch(/host:port/);
    expect(invalid(() => parseHostPort('a', 'localhost:0')).message).toMatch(/1 to 65535/);
    expect(invalid(() => parseHostPort('a', 'localhost:65536')).message).toMatch(/1 to 65535/);
    expect(invalid(() => parseHostPort('a', '300.1.1.1:80')).message).toMatch(/IPv4/);
    expect(invalid(() => parseHostPort('a', '::1:80')).message).toMatch(/brackets/);
    expect(invalid(() => parseHostPort('a', '[localhost]:80')).message).toMatch(/IPv6/);
    expect(invalid(() => parseHostPort('a', 'my_host:80')).message).toMatch(/host name/);
  });
});

describe('formatHostPort', () => {
  it('brackets IPv6 hosts only', () => {
    expect(formatHostPort({ host: 'localhost', port: 2375 })).toBe('localhost:2375');
    expect(formatHostPort({ host: '10.0.0.1', port: 80 })).toBe('10.0.0.1:80');
    expect(formatHostPort({ host: '::1', port: 2375 })).toBe('[::1]:2375');
  });

  it('round-trips with parseHostPort', () => {
    for (const text of ['localhost:1', '10.0.0.1:65535', '[2001:db8::1]:443']) {
      expect(formatHostPort(parseHostPort('address', text))).toBe(text);
    }
  });
});

describe('parseListenAddress', () => {
  it('accepts port 0 to pick a free port', () => {
    expect(parseListenAddress('listen', '127.0.0.1:0')).toBe('127.0.0.1:0');
    expect(parseListenAddress('listen', '0.0.0.0:0')).toBe('0.0.0.0:0');
    expect(parseListenAddress('listen', '[::1]:0')).toBe('[::1]:0');
    expect(parseListenAddress('listen', 'localhost:0')).toBe('localhost:0');
  });

  it('accepts and normalises ordinary addresses', () => {
    expect(parseListenAddress('listen', ' 127.0.0.1:7000 ')).toBe('127.0.0.1:7000');
    expect(parseListenAddress('listen', 'LocalHost:7000')).toBe('localhost:7000');
    expect(parseListenAddress('listen', 'LocalHost:0')).toBe('localhost:0');
    expect(parseListenAddress('listen', '[2001:DB8::1]:7000')).toBe('[2001:db8::1]:7000');
  });

  it.each([':0', '300.1.1.1:0', 'bad host:0', '::1:0', '[::1]', 'localhost', 'localhost:65536', 'localhost:-1'])(
    'rejects %j, naming the field and the value as given',
    (text) => {
      const err = invalid(() => parseListenAddress('listen-address', text));
      expect(err.message).toContain('listen-address');
      expect(err.message).toContain(JSON.stringify(text));
    },
  );
});
