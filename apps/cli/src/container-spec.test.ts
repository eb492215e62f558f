import { convert, tokenize } from './args';
import { buildSpec, requestIdFor, runOnlyOptions, specOptions } from './container-spec';
import { parseDuration, parseMount } from './run-options';
import { UsageError } from './errors';

/** The spec `flotilla run ARGS` sends, parsed as the CLI parses it. */
function specOf(args: string[]) {
  const options = { ...specOptions, ...runOnlyOptions };
  const tokens = tokenize(options, args, { passthroughAfter: 1 }, 'flotilla run');
  return buildSpec(convert(options, tokens.given, {}, 'flotilla run'), tokens.positionals, {});
}

describe('host access flags', () => {
  it("map docker's spelling into the spec, repeatable ones in order", () => {
    const spec = specOf([
      '--privileged', '--network', 'host', '--pid', 'host', '--ipc=container:db', '--uts', 'host',
      '--cap-add', 'NET_ADMIN', '--cap-add', 'SYS_TIME', '--device', '/dev/fuse', '--device=/dev/snd:/dev/snd:r',
      '-v', '/srv/data:/data:ro', '--volume', 'cache:/cache', '-v/tmp/x:/x',
      'busybox', 'sh', '-v',
    ]);
    expect(spec).toMatchObject({
      image: 'busybox',
      command: ['sh', '-v'],
      privileged: true,
      networkMode: 'host',
      pidMode: 'host',
      ipcMode: 'container:db',
      utsMode: 'host',
      capAdd: ['NET_ADMIN', 'SYS_TIME'],
      devices: ['/dev/fuse', '/dev/snd:/dev/snd:r'],
      binds: ['/srv/data:/data:ro', 'cache:/cache', '/tmp/x:/x'],
    });
  });

  it('ask for nothing of the host when not given', () => {
    expect(specOf(['busybox'])).toMatchObject({ privileged: false, pidMode: '', ipcMode: '', utsMode: '', capAdd: [], devices: [], binds: [] });
  });
});

describe('request IDs of run', () => {
  it('are fresh for every invocation, or the one given with --request-id', () => {
    const a = requestIdFor(undefined);
    expect(a).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(requestIdFor(undefined)).not.toBe(a);
    expect(requestIdFor('deploy-42.web_1')).toBe('deploy-42.web_1');
    expect(() => requestIdFor('a b')).toThrow(UsageError);
    expect(() => requestIdFor('x'.repeat(129))).toThrow(/--request-id "x+": expected 1 to 128 of A-Z a-z 0-9 \. _ -/);
  });
});

describe('classic Swarm env entries', () => {
  it('go to the manager as they are, reschedule: too (the manager refuses what it cannot do, never the CLI silently)', () => {
    const spec = specOf(['-e', 'constraint:zone==a', '-e', 'affinity:container==db', '-e', 'reschedule:on-node-failure', '-e', 'UNSET_IN_THIS_ENV', 'busybox']);
    expect(spec.env).toEqual(['constraint:zone==a', 'affinity:container==db', 'reschedule:on-node-failure']);
  });
});

