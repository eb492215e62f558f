import { InvalidArgumentError } from '@flotilla/errors';
import type { Container, EngineInfo, ExecState, Image, Network, PathStat, PortBinding, Volume } from '@flotilla/proto';
import type { CreateContainerRequest } from '@flotilla/proto/agent';
import type {
  ContainerInspectReply,
  DockerCreateBody,
  DockerMount,
  DockerInfoReply,
  ExecInspectReply,
  ImageReply,
  NegotiatedApi,
  NetworkReply,
  PathStatReply,
  VolumeReply,
} from '../docker/docker-backend';
import { humanDuration } from '@flotilla/time';
import { capabilityProblem, checkContainerOptions, containerNamePattern, normaliseCapability, parseBind, parseDevice, type ParsedMount } from '@flotilla/policy';

/** Thrown when an engine's reply lacks what the agent needs; the engine is then reported unreachable. */
export class BadEngineReplyError extends Error {}

/*
 * Caps on what one item (container, image, network, volume, engine, event) may carry. An engine's
 * reply is outside input: without them a single container (2 MiB of labels, 60,000 published
 * ports, a huge command line) would make a Watch message over the 1 MiB the contract promises.
 * What is over a cap is dropped or cut, never the item itself, and the item is marked with the
 * label `com.flotilla.truncated` (in events, the attribute of that name), whose value lists what
 * was cut, comma-separated and sorted: "labels", "command", "portBindings", "repoTags",
 * "repoDigests", "attributes" or "strings" (some text field cut to `stringBytes`). The marker is
 * outside the label cap; it is short.
 *
 * With these caps one container encodes to well under 256 KiB (labels 64 KiB, command 16 KiB,
 * 1,024 port bindings of at most ~100 bytes, nine text fields of at most 4 KiB), so a Watch
 * message always has room for it.
 */
export const truncatedLabel = 'com.flotilla.truncated';

export const itemCaps = {
  /**
   * Labels of one item, counted as encoded: key + value in UTF-8 plus 16 bytes per label. When
   * they are over, the smallest labels are kept (ties by key) and the rest dropped whole: a value
   * is never cut, so a kept label is always the engine's own.
   */
  labelBytes: 64 * 1024,
  /** A list of strings (command, names, repo tags, repo digests): UTF-8 plus 8 bytes per entry; entries past it are dropped. */
  listBytes: 16 * 1024,
  /** Any single text field (image, status, network mode, mount point, event action, ...), cut at a character boundary. */
  stringBytes: 4 * 1024,
  /** Port bindings of one container; a binding whose host IP or protocol is not plausible is skipped. */
  portBindings: 1024,
  /** Longest container, image or network ID accepted; Docker's are 64 hex digits (71 with "sha256:"). */
  idBytes: 256,
} as const;

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces lone surrogates (JSON can carry "\ud800") with U+FFFD, as a UTF-8 encoder would. */
export function wellFormed(text: string): string {
  return /[\ud800-\udfff]/.test(text) ? text.replace(loneSurrogate, '\ufffd') : text;
}

/** `text` cut to at most `maxBytes` of UTF-8, at a character boundary. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Collects what an item lost to the caps, to mark it. */
export class Cuts {
  private readonly what = new Set<string>();

  get cutSomething(): boolean {
    return this.what.size > 0;
  }

  add(field: string): void {
    this.what.add(field);
  }

  /** A text field: non-strings become '', lone surrogates U+FFFD, and the result is capped. */
  text(value: unknown, maxBytes: number = itemCaps.stringBytes): string {
    if (typeof value !== 'string') return '';
    const text = cutUtf8(wellFormed(value), maxBytes);
    if (text.length !== value.length) {
      // wellFormed keeps the length; a shorter text was cut.
      this.add('strings');
    }
    return text;
  }

  /** A list of strings, non-strings skipped, entries past `itemCaps.listBytes` dropped. */
  list(field: string, values: unknown): string[] {
    if (!Array.isArray(values)) return [];
    const out: string[] = [];
    let bytes = 0;
    for (const value of values) {
      if (typeof value !== 'string') continue;
      const text = wellFormed(value);
      const size = Buffer.byteLength(text, 'utf8') + 8;
      if (bytes + size > itemCaps.listBytes) {
        this.add(field);
        break;
      }
      bytes += size;
      out.push(text);
    }
    return out;
  }

