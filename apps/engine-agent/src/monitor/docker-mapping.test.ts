import { InvalidArgumentError } from '@flotilla/grpc';
import { CreateContainerRequest } from '@flotilla/proto';
import { BadEngineReplyError, containerFrom, containerStatus, createBodyFrom, engineInfoFrom } from './docker-mapping';

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
  ])('rejects %p naming %s', (patch, field) => {
    const attempt = () => createBodyFrom({ ...base, ...patch } as CreateContainerRequest);
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')} `));
  });
});
