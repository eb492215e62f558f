import { InvalidArgumentError } from '@flotilla/grpc';
import type { Container, CreateContainerRequest, EngineInfo, Image, Network, PortBinding, Volume } from '@flotilla/proto';
import type {
  ContainerInspectReply,
  DockerCreateBody,
  DockerInfoReply,
  ImageReply,
  NegotiatedApi,
  NetworkReply,
  VolumeReply,
} from '../docker/docker-backend';
import { humanDuration } from '@flotilla/time';

/** Thrown when an engine's reply lacks what the agent needs; the engine is then reported unreachable. */
export class BadEngineReplyError extends Error {}

const zeroTime = '0001-01-01T00:00:00Z';

function time(value: string | number | undefined): Date | undefined {
  if (value === undefined || value === '' || value === zeroTime) return undefined;
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) || date.getTime() <= 0 ? undefined : date;
}

function int64(value: number | undefined): string {
  return Number.isFinite(value) ? String(Math.trunc(value as number)) : '0';
}

function labels(value: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Built-in labels users constrain on; engine labels cannot override them. */
export const builtinLabelKeys = ['storagedriver', 'kernelversion', 'operatingsystem', 'ostype'] as const;

export function engineInfoFrom(info: DockerInfoReply, api: NegotiatedApi): EngineInfo {
  if (typeof info.ID !== 'string' || info.ID === '') throw new BadEngineReplyError('engine info has no ID');
  const cpus = Number(info.NCPU);
  const memory = Number(info.MemTotal);
  if (!Number.isFinite(cpus) || !Number.isFinite(memory)) throw new BadEngineReplyError(`engine info has no NCPU or MemTotal (${info.NCPU}, ${info.MemTotal})`);
  const engineLabels: Record<string, string> = {};
  for (const entry of info.Labels ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) engineLabels[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  Object.assign(engineLabels, {
    storagedriver: info.Driver ?? '',
    kernelversion: info.KernelVersion ?? '',
    operatingsystem: info.OperatingSystem ?? '',
    ostype: info.OSType ?? '',
  });
  return {
    id: info.ID,
    name: info.Name ?? '',
    cpus: int64(cpus),
    memoryBytes: int64(memory),
    labels: engineLabels,
    serverVersion: info.ServerVersion ?? '',
    apiVersion: api.apiVersion,
    engineMaxApiVersion: api.engineMaxApiVersion,
    operatingSystem: info.OperatingSystem ?? '',
    kernelVersion: info.KernelVersion ?? '',
    architecture: info.Architecture ?? '',
    storageDriver: info.Driver ?? '',
    systemTime: time(info.SystemTime),
  };
}

/** Docker's `docker ps` status text for a container, as of `now`. */
export function containerStatus(state: ContainerInspectReply['State'], now: number): string {
  const status = state?.Status ?? '';
  const since = (at: string | undefined) => {
    const t = time(at);
    return humanDuration(t ? Math.max(0, now - t.getTime()) : 0);
  };
  switch (status) {
    case 'running': {
      const health = state?.Health?.Status;
      return `Up ${since(state?.StartedAt)}${health ? ` (${health})` : ''}`;
    }
    case 'paused':
      return `Up ${since(state?.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${state?.ExitCode ?? 0}) ${since(state?.FinishedAt)} ago`;
    case 'exited':
      return time(state?.FinishedAt) ? `Exited (${state?.ExitCode ?? 0}) ${since(state?.FinishedAt)} ago` : 'Created';
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

function portBindings(reply: ContainerInspectReply['HostConfig']): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, bindings] of Object.entries(reply?.PortBindings ?? {})) {
    const [port, protocol = 'tcp'] = key.split('/');
    const containerPort = Number(port);
    if (!Number.isInteger(containerPort)) continue;
    for (const b of bindings ?? [{}]) {
      out.push({ containerPort, protocol, hostIp: b.HostIp ?? '', hostPort: Number(b.HostPort) || 0 });
    }
  }
  return out;
}

export function containerFrom(reply: ContainerInspectReply, now: number): Container {
  if (typeof reply.Id !== 'string' || reply.Id === '') throw new BadEngineReplyError('container inspect has no Id');
  return {
    id: reply.Id,
    names: reply.Name ? [reply.Name.replace(/^\//, '')] : [],
    image: reply.Config?.Image ?? '',
    imageId: reply.Image ?? '',
    command: [reply.Path ?? '', ...(reply.Args ?? [])].filter((part, i) => i > 0 || part !== ''),
    state: reply.State?.Status ?? '',
    status: containerStatus(reply.State, now),
    labels: labels(reply.Config?.Labels),
    nanoCpus: int64(reply.HostConfig?.NanoCpus),
    cpuShares: int64(reply.HostConfig?.CpuShares),
    memoryBytes: int64(reply.HostConfig?.Memory),
    portBindings: portBindings(reply.HostConfig),
    networkMode: reply.HostConfig?.NetworkMode ?? '',
    created: time(reply.Created),
    exitCode: reply.State?.ExitCode ?? 0,
    startedAt: time(reply.State?.StartedAt),
    finishedAt: time(reply.State?.FinishedAt),
    restartPolicy: reply.HostConfig?.RestartPolicy?.Name ?? '',
  };
}

export function imageFrom(reply: ImageReply): Image | null {
  if (typeof reply.Id !== 'string' || reply.Id === '') return null;
  return {
    id: reply.Id,
    repoTags: (reply.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    repoDigests: (reply.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    sizeBytes: int64(reply.Size),
    created: time(reply.Created),
    labels: labels(reply.Labels),
  };
}

export function networkFrom(reply: NetworkReply): Network | null {
  if (typeof reply.Id !== 'string' || reply.Id === '') return null;
  return { id: reply.Id, name: reply.Name ?? '', driver: reply.Driver ?? '', scope: reply.Scope ?? '', labels: labels(reply.Labels) };
}

export function volumeFrom(reply: VolumeReply): Volume | null {
  if (typeof reply.Name !== 'string' || reply.Name === '') return null;
  return { name: reply.Name, driver: reply.Driver ?? '', mountpoint: reply.Mountpoint ?? '', labels: labels(reply.Labels) };
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
  if (request.name && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(request.name)) {
    throw InvalidArgumentError.field('name', request.name, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
  }
  request.env.forEach((entry, i) => {
    if (!entry.includes('=') || entry.startsWith('=')) throw InvalidArgumentError.field(`env[${i}]`, entry, 'expected KEY=VALUE');
  });
  const nanoCpus = nonNegative('nano_cpus', request.nanoCpus);
  const cpuShares = nonNegative('cpu_shares', request.cpuShares);
  const memory = nonNegative('memory_bytes', request.memoryBytes);
  if (memory > 0 && memory < 6 * 1024 * 1024) throw InvalidArgumentError.field('memory_bytes', request.memoryBytes, 'Docker needs at least 6 MiB');
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
    HostConfig: {
      NanoCpus: nanoCpus,
      CpuShares: cpuShares,
      Memory: memory,
      PortBindings: bindings,
      ...(request.networkMode ? { NetworkMode: request.networkMode } : {}),
      ...(policy ? { RestartPolicy: { Name: policy, MaximumRetryCount: request.restartPolicy?.maximumRetryCount ?? 0 } } : {}),
    },
  };
}