  /** Labels (or event attributes): string values only, within `itemCaps.labelBytes`. */
  labels(field: string, value: unknown): Record<string, string> {
    const entries: Array<[string, string, number]> = [];
    let total = 0;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') continue;
        const key = wellFormed(k);
        const text = wellFormed(v);
        const size = Buffer.byteLength(key, 'utf8') + Buffer.byteLength(text, 'utf8') + 16;
        entries.push([key, text, size]);
        total += size;
      }
    }
    if (total > itemCaps.labelBytes) {
      this.add(field);
      entries.sort((a, b) => a[2] - b[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      let kept = 0;
      let i = 0;
      while (i < entries.length && kept + entries[i][2] <= itemCaps.labelBytes) kept += entries[i++][2];
      entries.length = i;
    }
    const out: Record<string, string> = {};
    for (const [k, v] of entries) out[k] = v;
    return out;
  }

  /** Adds the marker label to `labels` when anything was cut. */
  mark(labels: Record<string, string>): Record<string, string> {
    if (this.cutSomething) labels[truncatedLabel] = [...this.what].sort().join(',');
    return labels;
  }
}

/** An ID as Docker writes them: printable ASCII, no spaces, not absurdly long. */
function plausibleId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= itemCaps.idBytes && /^[\x21-\x7e]+$/.test(value);
}

const zeroTime = '0001-01-01T00:00:00Z';
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** The last moment a protobuf Timestamp can hold (9999-12-31T23:59:59.999Z). */
const maxTimeMs = 253402300799999;

/**
 * Docker's time (RFC 3339 text, or Unix seconds for images) as a Date; undefined when unset,
 * not a time, not after 1970 or past what a protobuf Timestamp holds.
 */
export function time(value: unknown): Date | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value * 1000;
  // Docker writes RFC 3339; Date.parse alone would take almost any text ("-1" is 2001).
  else if (typeof value === 'string' && value !== zeroTime && rfc3339.test(value)) ms = Date.parse(value);
  else return undefined;
  return Number.isFinite(ms) && ms > 0 && ms <= maxTimeMs ? new Date(Math.trunc(ms)) : undefined;
}

/** A number from a string or number; NaN for anything else (Number() throws on some objects). */
function numberFrom(value: unknown): number {
  return typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
}

/** A count or size for an int64 field: whole, at least `min`, and exact as a JS number. */
function int64(value: unknown, min = 0): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '0';
  const n = Math.trunc(value);
  if (n < min) return String(min);
  return String(Math.min(n, Number.MAX_SAFE_INTEGER));
}

/** An exit code for the int32 field. Windows codes such as 0xC0000005 come as unsigned: wrap them as Docker's int32 does. */
function int32(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 32) return 0;
  return value | 0;
}

/** Built-in labels users constrain on; engine labels cannot override them. */
export const builtinLabelKeys = ['storagedriver', 'kernelversion', 'operatingsystem', 'ostype'] as const;