describe("docker run's other flags", () => {
  it('map into the spec with the docker CLI\'s spelling and parsing', () => {
    const spec = specOf([
      '-v', 'data:/data:ro', '--mount', 'type=volume,source=cache,target=/cache,readonly', '--mount', 'type=bind,src=/srv/x,dst=/x,bind-propagation=rslave',
      '--mount', 'type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770', '--tmpfs', '/run:rw,size=1m', '--tmpfs', '/tmp',
      '-u', '1000:50', '-w', '/work', '-it', '-h', 'web-1', '--dns', '1.1.1.1', '--add-host', 'db:10.0.0.5', '--add-host', 'gw=host-gateway',
      '--health-cmd', 'wget -q localhost', '--health-interval', '1m30s', '--health-timeout', '500ms', '--health-retries', '5', '--health-start-period', '2s',
      '--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3', '--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=64',
      '--stop-signal', 'SIGUSR1', '--stop-timeout', '5', '--cpu-shares', '512', '--cpu-quota', '50000', '--cpu-period', '100000', '--cpuset-cpus', '0-1',
      '-m', '64m', '--memory-reservation', '32m', '--memory-swap', '-1', '--pids-limit', '100',
      'busybox', 'sh',
    ]);
    expect(spec).toMatchObject({
      binds: ['data:/data:ro'],
      mounts: [
        { type: 'volume', source: 'cache', target: '/cache', readOnly: true, options: {} },
        { type: 'bind', source: '/srv/x', target: '/x', readOnly: false, options: { propagation: 'rslave' } },
        { type: 'tmpfs', source: '', target: '/t', readOnly: false, options: { size: '64m', mode: '1770' } },
      ],
      tmpfs: { '/run': 'rw,size=1m', '/tmp': '' },
      user: '1000:50',
      workingDir: '/work',
      tty: true,
      openStdin: true,
      hostname: 'web-1',
      dns: ['1.1.1.1'],
      extraHosts: ['db:10.0.0.5', 'gw:host-gateway'],
      healthCheck: { test: ['CMD-SHELL', 'wget -q localhost'], intervalMs: 90_000, timeoutMs: 500, retries: 5, startPeriodMs: 2000 },
      logConfig: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } },
      ulimits: [{ name: 'nofile', soft: '1024', hard: '2048' }, { name: 'nproc', soft: '64', hard: '64' }],
      stopSignal: 'SIGUSR1',
      stopTimeoutSeconds: 5,
      cpuShares: '512',
      cpuQuota: '50000',
      cpuPeriod: '100000',
      cpusetCpus: '0-1',
      memoryReservationBytes: String(32 * 1024 * 1024),
      memorySwapBytes: '-1',
      pidsLimit: '100',
      command: ['sh'],
    });
  });

  it('--rm: Docker removes a detached container itself; in the foreground the CLI does, after reading its output', () => {
    const options = { ...specOptions, ...runOnlyOptions };
    const values = convert(options, tokenize(options, ['busybox'], { passthroughAfter: 1 }, 'flotilla run').given, {}, 'flotilla run');
    expect(buildSpec({ ...values, rm: true, detach: true }, ['busybox'], {}).autoRemove).toBe(true);
    expect(buildSpec({ ...values, rm: true, detach: false }, ['busybox'], {}).autoRemove).toBe(false);
    expect(buildSpec({ ...values, rm: false, detach: true }, ['busybox'], {}).autoRemove).toBe(false);
  });

  it('leaves everything unset when not given; --no-healthcheck disables the image\'s', () => {
    expect(specOf(['busybox'])).toMatchObject({ mounts: [], tmpfs: {}, user: '', tty: false, openStdin: false, hostname: '', healthCheck: undefined, logConfig: undefined, stopTimeoutSeconds: undefined, autoRemove: false, pidsLimit: '0' });
    expect(specOf(['--no-healthcheck', 'busybox']).healthCheck).toEqual({ test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 });
  });

  it.each([
    [['--mount', 'type=volume,source=x'], /--mount .*a target is required/],
    [['--mount', 'type=volume,target=/x,volume-driver=local'], /--mount .*unknown key "volume-driver"/],
    [['--mount', 'target=/x,readonly=maybe'], /--mount .*expected true or false/],
    [['--tmpfs', 'run'], /--tmpfs .*absolute/],
    [['--no-healthcheck', '--health-cmd', 'true'], /--no-healthcheck conflicts with --health-\* options/],
    [['--health-interval', '30'], /--health-interval "30": expected a duration/],
    [['--ulimit', 'nofile'], /--ulimit .*NAME=SOFT\[:HARD\]/],
    [['--log-opt', 'max-size'], /--log-opt .*KEY=VALUE/],
    [['--stop-timeout', 'soon'], /--stop-timeout "soon"/],
    [['--pids-limit', '-5'], /--pids-limit "-5"/],
  ])('refuses %j with a usage error', (flags, message) => {
    expect(() => specOf([...flags, 'busybox'])).toThrow(UsageError);
    expect(() => specOf([...flags, 'busybox'])).toThrow(message);
  });

  it('reads Go durations and mount specs as docker does', () => {
    expect(parseDuration('1h2m3s', '--x')).toBe(3_723_000);
    expect(parseDuration('1.5s', '--x')).toBe(1500);
    expect(parseDuration('0', '--x')).toBe(0);
    expect(parseMount('target=/x')).toEqual({ type: 'volume', source: '', target: '/x', readOnly: false, options: {} });
    expect(parseMount('type=volume,src=v,target=/x,volume-nocopy')).toMatchObject({ options: { nocopy: 'true' } });
  });
});
