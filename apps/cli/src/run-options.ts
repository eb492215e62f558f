import { flag } from '@flotilla/config';
import type { HealthCheck, LogConfig, Mount, Ulimit } from '@flotilla/proto';
import type { ContainerSpec } from '@flotilla/proto/cluster';
import type { OptionValues } from './args';
import { UsageError } from './errors';
import { parseMemory } from './output/units';

/**
 * The `docker run` flags beyond placement and host access, with the docker CLI's spelling and
 * parsing: mounts, tmpfs, user, working directory, terminal, stdin, host name, DNS, extra hosts,
 * health check, logging, ulimits, stop signal and timeout, and the finer resources. Only the
 * spec fields: `-i` keeps stdin open, but nothing attaches to it yet.
 */
export const runSpecOptions = {
  mount: flag('string', { repeat: true, placeholder: 'type=TYPE,source=SRC,target=DST[,readonly][,...]', description: 'Mount a volume (type=volume, the default), a host path (type=bind, needs the container policy) or a tmpfs (type=tmpfs); docker\'s --mount keys' }),
  tmpfs: flag('string', { repeat: true, placeholder: 'PATH[:OPTIONS]', description: 'Mount a tmpfs at PATH, e.g. /run:rw,size=64m' }),
  user: flag('string', { short: 'u', placeholder: 'USER[:GROUP]', description: 'User (name or UID) and group to run as' }),
  workdir: flag('string', { short: 'w', placeholder: 'DIR', description: 'Working directory in the container (absolute)' }),
  dns: flag('string', { repeat: true, placeholder: 'IP', description: 'DNS server for the container' }),
  'add-host': flag('string', { repeat: true, placeholder: 'HOST:IP', description: 'Add an /etc/hosts entry (IP may be host-gateway)' }),
  'health-cmd': flag('string', { placeholder: 'CMD', description: 'Command to check health, run with the container\'s shell' }),
  'health-interval': flag('string', { placeholder: 'DURATION', description: 'Time between health checks, e.g. 30s, 1m30s (default: the image\'s, else 30s)' }),
  'health-timeout': flag('string', { placeholder: 'DURATION', description: 'Longest a health check may take (default: the image\'s, else 30s)' }),
  'health-retries': flag('string', { placeholder: 'N', description: 'Consecutive failures that make the container unhealthy (default: 3)' }),
  'health-start-period': flag('string', { placeholder: 'DURATION', description: 'Start-up time whose failures do not count (default: 0s)' }),
  'no-healthcheck': flag('boolean', { description: 'Disable the image\'s HEALTHCHECK' }),
  'log-driver': flag('string', { placeholder: 'DRIVER', description: 'Log driver: json-file, local, none; others need the container policy ("logDrivers")' }),
  'log-opt': flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'Log driver option, e.g. max-size=10m' }),
  ulimit: flag('string', { repeat: true, placeholder: 'NAME=SOFT[:HARD]', description: 'Resource limit, e.g. nofile=1024:2048 (-1 is unlimited)' }),
  'stop-signal': flag('string', { placeholder: 'SIGNAL', description: 'Signal that stops the container (default: the image\'s, else SIGTERM)' }),
  'stop-timeout': flag('string', { placeholder: 'SECONDS', description: 'Seconds between the stop signal and SIGKILL (default: 10)' }),
  'cpu-shares': flag('string', { placeholder: 'N', description: 'Relative CPU weight (default 1024); not reserved' }),
  'cpu-quota': flag('string', { placeholder: 'MICROSECONDS', description: 'CPU time per --cpu-period; not reserved' }),
  'cpu-period': flag('string', { placeholder: 'MICROSECONDS', description: 'CPU period for --cpu-quota (default 100000)' }),
  'cpuset-cpus': flag('string', { placeholder: 'CPUS', description: 'CPUs the container may use, e.g. 0-3 or 0,2' }),
  'memory-reservation': flag('string', { placeholder: 'SIZE', description: 'Soft memory limit, e.g. 32m; not reserved' }),
  'memory-swap': flag('string', { placeholder: 'SIZE', description: 'Memory plus swap, e.g. 1g; -1 for unlimited swap (needs -m)' }),
  'pids-limit': flag('string', { placeholder: 'N', description: 'Most processes in the container (-1: unlimited)' }),
};

