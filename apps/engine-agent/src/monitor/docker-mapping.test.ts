import { InvalidArgumentError } from '@flotilla/errors';
import fc from 'fast-check';
import { Container } from '@flotilla/proto';
import { CreateContainerRequest } from '@flotilla/proto/agent';
import type { ContainerInspectReply } from '../docker/docker-backend';
import { BadEngineReplyError, containerFrom, containerStatus, createBodyFrom, engineInfoFrom, imageFrom, itemCaps, networkFrom, time, truncatedLabel, volumeFrom } from './docker-mapping';

const api = { apiVersion: '1.41', engineMaxApiVersion: '1.41' };

describe('engineInfoFrom', () => {
  it('maps docker info, with built-in labels winning over engine labels', () => {
    const info = engineInfoFrom(
      { ID: 'AAAA:BBBB', Name: 'node1', NCPU: 2, MemTotal: 25276026880, Labels: ['zone=a', 'ostype=windows', 'weird'], Driver: 'vfs', KernelVersion: '6.1', OperatingSystem: 'Debian', OSType: 'linux', ServerVersion: '20.10.24', SystemTime: '2026-11-27T11:35:34.242Z' },
      api,
    );
    expect(info).toMatchObject({ id: 'AAAA:BBBB', name: 'node1', cpus: '2', memoryBytes: '25276026880', serverVersion: '20.10.24', apiVersion: '1.41' });
    expect(info.labels).toEqual({ zone: 'a', ostype: 'linux', storagedriver: 'vfs', kernelversion: '6.1', operatingsystem: 'Debian' });
    expect(info.systemTime?.toISOString()).toBe('2026-11-27T11:35:34.242Z');
  });

  it('rejects a reply without ID, CPUs or memory', () => {
    expect(() => engineInfoFrom({ NCPU: 1, MemTotal: 1 }, api)).toThrow(BadEngineReplyError);
    expect(() => engineInfoFrom({ ID: 'x', MemTotal: 1 }, api)).toThrow(/NCPU/);
  });
});

describe('containerFrom', () => {
  it('maps inspect output, reservations and port bindings', () => {
    const c = containerFrom(
      {
        Id: 'abc',
        Name: '/web',
        Created: '2026-11-27T11:00:00Z',
        Path: 'sleep',
        Args: ['100'],
        Image: 'sha256:1',
        State: { Status: 'running', Running: true, ExitCode: 0, StartedAt: '2026-11-27T11:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
        Config: { Image: 'busybox:local', Labels: { app: 'web' } },
        HostConfig: { NanoCpus: 500000000, Memory: 67108864, NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '' }] }, RestartPolicy: { Name: 'always' } },
      },
      Date.parse('2026-11-27T11:00:05Z'),
    );
    expect(c).toMatchObject({ id: 'abc', names: ['web'], image: 'busybox:local', command: ['sleep', '100'], state: 'running', status: 'Up 5 seconds', nanoCpus: '500000000', memoryBytes: '67108864', networkMode: 'host', restartPolicy: 'always', labels: { app: 'web' } });
    expect(c.finishedAt).toBeUndefined();
    expect(c.portBindings).toEqual([
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080 },
      { containerPort: 53, protocol: 'udp', hostIp: '', hostPort: 0 },
    ]);
  });

  it('writes statuses as docker ps does', () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    expect(containerStatus({ Status: 'exited', ExitCode: 3, FinishedAt: '2026-11-27T11:58:00Z' }, now)).toBe('Exited (3) 2 minutes ago');
    expect(containerStatus({ Status: 'created' }, now)).toBe('Created');
    expect(containerStatus({ Status: 'running', StartedAt: '2026-11-27T10:00:00Z', Health: { Status: 'healthy' } }, now)).toBe('Up 2 hours (healthy)');
  });
});