export function engineInfoFrom(info: DockerInfoReply, api: NegotiatedApi): EngineInfo {
  if (typeof info !== 'object' || info === null) throw new BadEngineReplyError('engine info is not an object');
  if (!plausibleId(info.ID)) throw new BadEngineReplyError('engine info has no usable ID');
  const cpus = numberFrom(info.NCPU);
  const memory = numberFrom(info.MemTotal);
  if (!Number.isFinite(cpus) || !Number.isFinite(memory)) throw new BadEngineReplyError(`engine info has no NCPU or MemTotal (${cpus}, ${memory})`);
  const cuts = new Cuts();
  const raw: Record<string, string> = {};
  for (const entry of Array.isArray(info.Labels) ? info.Labels : []) {
    if (typeof entry !== 'string') continue;
    const eq = entry.indexOf('=');
    if (eq > 0) raw[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const text = (value: unknown) => cuts.text(value);
  const engineLabels = cuts.labels('labels', raw);
  Object.assign(engineLabels, {
    storagedriver: text(info.Driver),
    kernelversion: text(info.KernelVersion),
    operatingsystem: text(info.OperatingSystem),
    ostype: text(info.OSType),
  });
  return {
    id: info.ID,
    name: text(info.Name),
    // Negative values pass: the manager refuses such an engine with a message naming them.
    cpus: int64(cpus, Number.MIN_SAFE_INTEGER),
    memoryBytes: int64(memory, Number.MIN_SAFE_INTEGER),
    labels: cuts.mark(engineLabels),
    serverVersion: text(info.ServerVersion),
    apiVersion: api.apiVersion,
    engineMaxApiVersion: api.engineMaxApiVersion,
    operatingSystem: text(info.OperatingSystem),
    kernelVersion: text(info.KernelVersion),
    architecture: text(info.Architecture),
    storageDriver: text(info.Driver),
    systemTime: time(info.SystemTime),
  };
}

/** Docker's `docker ps` status text for a container, as of `now`. */
export function containerStatus(state: ContainerInspectReply['State'], now: number): string {
  const status = typeof state?.Status === 'string' ? state.Status : '';
  const exitCode = int32(state?.ExitCode);
  const since = (at: unknown) => {
    const t = time(at);
    return humanDuration(t ? Math.max(0, now - t.getTime()) : 0);
  };
  switch (status) {
    case 'running': {
      const health = typeof state?.Health?.Status === 'string' ? cutUtf8(state.Health.Status, 64) : '';
      return `Up ${since(state?.StartedAt)}${health ? ` (${health})` : ''}`;
    }
    case 'paused':
      return `Up ${since(state?.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${exitCode}) ${since(state?.FinishedAt)} ago`;
    case 'exited':
      return time(state?.FinishedAt) ? `Exited (${exitCode}) ${since(state?.FinishedAt)} ago` : 'Created';
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return status;
  }
}

const hostIpBytes = 64;
const knownProtocols = new Set(['tcp', 'udp', 'sctp']);

function portBindings(reply: ContainerInspectReply['HostConfig'], cuts: Cuts): PortBinding[] {
  const out: PortBinding[] = [];
  const all = reply?.PortBindings;
  if (typeof all !== 'object' || all === null) return out;
  for (const [key, bindings] of Object.entries(all)) {
    const [port, protocol = 'tcp'] = key.split('/');
    const containerPort = Number(port);
    // A binding that could not be encoded (uint32) or is not a port is skipped.
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535 || !knownProtocols.has(protocol)) continue;
    for (const b of Array.isArray(bindings) ? bindings : [{}]) {
      const hostIp = typeof b?.HostIp === 'string' ? b.HostIp : '';
      const hostPort = numberFrom(b?.HostPort) || 0;
      if (hostIp.length > hostIpBytes || !Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) continue;
      if (out.length >= itemCaps.portBindings) {
        cuts.add('portBindings');
        return out;
      }
      out.push({ containerPort, protocol, hostIp: wellFormed(hostIp), hostPort });
    }
  }
  return out;
}

/**
 * A container as the agent reports it. Throws BadEngineReplyError only when the reply has no usable
 * ID; every other field is cleaned: missing or mistyped fields take their empty value, times that
 * are not times are unset, numbers out of range are 0, and what is over `itemCaps` is cut and marked.
 */
export function containerFrom(reply: ContainerInspectReply, now: number): Container {
  if (typeof reply !== 'object' || reply === null) throw new BadEngineReplyError('container inspect is not an object');
  const id: unknown = reply.Id;
  if (!plausibleId(id)) throw new BadEngineReplyError(`container inspect has no usable Id (${typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id})`);
  const cuts = new Cuts();
  const state = typeof reply.State === 'object' && reply.State !== null ? reply.State : undefined;
  const config = typeof reply.Config === 'object' && reply.Config !== null ? reply.Config : undefined;
  const host = typeof reply.HostConfig === 'object' && reply.HostConfig !== null ? reply.HostConfig : undefined;
  const name = cuts.text(reply.Name).replace(/^\//, '');
  const args = Array.isArray(reply.Args) ? reply.Args : [];
  const path = typeof reply.Path === 'string' ? reply.Path : '';
  const container: Container = {
    id,
    names: name ? [name] : [],
    image: cuts.text(config?.Image),
    imageId: cuts.text(reply.Image),
    command: cuts.list('command', [path, ...args]).filter((part, i) => i > 0 || part !== ''),
    state: cuts.text(state?.Status, 64),
    status: cuts.text(containerStatus(state, now)),
    labels: cuts.labels('labels', config?.Labels),
    nanoCpus: int64(host?.NanoCpus),
    cpuShares: int64(host?.CpuShares),
    memoryBytes: int64(host?.Memory),
    portBindings: portBindings(host, cuts),
    networkMode: cuts.text(host?.NetworkMode),
    created: time(reply.Created),
    exitCode: int32(state?.ExitCode),
    startedAt: time(state?.StartedAt),
    finishedAt: time(state?.FinishedAt),
    restartPolicy: cuts.text(host?.RestartPolicy?.Name, 64),
  };
  // Marked last, so the marker lists every cut above.
  cuts.mark(container.labels);
  return container;
}

export function imageFrom(reply: ImageReply): Image | null {
  if (typeof reply !== 'object' || reply === null || !plausibleId(reply.Id)) return null;
  const cuts = new Cuts();
  const image: Image = {
    id: reply.Id,
    repoTags: cuts.list('repoTags', reply.RepoTags).filter((t) => t !== '<none>:<none>'),
    repoDigests: cuts.list('repoDigests', reply.RepoDigests).filter((d) => d !== '<none>@<none>'),
    sizeBytes: int64(reply.Size),
    created: time(reply.Created),
    labels: cuts.labels('labels', reply.Labels),
  };
  cuts.mark(image.labels);
  return image;
}

export function networkFrom(reply: NetworkReply): Network | null {
  if (typeof reply !== 'object' || reply === null || !plausibleId(reply.Id)) return null;
  const cuts = new Cuts();
  const network: Network = { id: reply.Id, name: cuts.text(reply.Name), driver: cuts.text(reply.Driver), scope: cuts.text(reply.Scope), labels: cuts.labels('labels', reply.Labels) };
  cuts.mark(network.labels);
  return network;
}

/** Docker's exec inspect; fields it got wrong are left at their zero values. */
export function execStateFrom(reply: ExecInspectReply, execId: string): ExecState {
  const pid = Number(reply.Pid);
  return {
    execId: typeof reply.ID === 'string' ? reply.ID : execId,
    containerId: typeof reply.ContainerID === 'string' ? reply.ContainerID : '',
    running: reply.Running === true,
    exitCode: reply.Running !== true && typeof reply.ExitCode === 'number' && Number.isInteger(reply.ExitCode) ? reply.ExitCode : undefined,
    pid: Number.isSafeInteger(pid) && pid > 0 ? String(pid) : '0',
  };
}

/** Docker's stat of a path in a container; fields it got wrong are left at their zero values. */
export function pathStatFrom(reply: PathStatReply): PathStat {
  const size = Number(reply.size);
  const mode = Number(reply.mode);
  return {
    name: typeof reply.name === 'string' ? reply.name : '',
    size: Number.isSafeInteger(size) && size >= 0 ? String(size) : '0',
    mode: Number.isInteger(mode) && mode >= 0 && mode <= 0xffffffff ? mode : 0,
    modified: time(reply.mtime),
    linkTarget: typeof reply.linkTarget === 'string' ? reply.linkTarget : '',
  };
}

export function volumeFrom(reply: VolumeReply): Volume | null {
  // Volume names are user text, not IDs: any name Docker has, within the string cap.
  if (typeof reply !== 'object' || reply === null || typeof reply.Name !== 'string' || reply.Name === '' || Buffer.byteLength(reply.Name, 'utf8') > itemCaps.stringBytes) return null;
  const cuts = new Cuts();
  const volume: Volume = { name: wellFormed(reply.Name), driver: cuts.text(reply.Driver), mountpoint: cuts.text(reply.Mountpoint), labels: cuts.labels('labels', reply.Labels) };
  cuts.mark(volume.labels);
  return volume;
}

const restartPolicies = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);
const protocols = new Set(['', 'tcp', 'udp', 'sctp']);
const maxInt64 = 9223372036854775807n;

function nonNegative(field: string, value: string): number {
  let n: bigint;
  try {
    n = BigInt(value || '0');
  } catch {
    throw InvalidArgumentError.field(field, value, 'must be a whole number');
  }
  if (n < 0n || n > maxInt64) throw InvalidArgumentError.field(field, value, 'must not be negative');
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw InvalidArgumentError.field(field, value, 'is too large');
  return Number(n);
}

/** Checks a create request and turns it into Docker's create body; bad fields are INVALID_ARGUMENT naming them. */
export function createBodyFrom(request: CreateContainerRequest): DockerCreateBody {
  if (!request.image.trim()) throw InvalidArgumentError.field('image', request.image, 'an image is required');
  if (request.name && !containerNamePattern.test(request.name)) {
    throw InvalidArgumentError.field('name', request.name, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
  }
  request.env.forEach((entry, i) => {
    if (!entry.includes('=') || entry.startsWith('=')) throw InvalidArgumentError.field(`env[${i}]`, entry, 'expected KEY=VALUE');
  });
  const nanoCpus = nonNegative('nano_cpus', request.nanoCpus);
  const cpuShares = nonNegative('cpu_shares', request.cpuShares);
  const memory = nonNegative('memory_bytes', request.memoryBytes);
  if (memory > 0 && memory < 6 * 1024 * 1024) throw InvalidArgumentError.field('memory_bytes', request.memoryBytes, 'Docker needs at least 6 MiB');
  const options = checkContainerOptions(request);
  const policy = request.restartPolicy?.name ?? '';
  if (!restartPolicies.has(policy)) throw InvalidArgumentError.field('restart_policy.name', policy, 'expected no, always, unless-stopped or on-failure');
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  request.portBindings.forEach((p, i) => {
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
      throw InvalidArgumentError.field(`port_bindings[${i}].container_port`, p.containerPort, 'must be 1 to 65535');
    }
    if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535) {
      throw InvalidArgumentError.field(`port_bindings[${i}].host_port`, p.hostPort, 'must be 0 to 65535');
    }
    if (!protocols.has(p.protocol)) throw InvalidArgumentError.field(`port_bindings[${i}].protocol`, p.protocol, 'expected tcp, udp or sctp');
    const key = `${p.containerPort}/${p.protocol || 'tcp'}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : '' });
  });
  return {
    ...(request.name ? { name: request.name } : {}),
    Image: request.image,
    ...(request.command.length ? { Cmd: request.command } : {}),
    ...(request.entrypoint.length ? { Entrypoint: request.entrypoint } : {}),
    Env: request.env,
    Labels: request.labels,
    ExposedPorts: exposed,
    ...(request.user ? { User: request.user } : {}),
    ...(request.workingDir ? { WorkingDir: request.workingDir } : {}),
    ...(request.tty ? { Tty: true } : {}),
    ...(request.openStdin ? { OpenStdin: true } : {}),
    ...(request.openStdin && request.stdinOnce ? { StdinOnce: true } : {}),
    ...(request.hostname ? { Hostname: request.hostname } : {}),
    ...(request.healthCheck ? { Healthcheck: healthcheckFrom(request.healthCheck) } : {}),
    ...(request.stopSignal ? { StopSignal: request.stopSignal } : {}),
    ...(request.stopTimeoutSeconds !== undefined ? { StopTimeout: request.stopTimeoutSeconds } : {}),
    HostConfig: {
      NanoCpus: nanoCpus,
      CpuShares: cpuShares,
      Memory: memory,
      PortBindings: bindings,
      ...(request.networkMode ? { NetworkMode: request.networkMode } : {}),
      ...(policy ? { RestartPolicy: { Name: policy, MaximumRetryCount: request.restartPolicy?.maximumRetryCount ?? 0 } } : {}),
      ...hostAccessFrom(request),
      ...(options.mounts.length ? { Mounts: options.mounts.map(dockerMount) } : {}),
      ...(Object.keys(request.tmpfs).length ? { Tmpfs: { ...request.tmpfs } } : {}),
      ...(request.dns.length ? { Dns: [...request.dns] } : {}),
      ...(request.extraHosts.length ? { ExtraHosts: [...request.extraHosts] } : {}),
      ...(request.logConfig && (request.logConfig.driver || Object.keys(request.logConfig.options).length) ? { LogConfig: { Type: request.logConfig.driver, Config: { ...request.logConfig.options } } } : {}),
      ...(options.ulimits.length ? { Ulimits: options.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) } : {}),
      ...(request.autoRemove ? { AutoRemove: true } : {}),
      ...(options.cpuQuota ? { CpuQuota: options.cpuQuota } : {}),
      ...(options.cpuPeriod ? { CpuPeriod: options.cpuPeriod } : {}),
      ...(request.cpusetCpus ? { CpusetCpus: request.cpusetCpus } : {}),
      ...(options.memoryReservationBytes ? { MemoryReservation: options.memoryReservationBytes } : {}),
      ...(options.memorySwapBytes ? { MemorySwap: options.memorySwapBytes } : {}),
      ...(options.pidsLimit ? { PidsLimit: options.pidsLimit } : {}),
    },
  };
}

const nanosPerMs = 1_000_000;

/** Docker's Healthcheck: durations in nanoseconds; a zero value is left out, so the image's applies. */
export function healthcheckFrom(h: NonNullable<CreateContainerRequest['healthCheck']>): NonNullable<DockerCreateBody['Healthcheck']> {
  return {
    ...(h.test.length ? { Test: [...h.test] } : {}),
    ...(h.intervalMs ? { Interval: h.intervalMs * nanosPerMs } : {}),
    ...(h.timeoutMs ? { Timeout: h.timeoutMs * nanosPerMs } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
    ...(h.startPeriodMs ? { StartPeriod: h.startPeriodMs * nanosPerMs } : {}),
  };
}

/** A checked mount in Docker's HostConfig.Mounts form; a bind's source is the normalised path the policy checked. */
export function dockerMount(m: ParsedMount): DockerMount {
  switch (m.type) {
    case 'volume':
      return { Type: 'volume', ...(m.source ? { Source: m.source } : {}), Target: m.target, ReadOnly: m.readOnly, ...(m.noCopy ? { VolumeOptions: { NoCopy: true } } : {}) };
    case 'bind':
      return { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly, ...(m.propagation ? { BindOptions: { Propagation: m.propagation } } : {}) };
    case 'tmpfs':
      return { Type: 'tmpfs', Target: m.target, ReadOnly: m.readOnly, ...(m.sizeBytes || m.mode ? { TmpfsOptions: { ...(m.sizeBytes ? { SizeBytes: m.sizeBytes } : {}), ...(m.mode ? { Mode: m.mode } : {}) } } : {}) };
  }
}

/**
 * The host access a create asks for (checked against the container policy before this), in
 * Docker's words. Devices and binds go to Docker as the policy read them, normalised, so Docker
 * mounts exactly the paths that were checked.
 */
function hostAccessFrom(request: CreateContainerRequest): Partial<DockerCreateBody['HostConfig']> {
  const capabilities = request.capAdd.map((text, i) => {
    const capability = normaliseCapability(text);
    const problem = capabilityProblem(capability);
    if (problem) throw InvalidArgumentError.field(`capAdd[${i}]`, text, problem);
    return capability;
  });
  const devices = request.devices.map((text, i) => parseDevice(`devices[${i}]`, text));
  const binds = request.binds.map((text, i) => {
    const bind = parseBind(`binds[${i}]`, text);
    return [bind.source, bind.target, ...(bind.options.length ? [bind.options.join(',')] : [])].join(':');
  });
  return {
    ...(request.privileged ? { Privileged: true } : {}),
    ...(request.pidMode.trim() ? { PidMode: request.pidMode.trim() } : {}),
    ...(request.ipcMode.trim() ? { IpcMode: request.ipcMode.trim() } : {}),
    ...(request.utsMode.trim() ? { UTSMode: request.utsMode.trim() } : {}),
    ...(capabilities.length ? { CapAdd: capabilities } : {}),
    ...(devices.length ? { Devices: devices.map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.cgroupPermissions })) } : {}),
    ...(binds.length ? { Binds: binds } : {}),
  };
}
