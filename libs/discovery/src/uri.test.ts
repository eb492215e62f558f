import * as path from 'node:path';
import { parseDiscoveryUri, redact } from './uri';

describe('parseDiscoveryUri', () => {
  it('reads nodes lists, bare lists, files and etcd', () => {
    expect(parseDiscoveryUri('nodes://a:1,b:2')).toEqual({ scheme: 'nodes', source: 'nodes://a:1,b:2', list: 'a:1,b:2' });
    expect(parseDiscoveryUri('a:1,10.0.0.[1:3]:2')).toEqual({ scheme: 'nodes', source: 'nodes://a:1,10.0.0.[1:3]:2', list: 'a:1,10.0.0.[1:3]:2' });
    expect(parseDiscoveryUri('file:///etc/flotilla/engines')).toEqual({ scheme: 'file', source: 'file:///etc/flotilla/engines', path: '/etc/flotilla/engines' });
    expect(parseDiscoveryUri('file://engines.txt')).toEqual({ scheme: 'file', source: `file://${path.resolve('engines.txt')}`, path: path.resolve('engines.txt') });
    expect(parseDiscoveryUri('etcd://10.0.0.1:2379,10.0.0.2:2379/flotilla/engines/')).toEqual({
      scheme: 'etcd',
      source: 'etcd://10.0.0.1:2379,10.0.0.2:2379/flotilla/engines',
      hosts: [{ host: '10.0.0.1', port: 2379 }, { host: '10.0.0.2', port: 2379 }],
      prefix: '/flotilla/engines',
      username: undefined,
      password: undefined,
    });
  });

  it('takes etcd credentials but leaves them out of the source', () => {
    const uri = parseDiscoveryUri('etcd://root:s%40cret@127.0.0.1:2379/f');
    expect(uri).toMatchObject({ scheme: 'etcd', source: 'etcd://127.0.0.1:2379/f', username: 'root', password: 's@cret' });
    expect(redact('etcd://root:secret@127.0.0.1:2379/f')).toBe('etcd://127.0.0.1:2379/f');
  });

  it.each([
    ['', /a discovery URI is required/],
    ['consul://10.0.0.1:8500/swarm', /unknown scheme consul:\/\//],
    ['zk://10.0.0.1/swarm', /unknown scheme zk:\/\//],
    ['token://abc', /unknown scheme token:\/\//],
    ['file://', /file:\/\/ needs a path/],
    ['nodes://', /needs at least one/],
    ['etcd://127.0.0.1:2379', /needs a key prefix/],
    ['etcd://127.0.0.1/flotilla', /expected host:port/],
    ['etcd://127.0.0.1:2379,/flotilla', /needs HOST:PORT/],
    ['etcd://root@127.0.0.1:2379/f', /USER:PASSWORD@/],
  ])('refuses %j naming the flag', (uri, error) => {
    expect(() => parseDiscoveryUri(uri)).toThrow(error);
    expect(() => parseDiscoveryUri(uri)).toThrow(/^--discovery /);
  });

  it('never shows a password in an error', () => {
    expect(() => parseDiscoveryUri('etcd://root:hunter2@nohost/f')).toThrow(/^(?!.*hunter2)/);
  });
});
