import { InvalidArgumentError, PermissionDeniedError } from '@flotilla/errors';
import { checkContainer } from './check-container';
import { checkContainerOptions, checkResourceChange, signalProblem, tmpfsOptionsProblem, type ContainerOptionsInput } from './container-options';
import { defaultPolicy, parsePolicy } from './container-policy';
import { namedVolumes, parseByteSize, parseMount, type HostAccess, type MountInput } from './host-access';

const none: ContainerOptionsInput = {
  memoryBytes: '0',
  mounts: [],
  tmpfs: {},
  user: '',
  workingDir: '',
  hostname: '',
  dns: [],
  extraHosts: [],
  healthCheck: undefined,
  logConfig: undefined,
  ulimits: [],
  stopSignal: '',
  stopTimeoutSeconds: undefined,
  cpuShares: '0',
  cpuQuota: '0',
  cpuPeriod: '0',
  cpusetCpus: '',
  memoryReservationBytes: '0',
  memorySwapBytes: '0',
  pidsLimit: '0',
};
const mount = (m: Partial<MountInput>): MountInput => ({ type: '', source: '', target: '/data', readOnly: false, options: {}, ...m });

function invalid(work: () => unknown): InvalidArgumentError {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('parseMount', () => {
  it('reads each type, normalising a bind source and defaulting the type to volume', () => {
    expect(parseMount('m', mount({ source: 'data', options: { nocopy: 'true' } }))).toEqual({ type: 'volume', source: 'data', target: '/data', readOnly: false, noCopy: true });
    expect(parseMount('m', mount({ type: 'bind', source: '/srv//data/', readOnly: true, options: { propagation: 'rslave' } }))).toEqual({ type: 'bind', source: '/srv/data', target: '/data', readOnly: true, propagation: 'rslave' });
    expect(parseMount('m', mount({ type: 'tmpfs', options: { size: '64m', mode: '1777' } }))).toEqual({ type: 'tmpfs', target: '/data', readOnly: false, sizeBytes: 64 * 1024 * 1024, mode: 0o1777 });
  });

  it.each<[Partial<MountInput>, string, RegExp]>([
    [{ type: 'nfs' }, 'spec.mounts[0].type', /expected volume, bind or tmpfs/],
    [{ target: '' }, 'spec.mounts[0].target', /required/],
    [{ target: 'data' }, 'spec.mounts[0].target', /absolute/],
    [{ target: '/' }, 'spec.mounts[0].target', /root/],
    [{ source: '/etc' }, 'spec.mounts[0].source', /type "bind"/],
    [{ source: 'a b' }, 'spec.mounts[0].source', /volume name/],
    [{ type: 'bind' }, 'spec.mounts[0].source', /needs the host path/],
    [{ type: 'bind', source: 'rel' }, 'spec.mounts[0].source', /absolute/],
    [{ type: 'bind', source: '/srv/../etc' }, 'spec.mounts[0].source', /"\.\."/],
    [{ type: 'tmpfs', source: 'x' }, 'spec.mounts[0].source', /no source/],
    [{ type: 'tmpfs', options: { size: 'lots' } }, 'spec.mounts[0].options[size]', /bytes/],
    [{ type: 'tmpfs', options: { mode: '999' } }, 'spec.mounts[0].options[mode]', /octal/],
    [{ type: 'bind', source: '/srv', options: { propagation: 'up' } }, 'spec.mounts[0].options[propagation]', /rprivate/],
    [{ options: { driver: 'local' } }, 'spec.mounts[0].options[driver]', /unknown option/],
  ])('refuses %j naming %s', (fields, field, why) => {
    const err = invalid(() => parseMount('spec.mounts[0]', mount(fields)));
    expect(err.message.startsWith(`${field} `)).toBe(true);
    expect(err.message).toMatch(why);
  });
});

describe('the container policy over mounts and log drivers', () => {
  const nothing: HostAccess = { privileged: false, networkMode: '', pidMode: '', ipcMode: '', utsMode: '', capAdd: [], devices: [], binds: [] };
  const p = parsePolicy(JSON.stringify({ roles: { operator: { bindPaths: ['/srv/data'], logDrivers: ['syslog'] } } }), '/etc/flotilla/policy.json', 'cluster-manager');

  it('allows volumes and tmpfs to anyone, binds under the allow-list', () => {
    const request = { ...nothing, mounts: [mount({ source: 'v' }), mount({ type: 'tmpfs', target: '/t' }), mount({ type: 'bind', source: '/srv/data/app', target: '/app' })] };
    expect(() => checkContainer({ ...nothing, mounts: request.mounts.slice(0, 2) }, undefined, defaultPolicy())).not.toThrow();
    expect(() => checkContainer(request, 'operator', p)).not.toThrow();
  });

  it('refuses a bind mount outside the allow-list with PERMISSION_DENIED naming the field', () => {
    expect(() => checkContainer({ ...nothing, mounts: [mount({ source: 'v' }), mount({ type: 'bind', source: '/etc', target: '/etc' })] }, 'operator', p)).toThrow(PermissionDeniedError);
    expect(() => checkContainer({ ...nothing, mounts: [mount({ type: 'bind', source: '/etc', target: '/etc' })] }, 'operator', p)).toThrow(/^mounts\[0\]\.source "\/etc": .*binding host path \/etc for role "operator" \(allowed: \/srv\/data/);
  });

  it('allows json-file, local and none to anyone; another driver only by the policy', () => {
    for (const driver of ['', 'json-file', 'local', 'none']) expect(() => checkContainer({ ...nothing, logConfig: { driver } }, undefined, defaultPolicy())).not.toThrow();
    expect(() => checkContainer({ ...nothing, logConfig: { driver: 'syslog' } }, 'operator', p)).not.toThrow();
    expect(() => checkContainer({ ...nothing, logConfig: { driver: 'gelf' } }, 'operator', p)).toThrow(/^logConfig\.driver "gelf": .*log driver gelf .*"logDrivers"/);
  });

  it('reads logDrivers from a policy file and refuses a malformed one', () => {
    expect(() => parsePolicy('{"roles": {"operator": {"logDrivers": ["Sys Log"]}}}', 'p.json')).toThrow(/logDrivers\[0\]/);
  });
});

describe('checkContainerOptions', () => {
  it('passes what docker run users type', () => {
    expect(
      checkContainerOptions({
        ...none,
        memoryBytes: String(64 * 1024 * 1024),
        mounts: [mount({ source: 'data' })],
        tmpfs: { '/run': 'rw,noexec,size=64m,mode=1777' },
        user: '1000:1000',
        workingDir: '/srv',
        hostname: 'web-1.example',
        dns: ['1.1.1.1', '2001:db8::1'],
        extraHosts: ['db:10.0.0.5', 'gw:host-gateway', 'v6:[::1]'],
        healthCheck: { test: ['CMD-SHELL', 'true'], intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 0 },
        logConfig: { driver: 'json-file', options: { 'max-size': '10m' } },
        ulimits: [{ name: 'nofile', soft: '1024', hard: '2048' }, { name: 'core', soft: '-1', hard: '-1' }],
        stopSignal: 'SIGUSR1',
        stopTimeoutSeconds: 3,
        cpuShares: '512',
        cpuQuota: '50000',
        cpuPeriod: '100000',
        cpusetCpus: '0-1,3',
        memoryReservationBytes: String(32 * 1024 * 1024),
        memorySwapBytes: '-1',
        pidsLimit: '100',
      }),
    ).toMatchObject({ cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memorySwapBytes: -1, pidsLimit: 100, ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }, { name: 'core', soft: -1, hard: -1 }] });
  });

  it.each<[Partial<ContainerOptionsInput>, string]>([
    [{ mounts: [mount({ target: '/a' }), mount({ type: 'tmpfs', target: '/a' })] }, 'spec.mounts[1].target'],
    [{ tmpfs: { run: '' } }, 'spec.tmpfs[run]'],
    [{ tmpfs: { '/run': 'size=lots' } }, 'spec.tmpfs[/run]'],
    [{ user: 'a b' }, 'spec.user'],
    [{ user: 'a:b:c' }, 'spec.user'],
    [{ workingDir: 'srv' }, 'spec.working_dir'],
    [{ hostname: 'web_1' }, 'spec.hostname'],
    [{ dns: ['dns.example'] }, 'spec.dns[0]'],
    [{ extraHosts: ['db'] }, 'spec.extra_hosts[0]'],
    [{ extraHosts: ['db:not-an-ip'] }, 'spec.extra_hosts[0]'],
    [{ healthCheck: { test: ['true'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 } }, 'spec.health_check.test'],
    [{ healthCheck: { test: [], intervalMs: 90_000_000, timeoutMs: 0, retries: 0, startPeriodMs: 0 } }, 'spec.health_check.interval_ms'],
    [{ logConfig: { driver: 'Not A Driver', options: {} } }, 'spec.log_config.driver'],
    [{ ulimits: [{ name: 'files', soft: '1', hard: '1' }] }, 'spec.ulimits[0].name'],
    [{ ulimits: [{ name: 'nofile', soft: '1', hard: '1' }, { name: 'nofile', soft: '2', hard: '2' }] }, 'spec.ulimits[1].name'],
    [{ ulimits: [{ name: 'nofile', soft: '4096', hard: '1024' }] }, 'spec.ulimits[0].soft'],
    [{ ulimits: [{ name: 'nofile', soft: '1', hard: '-2' }] }, 'spec.ulimits[0].hard'],
    [{ stopSignal: 'SIGNOPE' }, 'spec.stop_signal'],
    [{ stopSignal: '65' }, 'spec.stop_signal'],
    [{ stopTimeoutSeconds: 86_401 }, 'spec.stop_timeout_seconds'],
    [{ cpuShares: '-1' }, 'spec.cpu_shares'],
    [{ cpuQuota: '500' }, 'spec.cpu_quota'],
    [{ cpuPeriod: '10' }, 'spec.cpu_period'],
    [{ cpusetCpus: '0-a' }, 'spec.cpuset_cpus'],
    [{ memoryBytes: String(8 * 1024 * 1024), memoryReservationBytes: String(16 * 1024 * 1024) }, 'spec.memory_reservation_bytes'],
    [{ memorySwapBytes: String(8 * 1024 * 1024) }, 'spec.memory_swap_bytes'],
    [{ memoryBytes: String(16 * 1024 * 1024), memorySwapBytes: String(8 * 1024 * 1024) }, 'spec.memory_swap_bytes'],
    [{ pidsLimit: '-2' }, 'spec.pids_limit'],
  ])('refuses %j naming %s', (fields, field) => {
    const err = invalid(() => checkContainerOptions({ ...none, ...fields }, 'spec.'));
    expect(err.message.startsWith(`${field} `)).toBe(true);
  });

  it('knows signals as Docker does', () => {
    for (const ok of ['SIGTERM', 'term', 'KILL', '15', 'SIGRTMIN+3', 'RTMAX-2']) expect(signalProblem(ok)).toBeUndefined();
    for (const bad of ['0', '99', 'SIGFOO', 'RTMIN+20', '']) expect(signalProblem(bad)).toBeDefined();
  });

  it('reads tmpfs options and sizes', () => {
    expect(tmpfsOptionsProblem('rw,noexec,nosuid,size=65536k,uid=1000')).toBeUndefined();
    expect(tmpfsOptionsProblem('bind')).toBeDefined();
    expect(parseByteSize('1g')).toBe(1024 ** 3);
    expect(parseByteSize('12')).toBe(12);
    expect(parseByteSize('x')).toBeNaN();
  });
});

describe('namedVolumes', () => {
  it('lists named volumes of binds and mounts once, skipping host paths, anonymous volumes and tmpfs', () => {
    expect(namedVolumes({ binds: ['data:/data', '/srv:/srv', 'data:/again:ro'], mounts: [mount({ source: 'cache' }), mount({ type: 'volume', source: '' }), mount({ type: 'bind', source: '/x' }), mount({ type: 'tmpfs' })] })).toEqual(['data', 'cache']);
  });
});

describe('checkResourceChange', () => {
  it('keeps only the fields to change, as numbers', () => {
    expect(checkResourceChange({ memoryBytes: String(64 * 1024 * 1024), pidsLimit: '-1', cpusetCpus: '0-1', restartPolicy: { name: 'on-failure', maximumRetryCount: 3 } })).toEqual({
      memoryBytes: 64 * 1024 * 1024,
      pidsLimit: -1,
      cpusetCpus: '0-1',
      restartPolicy: { name: 'on-failure', maximumRetryCount: 3 },
    });
    expect(checkResourceChange({ restartPolicy: { name: '', maximumRetryCount: 0 } })).toEqual({ restartPolicy: { name: 'no', maximumRetryCount: 0 } });
  });

  it.each([
    [{}, 'resources', 'nothing to change'],
    [undefined, 'resources', 'nothing to change'],
    [{ nanoCpus: '0' }, 'resources.nano_cpus', 'at least 1'],
    [{ memoryBytes: '1024' }, 'resources.memory_bytes', '6 MiB'],
    [{ memoryBytes: 'lots' }, 'resources.memory_bytes', 'whole number'],
    [{ cpuQuota: '10' }, 'resources.cpu_quota', 'at least 1000'],
    [{ cpuPeriod: '5000000' }, 'resources.cpu_period', '1000 to 1000000'],
    [{ cpusetCpus: '0-3;rm' }, 'resources.cpuset_cpus', 'CPU numbers'],
    [{ memoryBytes: String(8 << 20), memoryReservationBytes: String(16 << 20) }, 'resources.memory_reservation_bytes', 'not be above'],
    [{ memoryBytes: String(16 << 20), memorySwapBytes: String(8 << 20) }, 'resources.memory_swap_bytes', 'at least memory_bytes'],
    [{ pidsLimit: '-2' }, 'resources.pids_limit', 'at least -1'],
    [{ restartPolicy: { name: 'sometimes', maximumRetryCount: 0 } }, 'resources.restart_policy.name', 'expected one of'],
    [{ restartPolicy: { name: 'always', maximumRetryCount: 2 } }, 'resources.restart_policy.maximum_retry_count', 'on-failure'],
  ])('refuses %j naming %s', (input, field, why) => {
    let caught: unknown;
    try {
      checkResourceChange(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).violations[0]?.field).toBe(field);
    expect((caught as Error).message).toContain(why);
  });
});
