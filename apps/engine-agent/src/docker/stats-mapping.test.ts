import { NotFoundError } from '@flotilla/errors';
import type { ContainerStats } from '@flotilla/proto';
import { FakeClock } from '@flotilla/time';
import fc from 'fast-check';
import type { Readable } from 'node:stream';
import type { DockerStatsReply } from './docker-backend';
import { HollowDockerBackend } from './hollow-backend';
import { containerStatsFrom, parseStatsLine } from './stats-mapping';

const MiB = 1024 * 1024;

// A sample from Docker 20.10 on cgroup v1 (a container that wrote 32 MiB to /dev/shm), its CPU
// counters moved on so the sample before differs.
const cgroupV1Line = JSON.stringify({
  read: '2026-11-29T13:52:51.157490469Z',
  preread: '2026-11-29T13:52:50.154374339Z',
  pids_stats: { current: 1 },
  blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 8192 }, { major: 8, minor: 0, op: 'Sync', value: 12288 }, { major: 8, minor: 0, op: 'Total', value: 12288 }, { major: 8, minor: 16, op: 'Read', value: 1 }], io_serviced_recursive: [] },
  num_procs: 0,
  storage_stats: {},
  cpu_stats: { cpu_usage: { total_usage: 141762921, percpu_usage: [16236040, 125526881], usage_in_kernelmode: 20000000, usage_in_usermode: 20000000 }, system_cpu_usage: 74833040000000, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
  precpu_stats: { cpu_usage: { total_usage: 41762921, percpu_usage: [16236040, 25526881], usage_in_kernelmode: 20000000, usage_in_usermode: 20000000 }, system_cpu_usage: 74831020000000, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
  memory_stats: { usage: 34435072, max_usage: 35598336, stats: { cache: 33554432, inactive_file: 4096, total_inactive_file: 1024, total_inactive_anon: 33603584 }, limit: 25276510208 },
  name: '/s1',
  id: '5faca521dd4a7c6949765ffdcc51edd80c008bf8298dc492ece0f1382ed3ef3c',
});

/** Docker's answer for a container that is not running; here the first one after it stopped, which still carries the CPU figures of the sample before. */
const stoppedLine = JSON.stringify({
  read: '0001-01-01T00:00:00Z',
  preread: '2026-11-29T13:53:13.754929007Z',
  pids_stats: {},
  blkio_stats: { io_service_bytes_recursive: null },
  cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 } },
  precpu_stats: { cpu_usage: { total_usage: 29667533, percpu_usage: [26928026, 2739507] }, system_cpu_usage: 74878140000000, online_cpus: 2 },
  memory_stats: {},
  name: '/s2',
  id: 'bc3427e8b3427681b0c0f0a122976143fc7f71d710fac2bd8f038910e73f68a2',
});

const map = (line: string): ContainerStats => containerStatsFrom(parseStatsLine(line), line);
const mapReply = (reply: DockerStatsReply): ContainerStats => containerStatsFrom(reply, '{}');
const running = (extra: Partial<DockerStatsReply>): DockerStatsReply => ({ read: '2026-11-29T13:52:51Z', preread: '2026-11-29T13:52:50Z', ...extra });

