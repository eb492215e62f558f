import { isIP } from 'node:net';
import { InvalidArgumentError } from '@flotilla/errors';
import { logDriverPattern, parseByteSize, parseMount, type MountInput, type ParsedMount } from './host-access';

/*
 * The `docker run` options of a create beyond host access: mounts, tmpfs, user, working
 * directory, host name, DNS, extra hosts, health check, log config, ulimits, stop signal and
 * timeout, and the finer resources. flotilla.cluster.v1.ContainerSpec and
 * flotilla.agent.v1.CreateContainerRequest both carry them, so the manager (fields named
 * `spec.…`) and the agent (fields named as in its request) check them with this one function,
 * before anything is placed or sent to Docker. Sizes are the manager's request limits' to bound;
 * this checks what the values mean, as far as it can be told without the engine.
 */

/** The fields read here; int64 fields are decimal strings, as the generated types carry them. */
export interface ContainerOptionsInput {
  memoryBytes: string;
  mounts: readonly MountInput[];
  tmpfs: Readonly<Record<string, string>>;
  user: string;
  workingDir: string;
  hostname: string;
  dns: readonly string[];
  extraHosts: readonly string[];
  healthCheck?: { test: readonly string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number } | undefined;
  logConfig?: { driver: string; options: Readonly<Record<string, string>> } | undefined;
  ulimits: ReadonlyArray<{ name: string; soft: string; hard: string }>;
  stopSignal: string;
  stopTimeoutSeconds?: number | undefined;
  cpuShares: string;
  cpuQuota: string;
  cpuPeriod: string;
  cpusetCpus: string;
  memoryReservationBytes: string;
  memorySwapBytes: string;
  pidsLimit: string;
}

/** The options, read: what the agent maps onto Docker. */
export interface ContainerOptions {
  mounts: ParsedMount[];
  cpuShares: number;
  cpuQuota: number;
  cpuPeriod: number;
  memoryReservationBytes: number;
  memorySwapBytes: number;
  pidsLimit: number;
  ulimits: Array<{ name: string; soft: number; hard: number }>;
}

/** Linux's resource limits, as Docker names them. */
export const ulimitNames: readonly string[] = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

const signalNames = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT',
  'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'UNUSED', 'RTMIN', 'RTMAX',
]);

/** A signal as Docker takes it: a name with or without SIG (RTMIN+N, RTMAX-N too), or a number 1 to 64. */
export function signalProblem(text: string): string | undefined {
  if (/^\d+$/.test(text)) return Number(text) >= 1 && Number(text) <= 64 ? undefined : 'a signal number is 1 to 64';
  const name = text.toUpperCase().replace(/^SIG/, '');
  if (signalNames.has(name)) return undefined;
  const rt = /^RT(MIN\+|MAX-)(\d+)$/.exec(name);
  if (rt && Number(rt[2]) <= 15) return undefined;
  return 'expected a signal name such as SIGTERM, TERM or SIGRTMIN+3, or a number 1 to 64';
}

const maxDayMs = 86_400_000;
const maxInt64 = 9223372036854775807n;

/** A decimal int64 string as a safe JS number at least `min`; INVALID_ARGUMENT otherwise. */
function int64Field(field: string, value: string, min: number): number {
  let n: bigint;
  try {
    n = BigInt(value || '0');
  } catch {
    throw InvalidArgumentError.field(field, value, 'must be a whole number');
  }
  if (n < BigInt(min)) throw InvalidArgumentError.field(field, value, min === 0 ? 'must not be negative' : `must be at least ${min}`);
  if (n > maxInt64 || n > BigInt(Number.MAX_SAFE_INTEGER)) throw InvalidArgumentError.field(field, value, 'is too large');
  return Number(n);
}

/** CPU sets as Docker writes them: numbers and ranges, comma-separated. */
const cpusetPattern = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** The smallest memory limit Docker takes. */
export const minMemoryBytes = 6 * 1024 * 1024;

/** A resource change as requested (ContainerResources: int64 as text, unset as undefined). */
export interface ResourceChangeInput {
  nanoCpus?: string;
  memoryBytes?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  memoryReservationBytes?: string;
  memorySwapBytes?: string;
  pidsLimit?: string;
  restartPolicy?: { name: string; maximumRetryCount: number };
}

/** A checked resource change: only the fields to change. */
export interface ResourceChange {
  nanoCpus?: number;
  memoryBytes?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  memoryReservationBytes?: number;
  memorySwapBytes?: number;
  pidsLimit?: number;
  restartPolicy?: { name: string; maximumRetryCount: number };
}

