import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { InvalidArgumentError } from '@flotilla/errors';
import { parseFlags } from '@flotilla/config';
import { allowanceFor, defaultPolicy, noHostAccess, parsePolicy, policyFileLimitBytes } from './container-policy';
import { loadPolicy, policyFlags } from './policy-file';

function parseError(text: string): Error {
  try {
    parsePolicy(text, '/etc/p.json');
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('parsePolicy', () => {
  it('reads what each role may take, normalised, with everything left out allowing nothing', () => {
    const p = parsePolicy(
      JSON.stringify({ roles: { operator: { hostNetwork: true, capabilities: ['cap_net_admin', ' sys_time '], devices: ['/dev//fuse'], bindPaths: ['/srv/data/', '/'] }, reader: {} } }),
      '/etc/p.json',
      'engine-agent',
    );
    expect(p.source).toBe('/etc/p.json');
    expect(p.holder).toBe('engine-agent');
    expect(allowanceFor(p, 'operator')).toEqual({ ...noHostAccess, hostNetwork: true, capabilities: ['NET_ADMIN', 'SYS_TIME'], devices: ['/dev/fuse'], bindPaths: ['/srv/data', '/'] });
    expect(allowanceFor(p, 'reader')).toEqual(noHostAccess);
    expect(allowanceFor(p, 'manager')).toEqual(noHostAccess);
    expect(allowanceFor(parsePolicy('{}', 'x'), 'operator')).toEqual(noHostAccess);
  });

  it('allows nothing of the host by default', () => {
    const p = defaultPolicy('cluster-manager');
    expect(p.source).toBe('default: nothing of the host');
    for (const role of ['manager', 'agent', 'discovery', 'operator', 'reader'] as const) expect(allowanceFor(p, role)).toEqual(noHostAccess);
  });

  it.each([
    ['not json', /^--container-policy "\/etc\/p\.json": not JSON/],
    ['[]', /expected an object .*, not a list/],
    ['{"role": {}}', /: role: unknown key \(expected "roles"\)/],
    ['{"roles": []}', /: roles: expected an object of roles, not a list/],
    ['{"roles": {"admin": {}}}', /: roles\.admin: unknown role \(expected one of manager, agent, discovery, operator, reader\)/],
    ['{"roles": {"operator": true}}', /: roles\.operator: expected an object/],
    ['{"roles": {"operator": {"hostNetworking": true}}}', /: roles\.operator\.hostNetworking: unknown key \(expected hostNetwork, /],
    ['{"roles": {"operator": {"hostNetwork": "yes"}}}', /: roles\.operator\.hostNetwork: expected true or false, not "yes"/],
    ['{"roles": {"operator": {"privileged": 1}}}', /: roles\.operator\.privileged: expected true or false, not 1/],
    ['{"roles": {"operator": {"bindPaths": "/srv"}}}', /: roles\.operator\.bindPaths: expected a list of strings, not "\/srv"/],
    ['{"roles": {"operator": {"bindPaths": [1]}}}', /: roles\.operator\.bindPaths\[0\]: expected a string, not 1/],
    ['{"roles": {"operator": {"bindPaths": ["srv"]}}}', /: roles\.operator\.bindPaths\[0\] "srv": a host path must be absolute/],
    ['{"roles": {"operator": {"bindPaths": ["/srv/../etc"]}}}', /: roles\.operator\.bindPaths\[0\] "\/srv\/\.\.\/etc": a host path must not contain "\.\."/],
    ['{"roles": {"operator": {"devices": ["sda"]}}}', /: roles\.operator\.devices\[0\] "sda": a host path must be absolute/],
    ['{"roles": {"operator": {"capabilities": ["NET ADMIN"]}}}', /: roles\.operator\.capabilities\[0\] "NET ADMIN": expected a capability name/],
    ['{"roles": {"operator": {"__proto__": {}}}}', /: roles\.operator\.__proto__: unknown key/],
  ])('refuses %s naming the key', (text, message) => {
    const err = parseError(text);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(message);
  });

  it('reads back any policy it could have been written from (property)', () => {
    const capability = fc.constantFrom('NET_ADMIN', 'SYS_ADMIN', 'ALL', 'MKNOD');
    const hostPath = fc.array(fc.constantFrom('srv', 'dev', 'data', 'fuse'), { maxLength: 3 }).map((parts) => `/${parts.join('/')}`);
    const allowance = fc.record({
      hostNetwork: fc.boolean(),
      hostPid: fc.boolean(),
      hostIpc: fc.boolean(),
      hostUts: fc.boolean(),
      privileged: fc.boolean(),
      containerNamespaces: fc.boolean(),
      capabilities: fc.array(capability, { maxLength: 3 }),
      devices: fc.array(hostPath, { maxLength: 3 }),
      bindPaths: fc.array(hostPath, { maxLength: 3 }),
      logDrivers: fc.array(fc.constantFrom('syslog', 'gelf', 'journald'), { maxLength: 2 }),
    });
    const roles = fc.dictionary(fc.constantFrom('manager', 'agent', 'discovery', 'operator', 'reader'), allowance);
    fc.assert(
      fc.property(roles, (r) => {
        expect(parsePolicy(JSON.stringify({ roles: r }), 'p').roles).toEqual(r);
      }),
    );
  });
});

describe('loadPolicy', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'flotilla-policy-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a policy file, or gives the default policy when none is named', () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, '{"roles": {"operator": {"hostNetwork": true}}}');
    const p = loadPolicy(file, 'cluster-manager');
    expect(p).toMatchObject({ source: file, holder: 'cluster-manager' });
    expect(allowanceFor(p, 'operator').hostNetwork).toBe(true);
    expect(loadPolicy(undefined, 'engine-agent')).toEqual(defaultPolicy('engine-agent'));
    expect(loadPolicy('', 'engine-agent')).toEqual(defaultPolicy('engine-agent'));
  });

  it('refuses a missing file, a directory and a file over 64 KiB, naming the flag and the file', () => {
    expect(() => loadPolicy(path.join(dir, 'nope.json'))).toThrow(/^--container-policy ".*nope\.json": cannot read it: .*ENOENT/);
    expect(() => loadPolicy(dir)).toThrow(/^--container-policy ".*": cannot read it: .*EISDIR/);
    const big = path.join(dir, 'big.json');
    writeFileSync(big, `{"roles": {}}${' '.repeat(policyFileLimitBytes)}`);
    expect(() => loadPolicy(big)).toThrow(/^--container-policy ".*big\.json": larger than 64 KiB/);
    const fits = path.join(dir, 'fits.json');
    writeFileSync(fits, `{"roles": {}}`.padEnd(policyFileLimitBytes, ' '));
    expect(loadPolicy(fits).roles).toEqual({});
  });
});

describe('policyFlags', () => {
  it('gives --container-policy, read from <PREFIX>_CONTAINER_POLICY too', () => {
    const flags = policyFlags('FLOTILLA_MANAGER');
    expect(parseFlags(flags, ['--container-policy', '/etc/p.json'], {})['container-policy']).toBe('/etc/p.json');
    expect(parseFlags(flags, [], { FLOTILLA_MANAGER_CONTAINER_POLICY: '/etc/q.json' })['container-policy']).toBe('/etc/q.json');
    expect(parseFlags(flags, [], {})['container-policy']).toBeUndefined();
  });
});