describe('createBodyFrom', () => {
  const base = CreateContainerRequest.fromPartial({ image: 'busybox:local' });

  it('builds Docker create body with limits, ports and policy', () => {
    const body = createBodyFrom({ ...base, name: 'web', command: ['sleep', '5'], env: ['A=1'], memoryBytes: '67108864', nanoCpus: '500000000', portBindings: [{ containerPort: 80, protocol: '', hostIp: '127.0.0.1', hostPort: 8080 }], networkMode: 'none', restartPolicy: { name: 'on-failure', maximumRetryCount: 3 } });
    expect(body).toMatchObject({ name: 'web', Image: 'busybox:local', Cmd: ['sleep', '5'], Env: ['A=1'], ExposedPorts: { '80/tcp': {} } });
    expect(body.HostConfig).toEqual({ NanoCpus: 500000000, CpuShares: 0, Memory: 67108864, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] }, NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
  });

  it('maps host access to HostConfig, with paths and capabilities as the policy read them', () => {
    const body = createBodyFrom({
      ...base,
      privileged: true,
      pidMode: 'host',
      ipcMode: 'container:db',
      utsMode: ' host ',
      capAdd: ['cap_net_admin', 'SYS_TIME'],
      devices: ['/dev/fuse', '/dev//snd/:/dev/audio:r'],
      binds: ['/srv//data/./x/:/x:ro,z', 'cache:/cache'],
    });
    expect(body.HostConfig).toMatchObject({
      Privileged: true,
      PidMode: 'host',
      IpcMode: 'container:db',
      UTSMode: 'host',
      CapAdd: ['NET_ADMIN', 'SYS_TIME'],
      Devices: [
        { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
        { PathOnHost: '/dev/snd', PathInContainer: '/dev/audio', CgroupPermissions: 'r' },
      ],
      Binds: ['/srv/data/x:/x:ro,z', 'cache:/cache'],
    });
  });

  it("maps docker run's options onto Config and HostConfig (Engine API 1.41)", () => {
    const body = createBodyFrom({
      ...base,
      memoryBytes: String(64 * 1024 * 1024),
      mounts: [
        { type: '', source: 'data', target: '/data', readOnly: false, options: { nocopy: 'true' } },
        { type: 'bind', source: '/srv//data/', target: '/srv', readOnly: true, options: { propagation: 'rslave' } },
        { type: 'tmpfs', source: '', target: '/scratch', readOnly: false, options: { size: '1m', mode: '700' } },
      ],
      tmpfs: { '/run': 'rw,size=64m' },
      user: '1000:1000',
      workingDir: '/work',
      tty: true,
      openStdin: true,
      hostname: 'web-1',
      dns: ['1.1.1.1'],
      extraHosts: ['db:10.0.0.5'],
      healthCheck: { test: ['CMD-SHELL', 'true'], intervalMs: 1500, timeoutMs: 1000, retries: 2, startPeriodMs: 0 },
      logConfig: { driver: 'json-file', options: { 'max-size': '1m' } },
      ulimits: [{ name: 'nofile', soft: '1024', hard: '2048' }],
      stopSignal: 'SIGUSR1',
      stopTimeoutSeconds: 3,
      autoRemove: true,
      cpuShares: '512',
      cpuQuota: '50000',
      cpuPeriod: '100000',
      cpusetCpus: '0',
      memoryReservationBytes: String(32 * 1024 * 1024),
      memorySwapBytes: '-1',
      pidsLimit: '64',
    });
    expect(body).toMatchObject({
      User: '1000:1000',
      WorkingDir: '/work',
      Tty: true,
      OpenStdin: true,
      Hostname: 'web-1',
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1_500_000_000, Timeout: 1_000_000_000, Retries: 2 },
      StopSignal: 'SIGUSR1',
      StopTimeout: 3,
    });
    expect(body.Healthcheck).not.toHaveProperty('StartPeriod');
    expect(body.HostConfig).toMatchObject({
      Mounts: [
        { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: false, VolumeOptions: { NoCopy: true } },
        { Type: 'bind', Source: '/srv/data', Target: '/srv', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
        { Type: 'tmpfs', Target: '/scratch', ReadOnly: false, TmpfsOptions: { SizeBytes: 1024 * 1024, Mode: 0o700 } },
      ],
      Tmpfs: { '/run': 'rw,size=64m' },
      Dns: ['1.1.1.1'],
      ExtraHosts: ['db:10.0.0.5'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      AutoRemove: true,
      CpuShares: 512,
      CpuQuota: 50000,
      CpuPeriod: 100000,
      CpusetCpus: '0',
      MemoryReservation: 32 * 1024 * 1024,
      MemorySwap: -1,
      PidsLimit: 64,
    });
  });

  it('sends none of the new options when none is asked for', () => {
    const body = createBodyFrom(base);
    for (const key of ['User', 'WorkingDir', 'Tty', 'OpenStdin', 'Hostname', 'Healthcheck', 'StopSignal', 'StopTimeout']) expect(body).not.toHaveProperty(key);
    for (const key of ['Mounts', 'Tmpfs', 'Dns', 'ExtraHosts', 'LogConfig', 'Ulimits', 'AutoRemove', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'MemoryReservation', 'MemorySwap', 'PidsLimit']) {
      expect(body.HostConfig).not.toHaveProperty(key);
    }
  });

  it('adds no host access when none is asked for', () => {
    const hostConfig = createBodyFrom(base).HostConfig;
    for (const key of ['Privileged', 'PidMode', 'IpcMode', 'UTSMode', 'CapAdd', 'Devices', 'Binds']) expect(hostConfig).not.toHaveProperty(key);
  });

  it.each([
    [{ image: ' ' }, 'image'],
    [{ name: 'bad name!' }, 'name'],
    [{ env: ['NOEQUALS'] }, 'env[0]'],
    [{ memoryBytes: '-1' }, 'memory_bytes'],
    [{ memoryBytes: '12abc' }, 'memory_bytes'],
    [{ memoryBytes: '1024' }, 'memory_bytes'],
    [{ nanoCpus: '-5' }, 'nano_cpus'],
    [{ restartPolicy: { name: 'sometimes', maximumRetryCount: 0 } }, 'restart_policy.name'],
    [{ portBindings: [{ containerPort: 0, protocol: 'tcp', hostIp: '', hostPort: 1 }] }, 'port_bindings[0].container_port'],
    [{ portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 70000 }] }, 'port_bindings[0].host_port'],
    [{ portBindings: [{ containerPort: 80, protocol: 'icmp', hostIp: '', hostPort: 1 }] }, 'port_bindings[0].protocol'],
    [{ binds: ['/data'] }, 'binds[0]'],
    [{ binds: ['rel/path:/data'] }, 'binds[0]'],
    [{ binds: ['/srv/../etc:/etc'] }, 'binds[0]'],
    [{ devices: [':/dev/x'] }, 'devices[0]'],
    [{ capAdd: ['NET ADMIN'] }, 'capAdd[0]'],
    [{ mounts: [{ type: 'bind', source: '', target: '/x', readOnly: false, options: {} }] }, 'mounts[0].source'],
    [{ mounts: [{ type: 'volume', source: 'v', target: 'x', readOnly: false, options: {} }] }, 'mounts[0].target'],
    [{ ulimits: [{ name: 'nofiles', soft: '1', hard: '1' }] }, 'ulimits[0].name'],
    [{ hostname: '-bad-' }, 'hostname'],
    [{ stopSignal: 'SIGNOPE' }, 'stop_signal'],
  ])('rejects %p naming %s', (patch, field) => {
    const attempt = () => createBodyFrom({ ...base, ...patch } as CreateContainerRequest);
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')} `));
  });
});