const restartPolicies = ['no', 'always', 'unless-stopped', 'on-failure'];

/**
 * A resource change (UpdateContainer), each field under the rules a create uses, or
 * INVALID_ARGUMENT naming the field (`resources.memory_bytes`). Nothing to change is refused too.
 */
export function checkResourceChange(input: ResourceChangeInput | undefined, prefix = 'resources'): ResourceChange {
  const f = (name: string) => `${prefix}.${name}`;
  const out: ResourceChange = {};
  const r = input ?? {};
  if (r.nanoCpus !== undefined) {
    out.nanoCpus = int64Field(f('nano_cpus'), r.nanoCpus, 1);
  }
  if (r.memoryBytes !== undefined) {
    out.memoryBytes = int64Field(f('memory_bytes'), r.memoryBytes, 0);
    if (out.memoryBytes < minMemoryBytes) throw InvalidArgumentError.field(f('memory_bytes'), r.memoryBytes, `at least ${minMemoryBytes} (6 MiB), Docker's smallest memory limit`);
  }
  if (r.cpuShares !== undefined) out.cpuShares = int64Field(f('cpu_shares'), r.cpuShares, 0);
  if (r.cpuQuota !== undefined) {
    out.cpuQuota = int64Field(f('cpu_quota'), r.cpuQuota, 0);
    if (out.cpuQuota > 0 && out.cpuQuota < 1000) throw InvalidArgumentError.field(f('cpu_quota'), r.cpuQuota, 'at least 1000 microseconds (or 0 for none)');
  }
  if (r.cpuPeriod !== undefined) {
    out.cpuPeriod = int64Field(f('cpu_period'), r.cpuPeriod, 0);
    if (out.cpuPeriod !== 0 && (out.cpuPeriod < 1000 || out.cpuPeriod > 1_000_000)) throw InvalidArgumentError.field(f('cpu_period'), r.cpuPeriod, 'must be 1000 to 1000000 microseconds (or 0 for the default)');
  }
  if (r.cpusetCpus !== undefined) {
    if (r.cpusetCpus.length > 256 || !cpusetPattern.test(r.cpusetCpus)) throw InvalidArgumentError.field(f('cpuset_cpus'), r.cpusetCpus.slice(0, 40), 'expected CPU numbers and ranges, e.g. 0-3 or 0,2 (at most 256 bytes)');
    out.cpusetCpus = r.cpusetCpus;
  }
  if (r.memoryReservationBytes !== undefined) {
    out.memoryReservationBytes = int64Field(f('memory_reservation_bytes'), r.memoryReservationBytes, 0);
    if (out.memoryBytes !== undefined && out.memoryReservationBytes > out.memoryBytes) throw InvalidArgumentError.field(f('memory_reservation_bytes'), r.memoryReservationBytes, `must not be above memory_bytes (${r.memoryBytes})`);
  }
  if (r.memorySwapBytes !== undefined) {
    out.memorySwapBytes = int64Field(f('memory_swap_bytes'), r.memorySwapBytes, -1);
    if (out.memorySwapBytes > 0 && out.memoryBytes !== undefined && out.memorySwapBytes < out.memoryBytes) throw InvalidArgumentError.field(f('memory_swap_bytes'), r.memorySwapBytes, `must be at least memory_bytes (${r.memoryBytes}), or -1 for unlimited swap`);
  }
  if (r.pidsLimit !== undefined) out.pidsLimit = int64Field(f('pids_limit'), r.pidsLimit, -1);
  if (r.restartPolicy) {
    const name = r.restartPolicy.name || 'no';
    if (!restartPolicies.includes(name)) throw InvalidArgumentError.field(f('restart_policy.name'), r.restartPolicy.name.slice(0, 64), `expected one of ${restartPolicies.join(', ')}`);
    if (r.restartPolicy.maximumRetryCount && name !== 'on-failure') throw InvalidArgumentError.field(f('restart_policy.maximum_retry_count'), r.restartPolicy.maximumRetryCount, 'only "on-failure" takes a retry count');
    out.restartPolicy = { name, maximumRetryCount: r.restartPolicy.maximumRetryCount };
  }
  if (!Object.keys(out).length) throw InvalidArgumentError.field(prefix, {}, 'nothing to change: set at least one resource or the restart policy');
  return out;
}

const hostnameLabel = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** RFC 1123: labels of letters, digits and "-" (not at either end) separated by "."; at most 63 bytes for a container. */
export function hostnameProblem(text: string): string | undefined {
  if (text.length > 63) return 'a host name is at most 63 characters';
  if (!text.split('.').every((label) => hostnameLabel.test(label))) return 'expected letters, digits and "-" in labels separated by "." (RFC 1123)';
  return undefined;
}