/** Flags of `run` only (`explain` keeps -h for help): what does not change placement. */
export const runOnlyOptions = {
  tty: flag('boolean', { short: 't', description: 'Give the container a terminal (its output is then one stream)' }),
  interactive: flag('boolean', { short: 'i', description: 'Keep the container\'s stdin open; in the foreground, send this input to it (its end closes the container\'s)' }),
  hostname: flag('string', { short: 'h', placeholder: 'NAME', description: 'Container host name (in run, -h is this, as in docker; --help shows help)' }),
};

export type RunSpecValues = OptionValues<typeof runSpecOptions> & Partial<OptionValues<typeof runOnlyOptions>>;

const yes = new Set(['', 'true', '1']);
const no = new Set(['false', '0']);

/**
 * docker's `--mount`: comma-separated KEY[=VALUE]: type (volume, bind, tmpfs), source|src,
 * target|destination|dst, readonly|ro[=true|false], volume-nocopy, bind-propagation,
 * tmpfs-size, tmpfs-mode. Keys the cluster does not offer (volume-driver, volume-opt: a volume
 * driver option can reach the host) are refused here.
 */
export function parseMount(text: string): Mount {
  const bad = (why: string) => new UsageError(`--mount ${JSON.stringify(text)}: ${why}`);
  const mount: Mount = { type: 'volume', source: '', target: '', readOnly: false, options: {} };
  for (const field of text.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    const needValue = () => {
      if (eq < 0 || value === '') throw bad(`${key} needs a value (${key}=VALUE)`);
      return value;
    };
    const bool = () => {
      if (yes.has(value.toLowerCase())) return true;
      if (no.has(value.toLowerCase())) return false;
      throw bad(`${key}=${value}: expected true or false`);
    };
    switch (key) {
      case 'type':
        mount.type = needValue();
        break;
      case 'source':
      case 'src':
        mount.source = needValue();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        mount.target = needValue();
        break;
      case 'readonly':
      case 'ro':
        mount.readOnly = bool();
        break;
      case 'volume-nocopy':
        mount.options.nocopy = String(bool());
        break;
      case 'bind-propagation':
        mount.options.propagation = needValue();
        break;
      case 'tmpfs-size':
        mount.options.size = needValue();
        break;
      case 'tmpfs-mode':
        mount.options.mode = needValue();
        break;
      default:
        throw bad(`unknown key ${JSON.stringify(key)} (expected type, source, target, readonly, volume-nocopy, bind-propagation, tmpfs-size, tmpfs-mode)`);
    }
  }
  if (!mount.target) throw bad('a target is required (target=/PATH)');
  return mount;
}

/** docker's `--tmpfs PATH[:OPTIONS]`, into the spec's map. */
export function parseTmpfs(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of entries) {
    const colon = text.indexOf(':');
    const path = colon < 0 ? text : text.slice(0, colon);
    if (!path.startsWith('/')) throw new UsageError(`--tmpfs ${JSON.stringify(text)}: the path must be absolute (PATH[:OPTIONS])`);
    out[path] = colon < 0 ? '' : text.slice(colon + 1);
  }
  return out;
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as docker takes it (`30s`, `1m30s`, `500ms`, `0`) in whole milliseconds. */
export function parseDuration(text: string, flagName: string): number {
  const bad = () => new UsageError(`${flagName} ${JSON.stringify(text)}: expected a duration such as 30s, 1m30s or 500ms`);
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * durationUnits[m[2]];
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length) throw bad();
  const whole = Math.round(ms);
  if (whole > 86_400_000) throw new UsageError(`${flagName} ${JSON.stringify(text)}: at most 24h`);
  if (ms > 0 && whole < 1) throw new UsageError(`${flagName} ${JSON.stringify(text)}: at least 1ms`);
  return whole;
}

export function integer(text: string, flagName: string, min: number): string {
  if (!/^-?\d+$/.test(text.trim()) || BigInt(text.trim()) < BigInt(min)) throw new UsageError(`${flagName} ${JSON.stringify(text)}: expected a whole number${min === 0 ? '' : ` of at least ${min}`}`);
  return BigInt(text.trim()).toString();
}