describe('malformed and oversized engine replies', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  const id = 'a'.repeat(64);
  const encodedSize = (c: Container) => Container.encode(c).finish().length;

  it.each([
    ['not a time', undefined],
    ['-1', undefined],
    ['', undefined],
    ['0001-01-01T00:00:00Z', undefined],
    ['1969-12-31T23:59:59Z', undefined],
    ['+275760-09-13T00:00:00Z', undefined],
    ['12345-01-01T00:00:00Z', undefined],
    [Number.NaN, undefined],
    [-5, undefined],
    [1e20, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [{ seconds: 1 }, undefined],
    [true, undefined],
    ['2026-11-27T11:00:00.123456789Z', '2026-11-27T11:00:00.123Z'],
    [1795779339, '2026-11-27T11:35:39.000Z'],
  ])('reads the time %p as %p', (value, expected) => {
    expect(time(value)?.toISOString()).toBe(expected);
    const c = containerFrom({ Id: id, Created: value as string, State: { StartedAt: value as string, FinishedAt: value as string } }, now);
    expect(c.created?.toISOString()).toBe(expected);
    expect(() => Container.encode(c).finish()).not.toThrow();
  });

  it('takes a container with every field missing or of the wrong type, and encodes it', () => {
    const odd = { Id: id, Name: 42, Path: null, Args: 'sleep', State: 'running', Config: [], HostConfig: { NanoCpus: '5', Memory: -1, CpuShares: 1e300, PortBindings: 'x', RestartPolicy: null } } as unknown as ContainerInspectReply;
    for (const reply of [{ Id: id }, odd, { Id: id, State: null, Config: null, HostConfig: null } as unknown as ContainerInspectReply]) {
      const c = containerFrom(reply, now);
      expect(c).toMatchObject({ id, names: [], command: [], labels: {}, nanoCpus: '0', memoryBytes: '0', portBindings: [], exitCode: 0 });
      expect(() => Container.encode(c).finish()).not.toThrow();
    }
    expect(containerFrom(odd, now).cpuShares).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it('refuses only a container without a usable ID', () => {
    for (const Id of [undefined, '', 'has space', 'x'.repeat(300), 'bad\ud800']) {
      expect(() => containerFrom({ Id } as ContainerInspectReply, now)).toThrow(BadEngineReplyError);
    }
    expect(() => containerFrom(null as unknown as ContainerInspectReply, now)).toThrow(BadEngineReplyError);
    expect(imageFrom({ Id: 'x'.repeat(300) })).toBeNull();
    expect(networkFrom({ Id: 'a b' })).toBeNull();
    expect(volumeFrom({ Name: 'v'.repeat(5000) })).toBeNull();
  });

  it('replaces lone surrogates in names, labels and attributes with U+FFFD', () => {
    const c = containerFrom({ Id: id, Name: '/we\ud800b', Config: { Labels: { 'k\udc00': 'v\ud83d', ok: 'caf\u00e9 \ud83d\ude00' } } }, now);
    expect(c.names).toEqual(['we\ufffdb']);
    expect(c.labels).toEqual({ 'k\ufffd': 'v\ufffd', ok: 'caf\u00e9 \ud83d\ude00' });
    expect(Container.decode(Container.encode(c).finish())).toEqual(expect.objectContaining({ names: c.names, labels: c.labels }));
  });

  it('wraps Windows exit codes into int32 and zeroes impossible numbers', () => {
    const c = containerFrom({ Id: id, State: { Status: 'exited', ExitCode: 3221225477, FinishedAt: '2026-11-27T11:58:00Z' }, HostConfig: { NanoCpus: -5, Memory: Number.NaN } }, now);
    expect(c.exitCode).toBe(-1073741819);
    expect(c.status).toBe('Exited (-1073741819) 2 minutes ago');
    expect(c).toMatchObject({ nanoCpus: '0', memoryBytes: '0' });
    expect(containerFrom({ Id: id, State: { ExitCode: 2 ** 40 } }, now).exitCode).toBe(0);
    expect(containerFrom({ Id: id, State: { ExitCode: 1.5 } }, now).exitCode).toBe(0);
  });

  it('keeps a container with 512 KiB of labels: the smallest labels up to 64 KiB, marked com.flotilla.truncated=labels', () => {
    const labels: Record<string, string> = { app: 'web', 'com.docker.compose.project': 'shop' };
    for (let i = 0; i < 512; i++) labels[`blob.${i}`] = 'z'.repeat(1000 + i);
    const c = containerFrom({ Id: id, Config: { Labels: labels } }, now);
    expect(c.labels[truncatedLabel]).toBe('labels');
    expect(c.labels).toMatchObject({ app: 'web', 'com.docker.compose.project': 'shop' });
    const kept = Object.entries(c.labels).filter(([k]) => k !== truncatedLabel);
    expect(kept.reduce((n, [k, v]) => n + k.length + v.length + 16, 0)).toBeLessThanOrEqual(itemCaps.labelBytes);
    // The smallest ones were kept, whole.
    for (const [k, v] of kept) if (k.startsWith('blob.')) expect(v).toBe(labels[k]);
    expect(kept.some(([k]) => k === 'blob.0')).toBe(true);
    expect(kept.some(([k]) => k === 'blob.511')).toBe(false);
  });

  it('cuts every other oversized field and keeps the worst container under 256 KiB', () => {
    const huge = 'h'.repeat(100_000);
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (let p = 1; p <= 5000; p++) ports[`${p}/tcp`] = [{ HostIp: '0000:0000:0000:0000:0000:ffff:7f00:0001', HostPort: String(p) }];
    const labels: Record<string, string> = {};
    for (let i = 0; i < 20_000; i++) labels[String(i)] = '';
    const c = containerFrom(
      {
        Id: id,
        Name: `/${huge}`,
        Path: huge,
        Args: Array.from({ length: 10_000 }, () => 'arg'),
        Image: huge,
        State: { Status: huge, Health: { Status: huge } },
        Config: { Image: huge, Labels: labels },
        HostConfig: { NetworkMode: huge, PortBindings: ports, RestartPolicy: { Name: huge } },
      },
      now,
    );
    expect(c.labels[truncatedLabel]).toBe('command,labels,portBindings,strings');
    expect(c.portBindings).toHaveLength(itemCaps.portBindings);
    expect(Buffer.byteLength(c.image)).toBe(itemCaps.stringBytes);
    expect(encodedSize(c)).toBeLessThan(256 * 1024);
  });

  it('maps anything an engine could answer without throwing, within the size bound (property)', () => {
    const runs = 300;
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.array(fc.string()), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())));
    const reply = fc.record(
      {
        Id: fc.oneof(fc.constant(id), fc.string(), value),
        Name: value,
        Created: value,
        Path: value,
        Args: value,
        Image: value,
        State: fc.oneof(value, fc.record({ Status: value, ExitCode: value, StartedAt: value, FinishedAt: value, Health: value }, { requiredKeys: [] })),
        Config: fc.oneof(value, fc.record({ Image: value, Labels: value }, { requiredKeys: [] })),
        HostConfig: fc.oneof(value, fc.record({ NanoCpus: value, Memory: value, CpuShares: value, NetworkMode: value, PortBindings: fc.oneof(value, fc.dictionary(fc.string(), fc.oneof(value, fc.array(fc.record({ HostIp: value, HostPort: value }))))) }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(reply, (r) => {
        let c: Container;
        try {
          c = containerFrom(r as ContainerInspectReply, now);
        } catch (err) {
          expect(err).toBeInstanceOf(BadEngineReplyError);
          return;
        }
        expect(encodedSize(c)).toBeLessThan(256 * 1024);
      }),
      { numRuns: runs },
    );
    console.log(`containerFrom malformed-reply property: ${runs} cases`);
  });

  it('caps engine labels and ignores labels that are not a list of strings', () => {
    const info = engineInfoFrom({ ID: 'E', NCPU: 1, MemTotal: 1, Labels: 'zone=a' as unknown as string[] }, api);
    expect(info.labels).toEqual({ storagedriver: '', kernelversion: '', operatingsystem: '', ostype: '' });
    const many = engineInfoFrom({ ID: 'E', NCPU: 1, MemTotal: 1, Labels: Array.from({ length: 10_000 }, (_, i) => `k${i}=${'v'.repeat(20)}`) }, api);
    expect(many.labels[truncatedLabel]).toBe('labels');
    expect(many.labels.ostype).toBe('');
  });
});