/** Docker's tmpfs mount options (`--tmpfs PATH:OPTIONS`). */
const tmpfsFlags = new Set(['rw', 'ro', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime']);

export function tmpfsOptionsProblem(text: string): string | undefined {
  if (text === '') return undefined;
  for (const option of text.split(',')) {
    if (tmpfsFlags.has(option)) continue;
    const [key, value = ''] = option.split('=', 2);
    const ok =
      (key === 'size' && Number.isFinite(parseByteSize(value)) && /^\d+[kmg%]?$/i.test(value)) ||
      (key === 'mode' && /^[0-7]{1,4}$/.test(value)) ||
      ((key === 'uid' || key === 'gid' || key === 'nr_inodes' || key === 'nr_blocks') && /^\d+[kmg]?$/i.test(value));
    if (!ok) return `unknown or malformed option ${JSON.stringify(option)} (expected ${[...tmpfsFlags].join(', ')}, size=SIZE, mode=OCTAL, uid=N, gid=N, nr_inodes=N)`;
  }
  return undefined;
}

/**
 * Checks the options (`prefix` is "spec." for the manager, "" for the agent) and reads them.
 * Every refusal is INVALID_ARGUMENT naming the field in the contract's spelling and the value.
 */
/** A user to run as, USER[:GROUP] (empty: the image's or container's). */
export function checkUser(field: string, value: string): void {
  if (value && !/^[^\s:]+(:[^\s:]+)?$/.test(value)) throw InvalidArgumentError.field(field, value, 'expected USER[:GROUP], a name or number each, without spaces');
}

/** A working directory in the container (empty: the image's or container's). */
export function checkWorkingDir(field: string, value: string): void {
  if (value && (!value.startsWith('/') || value.includes('\0'))) throw InvalidArgumentError.field(field, value, 'must be an absolute path in the container');
}

export function checkContainerOptions(request: ContainerOptionsInput, prefix = ''): ContainerOptions {
  const f = (name: string) => `${prefix}${name}`;
  const mounts = request.mounts.map((m, i) => parseMount(f(`mounts[${i}]`), m));
  const targets = new Map<string, string>();
  mounts.forEach((m, i) => {
    const earlier = targets.get(m.target);
    if (earlier) throw InvalidArgumentError.field(f(`mounts[${i}].target`), m.target, `${earlier} mounts there already`);
    targets.set(m.target, f(`mounts[${i}]`));
  });
  for (const [path, options] of Object.entries(request.tmpfs)) {
    const field = f(`tmpfs[${path}]`);
    if (!path.startsWith('/') || path.includes('\0') || path.includes(':')) throw InvalidArgumentError.field(field, path, 'the key must be an absolute path in the container, without ":"');
    if (targets.has(path)) throw InvalidArgumentError.field(field, path, `${targets.get(path)} mounts there already`);
    const problem = tmpfsOptionsProblem(options);
    if (problem) throw InvalidArgumentError.field(field, options, problem);
  }
  checkUser(f('user'), request.user);
  checkWorkingDir(f('working_dir'), request.workingDir);
  if (request.hostname) {
    const problem = hostnameProblem(request.hostname);
    if (problem) throw InvalidArgumentError.field(f('hostname'), request.hostname, problem);
  }
  request.dns.forEach((text, i) => {
    if (!isIP(text)) throw InvalidArgumentError.field(f(`dns[${i}]`), text, 'expected an IPv4 or IPv6 address');
  });
  request.extraHosts.forEach((text, i) => {
    const colon = text.indexOf(':');
    const host = colon < 0 ? '' : text.slice(0, colon);
    const ip = colon < 0 ? '' : text.slice(colon + 1).replace(/^\[(.*)\]$/, '$1');
    if (!host || hostnameProblem(host) !== undefined || (ip !== 'host-gateway' && !isIP(ip))) {
      throw InvalidArgumentError.field(f(`extra_hosts[${i}]`), text, 'expected HOST:IP, IP an IPv4 or IPv6 address or host-gateway');
    }
  });
  const health = request.healthCheck;
  if (health) {
    const [kind] = health.test;
    const ok = health.test.length === 0 || (kind === 'NONE' && health.test.length === 1) || (kind === 'CMD' && health.test.length > 1) || (kind === 'CMD-SHELL' && health.test.length === 2);
    if (!ok) throw InvalidArgumentError.field(f('health_check.test'), health.test, 'expected [] (inherit), ["NONE"], ["CMD", ARG, ...] or ["CMD-SHELL", COMMAND]');
    const durations = [['interval_ms', health.intervalMs], ['timeout_ms', health.timeoutMs], ['start_period_ms', health.startPeriodMs]] as const;
    for (const [name, value] of durations) {
      if (value > maxDayMs) throw InvalidArgumentError.field(f(`health_check.${name}`), value, `at most ${maxDayMs} (a day)`);
    }
    if (health.retries > 1_000_000) throw InvalidArgumentError.field(f('health_check.retries'), health.retries, 'at most 1000000');
  }
  const log = request.logConfig;
  if (log) {
    if (log.driver && (!logDriverPattern.test(log.driver) || log.driver.length > 64)) throw InvalidArgumentError.field(f('log_config.driver'), log.driver, 'expected a log driver name such as json-file');
    for (const key of Object.keys(log.options)) {
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(key)) throw InvalidArgumentError.field(f(`log_config.options[${key}]`), log.options[key], 'an option name is letters, digits, "_", "." and "-"');
    }
  }
  const seen = new Set<string>();
  const ulimits = request.ulimits.map((u, i) => {
    if (!ulimitNames.includes(u.name)) throw InvalidArgumentError.field(f(`ulimits[${i}].name`), u.name, `expected one of ${ulimitNames.join(', ')}`);
    if (seen.has(u.name)) throw InvalidArgumentError.field(f(`ulimits[${i}].name`), u.name, 'given twice');
    seen.add(u.name);
    const soft = int64Field(f(`ulimits[${i}].soft`), u.soft, -1);
    const hard = int64Field(f(`ulimits[${i}].hard`), u.hard, -1);
    if (hard !== -1 && (soft === -1 || soft > hard)) throw InvalidArgumentError.field(f(`ulimits[${i}].soft`), u.soft, `the soft limit must not be above the hard limit (${u.hard})`);
    return { name: u.name, soft, hard };
  });
  if (request.stopSignal) {
    const problem = signalProblem(request.stopSignal);
    if (problem) throw InvalidArgumentError.field(f('stop_signal'), request.stopSignal, problem);
  }
  if (request.stopTimeoutSeconds !== undefined && request.stopTimeoutSeconds > 86_400) {
    throw InvalidArgumentError.field(f('stop_timeout_seconds'), request.stopTimeoutSeconds, 'at most 86400 (a day)');
  }
  const cpuShares = int64Field(f('cpu_shares'), request.cpuShares, 0);
  const cpuQuota = int64Field(f('cpu_quota'), request.cpuQuota, 0);
  if (cpuQuota > 0 && cpuQuota < 1000) throw InvalidArgumentError.field(f('cpu_quota'), request.cpuQuota, 'at least 1000 microseconds (or 0 for none)');
  const cpuPeriod = int64Field(f('cpu_period'), request.cpuPeriod, 0);
  if (cpuPeriod !== 0 && (cpuPeriod < 1000 || cpuPeriod > 1_000_000)) throw InvalidArgumentError.field(f('cpu_period'), request.cpuPeriod, 'must be 1000 to 1000000 microseconds (or 0 for the default)');
  if (request.cpusetCpus && !cpusetPattern.test(request.cpusetCpus)) {
    throw InvalidArgumentError.field(f('cpuset_cpus'), request.cpusetCpus, 'expected CPU numbers and ranges, e.g. 0-3 or 0,2');
  }
  const memory = int64Field(f('memory_bytes'), request.memoryBytes, 0);
  const memoryReservationBytes = int64Field(f('memory_reservation_bytes'), request.memoryReservationBytes, 0);
  if (memory > 0 && memoryReservationBytes > memory) {
    throw InvalidArgumentError.field(f('memory_reservation_bytes'), request.memoryReservationBytes, `must not be above memory_bytes (${request.memoryBytes})`);
  }
  const memorySwapBytes = int64Field(f('memory_swap_bytes'), request.memorySwapBytes, -1);
  if (memorySwapBytes !== 0 && memory === 0) throw InvalidArgumentError.field(f('memory_swap_bytes'), request.memorySwapBytes, 'needs memory_bytes (a memory limit) too');
  if (memorySwapBytes > 0 && memorySwapBytes < memory) throw InvalidArgumentError.field(f('memory_swap_bytes'), request.memorySwapBytes, `must be at least memory_bytes (${request.memoryBytes}), or -1 for unlimited swap`);
  const pidsLimit = int64Field(f('pids_limit'), request.pidsLimit, -1);
  return { mounts, cpuShares, cpuQuota, cpuPeriod, memoryReservationBytes, memorySwapBytes, pidsLimit, ulimits };
}
