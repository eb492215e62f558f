import { humanDuration } from '@flotilla/time';
import { commandLine, containerStatus, formatBytes, formatCpus, formatPort, parseCpus, parseMemory, parsePort, parseRestart } from './units';

describe('parseMemory', () => {
  it.each([
    ['64m', 64 * 1024 ** 2],
    ['64M', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['8192k', 8192 * 1024],
    ['10485760', 10485760],
  ])('%s', (text, bytes) => expect(parseMemory(text)).toBe(bytes));

  it.each(['', 'm', '64x', '-1m', '1m', '0'])('rejects %j', (text) => expect(() => parseMemory(text)).toThrow(/--memory/));
});

describe('parseCpus', () => {
  it.each([
    ['0.5', '500000000'],
    ['2', '2000000000'],
    ['.25', '250000000'],
    ['1.000000001', '1000000001'],
  ])('%s', (text, nano) => expect(parseCpus(text)).toBe(nano));
  it.each(['0', 'x', '-1', '1.0000000001', '1e3'])('rejects %j', (text) => expect(() => parseCpus(text)).toThrow(/--cpus/));
});

describe('parsePort', () => {
  it.each([
    ['80', { containerPort: 80, protocol: '', hostIp: '', hostPort: 0 }],
    ['8080:80', { containerPort: 80, protocol: '', hostIp: '', hostPort: 8080 }],
    ['8080:80/udp', { containerPort: 80, protocol: 'udp', hostIp: '', hostPort: 8080 }],
    ['127.0.0.1:8080:80', { containerPort: 80, protocol: '', hostIp: '127.0.0.1', hostPort: 8080 }],
    ['127.0.0.1::80/tcp', { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0 }],
    ['[::1]:8080:80', { containerPort: 80, protocol: '', hostIp: '::1', hostPort: 8080 }],
  ])('%s', (text, binding) => expect(parsePort(text)).toEqual(binding));

  it.each(['', 'x:80', '8080:80/icmp', '70000:80', '1:2:3:4', 'host:8080:80', '8000-8010:80'])('rejects %j', (text) => expect(() => parsePort(text)).toThrow(/--publish/));

  it('formats bindings as docker ps does', () => {
    expect(formatPort({ containerPort: 80, protocol: '', hostIp: '', hostPort: 8080 })).toBe('8080->80/tcp');
    expect(formatPort({ containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 53 })).toBe('127.0.0.1:53->53/udp');
    expect(formatPort({ containerPort: 80, protocol: '', hostIp: '', hostPort: 0 })).toBe('80/tcp');
  });
});

it('parses restart policies', () => {
  expect(parseRestart('always')).toEqual({ name: 'always', maximumRetryCount: 0 });
  expect(parseRestart('on-failure:3')).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
  expect(() => parseRestart('always:3')).toThrow(/--restart/);
  expect(() => parseRestart('sometimes')).toThrow(/--restart/);
});

it('formats sizes, CPUs, durations and command lines', () => {
  expect(formatBytes(0)).toBe('0 B');
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(64 * 1024 ** 2)).toBe('64 MiB');
  expect(formatBytes(String(1.5 * 1024 ** 3))).toBe('1.5 GiB');
  expect(formatCpus('500000000')).toBe('0.5');
  expect(formatCpus(0)).toBe('0');
  expect(humanDuration(400)).toBe('Less than a second');
  expect(humanDuration(45_000)).toBe('45 seconds');
  expect(humanDuration(61_000)).toBe('About a minute');
  expect(humanDuration(3 * 3_600_000)).toBe('3 hours');
  expect(commandLine(['sh', '-c', 'echo hi; exit 3'])).toBe('sh -c "echo hi; exit 3"');
});

it('computes the status from the state and times, as of now', () => {
  const now = Date.parse('2024-01-01T00:10:00Z');
  const at = (iso: string) => new Date(iso);
  expect(containerStatus({ state: 'running', status: 'Up 1 second', exitCode: 0, startedAt: at('2024-01-01T00:05:00Z') }, now)).toBe('Up 5 minutes');
  expect(containerStatus({ state: 'exited', status: '', exitCode: 7, finishedAt: at('2024-01-01T00:09:30Z') }, now)).toBe('Exited (7) 30 seconds ago');
  expect(containerStatus({ state: 'created', status: '', exitCode: 0 }, now)).toBe('Created');
});
