import { ContainerStats } from '@flotilla/proto';
import { cutUtf8, itemCaps, time, wellFormed } from '../monitor/docker-mapping';
import type { DockerStatsReply } from './docker-backend';

/*
 * Docker's stats sample as the agent reports it, with the figures `docker stats` (CLI v28) prints
 * computed as it computes them. The sample is outside input: a field of the wrong type counts as
 * 0, and no figure is negative, fractional (in a uint64) or NaN.
 */

const maxUint64 = 2n ** 64n - 1n;
const maxUint32 = 2 ** 32 - 1;

/** Longest stats line taken, in characters; Docker's are a few KiB (more with many CPUs or disks). */
export const maxStatsLineChars = 256 * 1024;

/**
 * Parses one line of Docker's stats. Integers past 2^53 (the host's CPU time in nanoseconds on a
 * big host that has been up for days) become bigints, so they and their deltas stay exact.
 * Throws a SyntaxError when the line is not a JSON object.
 */
export function parseStatsLine(line: string): DockerStatsReply {
  const exact = (_key: string, value: unknown, context?: { source?: string }): unknown =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^\d+$/.test(context.source) ? BigInt(context.source) : value;
  const reply: unknown = JSON.parse(line, exact);
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) throw new SyntaxError('not a JSON object');
  return reply as DockerStatsReply;
}

/** `value` when it is a JSON object, else undefined (a mistyped field holds anything). */
function object<T extends object>(value: T | null | undefined): T | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

/** A count for a uint64 field: whole and within 0..2^64−1; anything but a finite number is 0. */
function count(value: unknown): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isFinite(value)) n = BigInt(Math.trunc(value));
  else return 0n;
  return n < 0n ? 0n : n > maxUint64 ? maxUint64 : n;
}

const clamp = (n: bigint): bigint => (n > maxUint64 ? maxUint64 : n);

/** Docker's sample times are RFC 3339 text (`time` would also take a number, as Unix seconds). */
const sampleTime = (value: unknown): Date | undefined => (typeof value === 'string' ? time(value) : undefined);

/** Memory in use without the inactive file pages: the CLI's calculateMemUsageUnixNoCache. */
function memoryUsage(memory: DockerStatsReply['memory_stats']): bigint {
  const usage = count(object(memory)?.usage);
  const stats = object(object(memory)?.stats);
  if (stats && Object.hasOwn(stats, 'total_inactive_file')) {
    // cgroup v1
    const inactive = count(stats.total_inactive_file);
    if (inactive < usage) return usage - inactive;
  }
  // cgroup v2 (and v1 when its total is not below usage, as the CLI falls through)
  const inactive = count(stats?.inactive_file);
  return inactive < usage ? usage - inactive : usage;
}

/** Bytes read and written: the CLI's calculateBlockIO. */
function blockIo(blkio: DockerStatsReply['blkio_stats']): { read: bigint; write: bigint } {
  let read = 0n;
  let write = 0n;
  const entries = object(blkio)?.io_service_bytes_recursive;
  for (const entry of Array.isArray(entries) ? entries : []) {
    const op = typeof entry?.op === 'string' ? entry.op.toLowerCase() : '';
    // cgroup v1 writes "Read"/"Write", v2 "read"/"write".
    if (op === 'read') read += count(entry?.value);
    else if (op === 'write') write += count(entry?.value);
  }
  return { read: clamp(read), write: clamp(write) };
}

function network(networks: DockerStatsReply['networks']): { rx: bigint; tx: bigint } {
  let rx = 0n;
  let tx = 0n;
  for (const nic of Object.values(object(networks) ?? {})) {
    rx += count(object(nic)?.rx_bytes);
    tx += count(object(nic)?.tx_bytes);
  }
  return { rx: clamp(rx), tx: clamp(tx) };
}

function cpuOf(cpu: DockerStatsReply['cpu_stats']): { total: bigint; system: bigint; online: number; perCpu: number } {
  const stats = object(cpu);
  const usage = object(stats?.cpu_usage);
  const perCpu = Array.isArray(usage?.percpu_usage) ? usage.percpu_usage.length : 0;
  return { total: count(usage?.total_usage), system: count(stats?.system_cpu_usage), online: Number(count(stats?.online_cpus)), perCpu };
}

/**
 * One sample of Docker's stats as the agent reports it; `rawJson` is the line as Docker sent it.
 * A sample without a `read` time is a container that is not running: Docker still sends the CPU
 * figures of the sample before with it, but the contract has every figure 0 then.
 */
export function containerStatsFrom(reply: DockerStatsReply, rawJson: string): ContainerStats {
  const id = typeof reply.id === 'string' ? cutUtf8(wellFormed(reply.id), itemCaps.idBytes) : '';
  const name = typeof reply.name === 'string' ? cutUtf8(wellFormed(reply.name), itemCaps.stringBytes).replace(/^\//, '') : '';
  const read = sampleTime(reply.read);
  // Every figure 0 until the sample proves the container runs.
  const stats = ContainerStats.fromPartial({ containerId: id, name, rawJson });
  if (!read) return stats;

  const previousRead = sampleTime(reply.preread);
  const cpu = cpuOf(reply.cpu_stats);
  const previous = cpuOf(reply.precpu_stats);
  const onlineCpus = Math.min(cpu.online || cpu.perCpu, maxUint32);
  const cpuDelta = Number(cpu.total - previous.total);
  const systemDelta = Number(cpu.system - previous.system);
  const memory = memoryUsage(reply.memory_stats);
  const limit = count(object(reply.memory_stats)?.limit);
  const net = network(reply.networks);
  const block = blockIo(reply.blkio_stats);
  return {
    ...stats,
    read,
    previousRead,
    cpuTotalNs: String(cpu.total),
    previousCpuTotalNs: String(previous.total),
    systemCpuNs: String(cpu.system),
    previousSystemCpuNs: String(previous.system),
    onlineCpus,
    // Without a sample before, the CLI would divide the counts since start: the contract says 0.
    cpuPercent: previousRead && cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * onlineCpus * 100 : 0,
    memoryUsageBytes: String(memory),
    memoryLimitBytes: String(limit),
    memoryPercent: limit > 0n ? (Number(memory) / Number(limit)) * 100 : 0,
    networkRxBytes: String(net.rx),
    networkTxBytes: String(net.tx),
    blockReadBytes: String(block.read),
    blockWriteBytes: String(block.write),
    pids: String(count(object(reply.pids_stats)?.current)),
  };
}