/** `--ulimit NAME=SOFT[:HARD]`; HARD defaults to SOFT, as in docker. */
export function parseUlimit(text: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--ulimit ${JSON.stringify(text)}: expected NAME=SOFT[:HARD], e.g. nofile=1024:2048`);
  return { name: m[1], soft: m[2], hard: m[3] ?? m[2] };
}

function healthCheck(values: RunSpecValues): HealthCheck | undefined {
  const tuned = values['health-cmd'] !== undefined || values['health-interval'] !== undefined || values['health-timeout'] !== undefined || values['health-retries'] !== undefined || values['health-start-period'] !== undefined;
  if (values['no-healthcheck']) {
    if (tuned) throw new UsageError('--no-healthcheck conflicts with --health-* options');
    return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  }
  if (!tuned) return undefined;
  const duration = (name: 'health-interval' | 'health-timeout' | 'health-start-period') => (values[name] === undefined ? 0 : parseDuration(values[name]!, `--${name}`));
  const retries = values['health-retries'] === undefined ? 0 : Number(integer(values['health-retries'], '--health-retries', 0));
  return {
    test: values['health-cmd'] !== undefined ? ['CMD-SHELL', values['health-cmd']] : [],
    intervalMs: duration('health-interval'),
    timeoutMs: duration('health-timeout'),
    retries,
    startPeriodMs: duration('health-start-period'),
  };
}

function logConfig(values: RunSpecValues): LogConfig | undefined {
  if (values['log-driver'] === undefined && values['log-opt'].length === 0) return undefined;
  const options: Record<string, string> = {};
  for (const entry of values['log-opt']) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--log-opt ${JSON.stringify(entry)}: expected KEY=VALUE`);
    options[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { driver: values['log-driver'] ?? '', options };
}

/** The spec fields of these flags. */
export function runSpecFields(values: RunSpecValues): Pick<
  ContainerSpec,
  | 'mounts' | 'tmpfs' | 'user' | 'workingDir' | 'tty' | 'openStdin' | 'hostname' | 'dns' | 'extraHosts' | 'healthCheck' | 'logConfig' | 'ulimits' | 'stopSignal'
  | 'stopTimeoutSeconds' | 'cpuShares' | 'cpuQuota' | 'cpuPeriod' | 'cpusetCpus' | 'memoryReservationBytes' | 'memorySwapBytes' | 'pidsLimit'
> {
  const swap = values['memory-swap'];
  return {
    mounts: values.mount.map(parseMount),
    tmpfs: parseTmpfs(values.tmpfs),
    user: values.user ?? '',
    workingDir: values.workdir ?? '',
    tty: values.tty ?? false,
    openStdin: values.interactive ?? false,
    hostname: values.hostname ?? '',
    dns: values.dns,
    // docker 20.10 writes HOST:IP; later ones take HOST=IP too.
    extraHosts: values['add-host'].map((h) => (/^[^:=]+=/.test(h) ? h.replace('=', ':') : h)),
    healthCheck: healthCheck(values),
    logConfig: logConfig(values),
    ulimits: values.ulimit.map(parseUlimit),
    stopSignal: values['stop-signal'] ?? '',
    stopTimeoutSeconds: values['stop-timeout'] === undefined ? undefined : Number(integer(values['stop-timeout'], '--stop-timeout', 0)),
    cpuShares: values['cpu-shares'] === undefined ? '0' : integer(values['cpu-shares'], '--cpu-shares', 0),
    cpuQuota: values['cpu-quota'] === undefined ? '0' : integer(values['cpu-quota'], '--cpu-quota', 0),
    cpuPeriod: values['cpu-period'] === undefined ? '0' : integer(values['cpu-period'], '--cpu-period', 0),
    cpusetCpus: values['cpuset-cpus'] ?? '',
    memoryReservationBytes: values['memory-reservation'] === undefined ? '0' : String(parseMemory(values['memory-reservation'], '--memory-reservation')),
    memorySwapBytes: swap === undefined ? '0' : swap.trim() === '-1' ? '-1' : String(parseMemory(swap, '--memory-swap')),
    pidsLimit: values['pids-limit'] === undefined ? '0' : integer(values['pids-limit'], '--pids-limit', -1),
  };
}
