import fc from 'fast-check';
import { InvalidArgumentError, PermissionDeniedError } from '@flotilla/errors';
import type { Role } from '@flotilla/pki';
import { checkContainer } from './check-container';
import { defaultPolicy, parsePolicy, type ContainerPolicy } from './container-policy';
import { parseBind, parseDevice, type HostAccess } from './host-access';

const nothing: HostAccess = { privileged: false, networkMode: '', pidMode: '', ipcMode: '', utsMode: '', capAdd: [], devices: [], binds: [] };
const ask = (fields: Partial<HostAccess>): HostAccess => ({ ...nothing, ...fields });
const policy = (roles: object, holder = 'cluster-manager'): ContainerPolicy => parsePolicy(JSON.stringify({ roles }), '/etc/flotilla/policy.json', holder);

/** The error checkContainer throws, or undefined when it allows the request. */
function refusal(request: HostAccess, role: Role | undefined, p: ContainerPolicy): Error | undefined {
  try {
    checkContainer(request, role, p);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

describe('checkContainer', () => {
  it('allows a container that takes nothing of the host, under the default policy, for any role', () => {
    for (const role of ['operator', 'reader', undefined] as const) {
      expect(refusal(ask({ networkMode: 'bridge', ipcMode: 'private', binds: ['cache:/cache', 'data:/data:ro'] }), role, defaultPolicy())).toBeUndefined();
    }
  });

  it('refuses host networking naming the field, the value, the policy and how to allow it', () => {
    const err = refusal(ask({ networkMode: 'host' }), 'operator', defaultPolicy('cluster-manager'));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err?.message).toBe(
      'networkMode "host": the cluster-manager\'s container policy (default: nothing of the host) does not allow host networking for role "operator" (allow it with "hostNetwork" in --container-policy)',
    );
  });

  it.each([
    [{ privileged: true }, /^privileged true: .* privileged containers .*"privileged"/],
    [{ networkMode: ' HOST ' }, /^networkMode " HOST ": .*host networking/],
    [{ pidMode: 'host' }, /^pidMode "host": .*the host's PID namespace.*"hostPid"/],
    [{ ipcMode: 'host' }, /^ipcMode "host": .*the host's IPC namespace.*"hostIpc"/],
    [{ utsMode: 'host' }, /^utsMode "host": .*the host's UTS namespace.*"hostUts"/],
    [{ capAdd: ['NET_ADMIN', 'cap_sys_admin'] }, /^capAdd\[1\] "cap_sys_admin": .*adding capability SYS_ADMIN for role "operator" \(allowed: NET_ADMIN; allow it with "capabilities"/],
    [{ devices: ['/dev/sda:/dev/xvda'] }, /^devices\[0\] "\/dev\/sda:\/dev\/xvda": .*host device \/dev\/sda .*"devices"/],
    [{ binds: ['/srv/data/x:/x', '/etc:/host-etc:ro'] }, /^binds\[1\] "\/etc:\/host-etc:ro": .*binding host path \/etc for role "operator" \(allowed: \/srv\/data; allow it with "bindPaths"/],
  ])('refuses %p', (fields, message) => {
    const p = policy({ operator: { capabilities: ['net_admin'], bindPaths: ['/srv/data/'] } });
    const err = refusal(ask(fields), 'operator', p);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err?.message).toMatch(message);
    expect(err?.message).toContain("the cluster-manager's container policy (/etc/flotilla/policy.json)");
  });

  it('allows what the policy allows the role, and only that role', () => {
    const p = policy({
      operator: { hostNetwork: true, hostPid: true, hostIpc: true, hostUts: true, privileged: true, capabilities: ['CAP_NET_ADMIN'], devices: ['/dev/fuse'], bindPaths: ['/srv/data'] },
    });
    const everything = ask({ privileged: true, networkMode: 'host', pidMode: 'host', ipcMode: 'host', utsMode: 'host', capAdd: ['net_admin'], devices: ['/dev/fuse:/dev/fuse:rw'], binds: ['/srv/data:/data', '/srv/data/a/b:/b:ro'] });
    expect(refusal(everything, 'operator', p)).toBeUndefined();
    expect(refusal(everything, 'reader', p)).toBeInstanceOf(PermissionDeniedError);
  });

  it('lets "ALL" in the policy allow every capability, and asks for it to add ALL', () => {
    expect(refusal(ask({ capAdd: ['SYS_ADMIN', 'ALL'] }), 'operator', policy({ operator: { capabilities: ['all'] } }))).toBeUndefined();
    expect(refusal(ask({ capAdd: ['all'] }), 'operator', policy({ operator: { capabilities: ['SYS_ADMIN'] } }))?.message).toMatch(/^capAdd\[0\] "all": .*adding capability ALL/);
  });

  it("allows joining another container's namespaces unless the policy says no", () => {
    const joining = ask({ networkMode: 'container:web', pidMode: 'container:web', ipcMode: 'container:web' });
    expect(refusal(joining, 'operator', defaultPolicy())).toBeUndefined();
    expect(refusal(joining, 'operator', policy({ operator: { containerNamespaces: false } }))?.message).toMatch(/^networkMode "container:web": .*joining another container's namespaces.*"containerNamespaces"/);
  });

  it('allows a caller without a role nothing of the host, whatever the policy', () => {
    const err = refusal(ask({ networkMode: 'host' }), undefined, policy({ reader: { hostNetwork: true }, operator: { hostNetwork: true } }, 'engine-agent'));
    expect(err?.message).toBe(
      'networkMode "host": the engine-agent\'s container policy (/etc/flotilla/policy.json) does not allow host networking for a caller without a role (a caller without a role is allowed nothing of the host)',
    );
    expect(refusal(ask({ networkMode: 'container:web' }), undefined, defaultPolicy())).toBeInstanceOf(PermissionDeniedError);
  });

  it.each([
    [{ binds: ['/data'] }, 'binds[0]', /SOURCE:TARGET/],
    [{ binds: ['/srv/data:'] }, 'binds[0]', /needs a target/],
    [{ binds: [':/data'] }, 'binds[0]', /needs a source/],
    [{ binds: ['/srv/data:data'] }, 'binds[0]', /target must be an absolute path/],
    [{ binds: ['/srv/data:/data:rw:extra'] }, 'binds[0]', /SOURCE:TARGET/],
    [{ binds: ['/srv/data:/data:rx'] }, 'binds[0]', /unknown option "rx"/],
    [{ binds: ['./data:/data'] }, 'binds[0]', /host path must be absolute/],
    [{ binds: ['data/../..:/data'] }, 'binds[0]', /host path must be absolute/],
    [{ binds: ['/srv/data/../../etc:/etc'] }, 'binds[0]', /must not contain "\.\."/],
    [{ devices: [''] }, 'devices[0]', /needs a host path/],
    [{ devices: [':/dev/x'] }, 'devices[0]', /needs a host path/],
    [{ devices: ['dev/sda'] }, 'devices[0]', /must be absolute/],
    [{ devices: ['/dev/../etc/shadow'] }, 'devices[0]', /"\.\."/],
    [{ devices: ['/dev/sda:/dev/sda:rwx'] }, 'devices[0]', /permissions/],
    [{ devices: ['/dev/sda:sda'] }, 'devices[0]', /container must be absolute/],
    [{ capAdd: [''] }, 'capAdd[0]', /capability name/],
    [{ capAdd: ['NET ADMIN'] }, 'capAdd[0]', /capability name/],
    [{ pidMode: 'private' }, 'pidMode', /expected host, container:NAME or empty/],
    [{ ipcMode: 'container:' }, 'ipcMode', /needs a container/],
    [{ utsMode: 'container:web' }, 'utsMode', /expected host or empty/],
  ])('refuses malformed %p as INVALID_ARGUMENT naming %s, whatever the policy', (fields, field, why) => {
    const err = refusal(ask(fields), 'operator', policy({ operator: { privileged: true, devices: ['/'], bindPaths: ['/'], capabilities: ['ALL'] } }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err?.message.startsWith(`${field} `)).toBe(true);
    expect(err?.message).toMatch(why);
  });
});

describe('parseDevice and parseBind', () => {
  it("read Docker's forms", () => {
    expect(parseDevice('d', '/dev/fuse')).toEqual({ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', cgroupPermissions: 'rwm' });
    expect(parseDevice('d', '/dev/snd:r')).toEqual({ pathOnHost: '/dev/snd', pathInContainer: '/dev/snd', cgroupPermissions: 'r' });
    expect(parseDevice('d', '/dev//sda/:/dev/xvda:rw')).toEqual({ pathOnHost: '/dev/sda', pathInContainer: '/dev/xvda', cgroupPermissions: 'rw' });
    expect(parseBind('b', '/srv//data/./x/:/x:ro,z')).toEqual({ kind: 'host', source: '/srv/data/x', target: '/x', options: ['ro', 'z'] });
    expect(parseBind('b', 'cache:/cache')).toEqual({ kind: 'volume', source: 'cache', target: '/cache', options: [] });
  });
});

// ---- properties ----

/** Path segments, with the ones that try to trick a prefix check. */
const segment = fc.constantFrom('srv', 'data', 'data2', 'etc', 'x', '.', '..', '', 'data..', '...');
const segments = fc.array(segment, { minLength: 0, maxLength: 6 });
const cleanSegments = fc.array(fc.constantFrom('srv', 'data', 'data2', 'etc', 'x'), { minLength: 0, maxLength: 3 });

/** The path a list of segments names, worked out segment by segment (not with the code under test). */
function meaning(parts: string[]): string[] {
  return parts.filter((p) => p !== '' && p !== '.');
}

function startsWith(parts: string[], prefix: string[]): boolean {
  return prefix.length <= parts.length && prefix.every((p, i) => parts[i] === p);
}

describe('checkContainer (properties)', () => {
  it('allows a bind iff its host path, normalised, is an allowed prefix or under one; ".." never passes', () => {
    fc.assert(
      fc.property(segments, fc.array(cleanSegments, { maxLength: 3 }), fc.boolean(), (source, prefixes, trailingSlash) => {
        const sourceText = `/${source.join('/')}${trailingSlash ? '/' : ''}`;
        const p = policy({ operator: { bindPaths: prefixes.map((x) => `/${x.join('/')}`) } });
        const err = refusal(ask({ binds: [`${sourceText}:/mnt`] }), 'operator', p);
        if (source.includes('..')) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
        } else if (prefixes.some((prefix) => startsWith(meaning(source), prefix))) {
          expect(err).toBeUndefined();
        } else {
          expect(err).toBeInstanceOf(PermissionDeniedError);
        }
      }),
    );
  });

  it('never lets a ".." segment through, even with "/" allowed', () => {
    fc.assert(
      fc.property(segments, segments, (before, after) => {
        const source = `/${[...before, '..', ...after].join('/')}`;
        const everything = policy({ operator: { bindPaths: ['/'], devices: ['/'] } });
        expect(refusal(ask({ binds: [`${source}:/mnt`] }), 'operator', everything)).toBeInstanceOf(InvalidArgumentError);
        expect(refusal(ask({ devices: [source] }), 'operator', everything)).toBeInstanceOf(InvalidArgumentError);
      }),
    );
  });

  it('always allows named volumes, and refuses every host path under the default policy', () => {
    const volumeName = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}$/);
    fc.assert(
      fc.property(volumeName, cleanSegments, (name, parts) => {
        expect(refusal(ask({ binds: [`${name}:/v`] }), 'reader', defaultPolicy())).toBeUndefined();
        expect(refusal(ask({ binds: [`/${parts.join('/')}:/v`] }), 'operator', defaultPolicy())).toBeInstanceOf(PermissionDeniedError);
      }),
    );
  });

  it('reads a capability the same however it is spelt', () => {
    const capability = fc.constantFrom('NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'NET_RAW');
    const spelling = fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()).map(([lower, prefix, spaces]) => (c: string) => {
      const text = `${prefix ? 'CAP_' : ''}${c}`;
      return `${spaces ? ' ' : ''}${lower ? text.toLowerCase() : text}${spaces ? ' ' : ''}`;
    });
    fc.assert(
      fc.property(capability, capability, spelling, spelling, (allowed, asked, spellAllowed, spellAsked) => {
        const err = refusal(ask({ capAdd: [spellAsked(asked)] }), 'operator', policy({ operator: { capabilities: [spellAllowed(allowed)] } }));
        if (allowed === asked) expect(err).toBeUndefined();
        else expect(err).toBeInstanceOf(PermissionDeniedError);
      }),
    );
  });

  it('refuses any host namespace for any role the policy is silent about', () => {
    const role = fc.constantFrom<Role>('manager', 'agent', 'discovery', 'operator', 'reader');
    const field = fc.constantFrom('networkMode', 'pidMode', 'ipcMode', 'utsMode');
    fc.assert(
      fc.property(role, field, (r, f) => {
        expect(refusal(ask({ [f]: 'host' }), r, defaultPolicy())).toBeInstanceOf(PermissionDeniedError);
      }),
    );
  });
});