describe('containerStatsFrom', () => {
  it('maps a cgroup v1 sample as docker stats computes it', () => {
    const stats = map(cgroupV1Line);
    expect(stats).toEqual({
      containerId: '5faca521dd4a7c6949765ffdcc51edd80c008bf8298dc492ece0f1382ed3ef3c',
      name: 's1',
      read: new Date('2026-11-29T13:52:51.157Z'),
      previousRead: new Date('2026-11-29T13:52:50.154Z'),
      cpuTotalNs: '141762921',
      previousCpuTotalNs: '41762921',
      systemCpuNs: '74833040000000',
      previousSystemCpuNs: '74831020000000',
      onlineCpus: 2,
      cpuPercent: expect.closeTo((100_000_000 / 2_020_000_000) * 2 * 100, 10),
      // usage − total_inactive_file (cgroup v1 wins over inactive_file)
      memoryUsageBytes: String(34435072 - 1024),
      memoryLimitBytes: '25276510208',
      memoryPercent: expect.closeTo(((34435072 - 1024) / 25276510208) * 100, 10),
      networkRxBytes: '0',
      networkTxBytes: '0',
      blockReadBytes: '4097',
      blockWriteBytes: '8192',
      pids: '1',
      rawJson: cgroupV1Line,
    });
  });

  it('takes cgroup v2 inactive_file, and usage whole when the inactive pages are not below it', () => {
    expect(mapReply(running({ memory_stats: { usage: 10 * MiB, stats: { inactive_file: 2 * MiB }, limit: 20 * MiB } }))).toMatchObject({ memoryUsageBytes: String(8 * MiB), memoryPercent: 40 });
    expect(mapReply(running({ memory_stats: { usage: MiB, stats: { inactive_file: 2 * MiB } } }))).toMatchObject({ memoryUsageBytes: String(MiB), memoryPercent: 0 });
    // As the CLI: a v1 total that is not below usage falls through to inactive_file.
    expect(mapReply(running({ memory_stats: { usage: MiB, stats: { total_inactive_file: MiB, inactive_file: 1024 } } })).memoryUsageBytes).toBe(String(MiB - 1024));
    expect(mapReply(running({ memory_stats: { usage: MiB, stats: null } })).memoryUsageBytes).toBe(String(MiB));
  });

  it('sums the network interfaces and block devices (v2 ops are lower case)', () => {
    const stats = mapReply(
      running({
        networks: { eth0: { rx_bytes: 100, tx_bytes: 10 }, eth1: { rx_bytes: 23, tx_bytes: 5 }, eth2: null },
        blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 7 }, { op: 'write', value: 3 }, { op: 'Read', value: 1 }, { op: 'discard', value: 99 }, null, { value: 5 }] },
      }),
    );
    expect(stats).toMatchObject({ networkRxBytes: '123', networkTxBytes: '15', blockReadBytes: '8', blockWriteBytes: '3' });
  });

  it('computes CPU % only with a sample before and both deltas above 0; online CPUs fall back to the per-CPU count', () => {
    const cpu = (total: number, system: number, online?: number, perCpu?: number[]) => ({ cpu_usage: { total_usage: total, percpu_usage: perCpu }, system_cpu_usage: system, online_cpus: online });
    expect(mapReply(running({ cpu_stats: cpu(300, 2000, 0, [1, 2, 3, 4]), precpu_stats: cpu(100, 1000) }))).toMatchObject({ onlineCpus: 4, cpuPercent: 80 });
    expect(mapReply(running({ cpu_stats: cpu(300, 2000, 2), precpu_stats: cpu(100, 1000) })).cpuPercent).toBe(40);
    // The first sample of a stream: no sample before, though the CLI would divide the counts since start.
    expect(mapReply(running({ preread: '0001-01-01T00:00:00Z', cpu_stats: cpu(300, 2000, 2), precpu_stats: cpu(0, 0) }))).toMatchObject({ previousRead: undefined, cpuPercent: 0 });
    expect(mapReply(running({ cpu_stats: cpu(100, 2000, 2), precpu_stats: cpu(100, 1000) })).cpuPercent).toBe(0);
    expect(mapReply(running({ cpu_stats: cpu(300, 1000, 2), precpu_stats: cpu(100, 1000) })).cpuPercent).toBe(0);
    // Counters that went backwards (a restart between samples) are no negative percentage.
    expect(mapReply(running({ cpu_stats: cpu(50, 900, 2), precpu_stats: cpu(100, 1000) })).cpuPercent).toBe(0);
  });

  it('answers a container that is not running with every figure 0 and read unset', () => {
    const stats = map(stoppedLine);
    expect(stats).toEqual({
      containerId: 'bc3427e8b3427681b0c0f0a122976143fc7f71d710fac2bd8f038910e73f68a2',
      name: 's2',
      read: undefined,
      previousRead: undefined,
      cpuTotalNs: '0',
      previousCpuTotalNs: '0',
      systemCpuNs: '0',
      previousSystemCpuNs: '0',
      onlineCpus: 0,
      cpuPercent: 0,
      memoryUsageBytes: '0',
      memoryLimitBytes: '0',
      memoryPercent: 0,
      networkRxBytes: '0',
      networkTxBytes: '0',
      blockReadBytes: '0',
      blockWriteBytes: '0',
      pids: '0',
      rawJson: stoppedLine,
    });
    for (const read of ['', 'yesterday', '-1', 12, null]) expect(mapReply(running({ read } as unknown as DockerStatsReply)).read).toBeUndefined();
  });

  it('treats wrong types as 0 and clamps counts to whole uint64 values', () => {
    const bad = {
      read: '2026-11-29T13:52:51Z',
      preread: 42,
      name: 7,
      id: { x: 1 },
      pids_stats: { current: '12' },
      cpu_stats: { cpu_usage: { total_usage: -5, percpu_usage: 'abc' }, system_cpu_usage: 1.9e30, online_cpus: 2.7 },
      precpu_stats: 'nope',
      memory_stats: { usage: 10.9, stats: 'x', limit: null },
      networks: ['eth0'],
      blkio_stats: { io_service_bytes_recursive: { op: 'read', value: 1 } },
    } as unknown as DockerStatsReply;
    expect(mapReply(bad)).toMatchObject({
      containerId: '',
      name: '',
      previousRead: undefined,
      pids: '0',
      cpuTotalNs: '0',
      systemCpuNs: '18446744073709551615',
      onlineCpus: 2,
      memoryUsageBytes: '10',
      memoryLimitBytes: '0',
      memoryPercent: 0,
      networkRxBytes: '0',
      blockReadBytes: '0',
    });
    const nulls = { read: '2026-11-29T13:52:51Z', cpu_stats: null, precpu_stats: null, memory_stats: null, networks: null, blkio_stats: null, pids_stats: null } as DockerStatsReply;
    expect(mapReply(nulls)).toMatchObject({ cpuTotalNs: '0', memoryUsageBytes: '0', pids: '0', cpuPercent: 0 });
    // JSON's 1e400 is Infinity: 0, as any other count that is not a number.
    expect(map('{"read":"2026-11-29T13:52:51Z","memory_stats":{"usage":1e400,"limit":-1}}')).toMatchObject({ memoryUsageBytes: '0', memoryLimitBytes: '0', memoryPercent: 0 });
  });

  it('never throws, and every figure is a whole non-negative count or a finite number, whatever Docker sends', () => {
    const count = fc.oneof(fc.integer(), fc.double(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.string(), fc.constant(null), fc.boolean());
    const cpu = fc.record({ cpu_usage: fc.oneof(fc.record({ total_usage: count, percpu_usage: fc.oneof(fc.array(count), count) }), count), system_cpu_usage: count, online_cpus: count }, { requiredKeys: [] });
    const reply = fc.record(
      {
        read: fc.oneof(fc.constant('2026-11-29T13:52:51.1Z'), fc.constant('0001-01-01T00:00:00Z'), fc.string(), count),
        preread: fc.oneof(fc.constant('2026-11-29T13:52:50Z'), count),
        name: fc.oneof(fc.string(), count),
        id: fc.oneof(fc.string(), count),
        pids_stats: fc.oneof(fc.record({ current: count }), count),
        cpu_stats: fc.oneof(cpu, count),
        precpu_stats: fc.oneof(cpu, count),
        memory_stats: fc.oneof(fc.record({ usage: count, limit: count, stats: fc.oneof(fc.dictionary(fc.constantFrom('inactive_file', 'total_inactive_file', 'cache'), count), count) }), count),
        networks: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.record({ rx_bytes: count, tx_bytes: count }), count)), count),
        blkio_stats: fc.oneof(fc.record({ io_service_bytes_recursive: fc.oneof(fc.array(fc.oneof(fc.record({ op: fc.oneof(fc.constantFrom('read', 'Write', 'Sync'), count), value: count }), count)), count) }), count),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(reply, (r) => {
        const stats = containerStatsFrom(r as unknown as DockerStatsReply, '{}');
        for (const field of ['cpuTotalNs', 'previousCpuTotalNs', 'systemCpuNs', 'previousSystemCpuNs', 'memoryUsageBytes', 'memoryLimitBytes', 'networkRxBytes', 'networkTxBytes', 'blockReadBytes', 'blockWriteBytes', 'pids'] as const) {
          expect(stats[field]).toMatch(/^\d+$/);
          expect(BigInt(stats[field])).toBeLessThan(2n ** 64n);
        }
        for (const field of ['cpuPercent', 'memoryPercent', 'onlineCpus'] as const) {
          expect(Number.isFinite(stats[field]) && stats[field] >= 0).toBe(true);
        }
        expect(Number.isInteger(stats.onlineCpus) && stats.onlineCpus < 2 ** 32).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseStatsLine', () => {
  it('keeps integers past 2^53 exact, and so their deltas', () => {
    const system = 2n ** 60n + 1n;
    const line = `{"read":"2026-11-29T13:52:51Z","preread":"2026-11-29T13:52:50Z","cpu_stats":{"cpu_usage":{"total_usage":9007199254740993},"system_cpu_usage":${system + 4n},"online_cpus":1},"precpu_stats":{"cpu_usage":{"total_usage":9007199254740992},"system_cpu_usage":${system},"online_cpus":1},"memory_stats":{"usage":99999999999999999999}}`;
    const stats = map(line);
    expect(stats).toMatchObject({ cpuTotalNs: '9007199254740993', previousCpuTotalNs: '9007199254740992', systemCpuNs: String(system + 4n), previousSystemCpuNs: String(system), cpuPercent: 25, memoryUsageBytes: '18446744073709551615', rawJson: line });
  });

  it('throws on a line that is not a JSON object', () => {
    for (const line of ['{"read":', 'null', '[1]', '"text"', '12']) expect(() => parseStatsLine(line)).toThrow(SyntaxError);
  });
});

/** Every sample a stream gives, mapped, until it ends. */
async function samplesOf(stream: Readable): Promise<ContainerStats[]> {
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString();
  return text.split('\n').filter(Boolean).map(map);
}

describe('the hollow engine', () => {
  it('gives one empty sample for a container that is not running, a full one for a running one, NotFound for no container', async () => {
    const backend = new HollowDockerBackend({ cpus: 2 });
    const { id } = await backend.createContainer({ name: 'hollow-stats', Image: 'busybox:local', HostConfig: { Memory: 64 * MiB } });
    const [idle, ...rest] = await samplesOf(await backend.containerStats(id, true));
    expect(rest).toEqual([]);
    expect(idle).toMatchObject({ containerId: id, name: 'hollow-stats', read: undefined, memoryUsageBytes: '0', cpuTotalNs: '0' });

    await backend.startContainer(id);
    const [one, ...none] = await samplesOf(await backend.containerStats('hollow-stats', false));
    expect(none).toEqual([]);
    expect(one).toMatchObject({ containerId: id, onlineCpus: 2, memoryUsageBytes: String(4 * MiB), memoryLimitBytes: String(64 * MiB), memoryPercent: 6.25, pids: '1', networkRxBytes: expect.stringMatching(/^[1-9]/) });
    expect(one.read).toBeInstanceOf(Date);
    expect(one.previousRead).toBeInstanceOf(Date);
    expect(one.cpuPercent).toBeGreaterThan(0);
    await expect(backend.containerStats('no-such', false)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('streams a sample a second until the container stops, then one empty sample and the end', async () => {
    const clock = new FakeClock();
    const backend = new HollowDockerBackend({ clock });
    const { id } = await backend.createContainer({ Image: 'busybox:local', HostConfig: { NetworkMode: 'none' } });
    await backend.startContainer(id);
    const stream = await backend.containerStats(id, true);
    const samples = samplesOf(stream);
    await clock.advance(2000);
    await backend.stopContainer(id);
    await clock.advance(1000);
    const all = await samples;
    expect(all.map((s) => s.read?.getTime())).toEqual([clock.now() - 3000, clock.now() - 2000, clock.now() - 1000, undefined]);
    expect(all[0].previousRead).toBeUndefined();
    expect(all[1].previousRead).toEqual(all[0].read);
    expect(all[1].previousCpuTotalNs).toBe(all[0].cpuTotalNs);
    expect(all[1].cpuPercent).toBeGreaterThan(0);
    expect(all[1].networkRxBytes).toBe('0');
    expect(clock.pending).toBe(0);
  });

  it('leaves no timer behind when the reader destroys the stream', async () => {
    const clock = new FakeClock();
    const backend = new HollowDockerBackend({ clock });
    const { id } = await backend.createContainer({ Image: 'busybox:local', HostConfig: {} });
    await backend.startContainer(id);
    const stream = await backend.containerStats(id, true);
    expect(clock.pending).toBe(1);
    stream.destroy();
    await clock.advance(0);
    expect(clock.pending).toBe(0);
  });
});
