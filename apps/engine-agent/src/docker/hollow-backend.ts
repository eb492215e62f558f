import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, type Duplex } from 'node:stream';
import { AlreadyExistsError, CancelledError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@flotilla/errors';
import { taggedReference } from '@flotilla/policy';
import { systemClock, type Clock } from '@flotilla/time';
import { negotiateApiVersion } from './api-version';
import type {
  ContainerInspectReply,
  DockerBackend,
  DockerCreateBody,
  DockerExecBody,
  ExecInspectReply,
  DockerInfoReply,
  DockerStatsReply,
  DockerUpdateBody,
  ImageDeleteReply,
  ImageInspectReply,
  ImageReply,
  LogOptions,
  NegotiatedApi,
  NetworkReply,
  VolumeReply,
  DockerVolumeCreateBody,
  DockerNetworkCreateBody,
  TopReply,
  WaitCondition,
  WaitReply,
} from './docker-backend';

export interface HollowEngineOptions {
  id?: string;
  name?: string;
  cpus?: number;
  memoryBytes?: number;
  labels?: Record<string, string>;
  apiVersion?: string;
  images?: string[];
  clock?: Clock;
  /**
   * Events kept for `since` replay, oldest dropped first. Default 256, dockerd's own buffer. At
   * about 470 bytes an event that is ~120 KB an engine once full; benchmarks that host 1,000
   * engines a process and never take one down (so no agent resubscribes with `since`) keep fewer.
   */
  eventBufferSize?: number;
}

interface HollowEvent {
  line: string;
  timeNano: bigint;
}

/**
 * A Docker engine in memory (kubemark's "hollow node"): the real agent code runs over it, so
 * thousands of engines fit in one process for scale benchmarks, and the monitor's unit tests get
 * an engine whose outages and replies they control. It keeps Docker's semantics the agent relies on:
 * events for every change, `since` replay of the last 256 events (`eventBufferSize`), 404/409-style errors.
 */
export class HollowDockerBackend implements DockerBackend {
  readonly endpoint: string;
  private readonly containers = new Map<string, ContainerInspectReply>();
  private readonly images = new Map<string, ImageReply>();
  private readonly volumes = new Map<string, VolumeReply>();
  private readonly streams = new Set<PassThrough>();
  /** Ends each open stats stream (when the engine goes down). */
  private readonly statsStreams = new Set<() => void>();
  /** What `containerLogs` answers, per container ID; none: no output. */
  private readonly logs = new Map<string, (options: LogOptions) => Readable>();
  /** The newest `eventBufferSize` events, for `since` replay. */
  private readonly log: HollowEvent[] = [];
  private readonly eventBufferSize: number;
  /** Waits under way: each hears every exit and removal of its container. */
  private readonly waiters = new Set<{ id: string; removedOnly: boolean; done: (reply: WaitReply) => void }>();
  private readonly clock: Clock;
  private lastNano = 0n;
  private down: string | undefined;
  /** Every `events()` call, for tests that count subscriptions. */
  subscriptions = 0;
  /** Replies to `info()`; tests overwrite fields to feed the agent bad engine replies. */
  infoReply: DockerInfoReply;
  apiVersion: string;

  constructor(options: HollowEngineOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.eventBufferSize = options.eventBufferSize ?? 256;
    if (!Number.isInteger(this.eventBufferSize) || this.eventBufferSize < 0) throw new RangeError(`eventBufferSize must be a whole number, not ${this.eventBufferSize}`);
    const id = options.id ?? randomBytes(6).toString('hex').toUpperCase().match(/.{4}/g)!.join(':');
    this.endpoint = `hollow://${options.name ?? id}`;
    this.apiVersion = options.apiVersion ?? '1.41';
    this.infoReply = {
      ID: id,
      Name: options.name ?? `hollow-${id}`,
      NCPU: options.cpus ?? 4,
      MemTotal: options.memoryBytes ?? 8 * 1024 ** 3,
      Labels: Object.entries(options.labels ?? {}).map(([k, v]) => `${k}=${v}`),
      ServerVersion: '20.10.24-hollow',
      OperatingSystem: 'Hollow Linux',
      KernelVersion: '6.0.0-hollow',
      OSType: 'linux',
      Architecture: 'x86_64',
      Driver: 'hollow',
    };
    for (const ref of options.images ?? ['busybox:local']) this.addImage(ref);
  }

  /** Takes the engine down (streams close, calls fail UNAVAILABLE) or brings it back. */
  setReachable(reachable: boolean, reason = 'connect ECONNREFUSED (hollow engine stopped)'): void {
    this.down = reachable ? undefined : reason;
    if (!reachable) {
      for (const s of this.streams) s.end();
      this.streams.clear();
      for (const finish of [...this.statsStreams]) finish();
    }
  }

  get containerCount(): number {
    return this.containers.size;
  }

  private check(): void {
    if (this.down) throw new UnavailableError(`Docker engine at ${this.endpoint} is unreachable: ${this.down}`);
  }

  /** Emits a Docker event to every subscriber and keeps it for `since` replay. */
  emit(type: string, action: string, actorId: string, attributes: Record<string, string> = {}): void {
    let timeNano = BigInt(this.clock.now()) * 1_000_000n;
    if (timeNano <= this.lastNano) timeNano = this.lastNano + 1n;
    this.lastNano = timeNano;
    const line = JSON.stringify({ Type: type, Action: action, Actor: { ID: actorId, Attributes: attributes }, scope: 'local', time: Number(timeNano / 1_000_000_000n), timeNano: Number(timeNano) }).replace(/"timeNano":\d+/, `"timeNano":${timeNano}`);
    this.log.push({ line, timeNano });
    if (this.log.length > this.eventBufferSize) this.log.shift();
    for (const s of this.streams) s.write(line + '\n');
  }

  /** Writes a raw line to every event subscriber, e.g. a malformed one. */
  writeRawEvent(line: string): void {
    for (const s of this.streams) s.write(line + '\n');
  }

  private addImage(ref: string): ImageReply {
    const existing = [...this.images.values()].find((i) => i.RepoTags?.includes(ref));
    if (existing) return existing;
    const image: ImageReply = { Id: `sha256:${randomBytes(32).toString('hex')}`, RepoTags: [ref], RepoDigests: [], Size: 1_982_282, Created: Math.floor(this.clock.now() / 1000), Labels: {} };
    this.images.set(image.Id!, image);
    return image;
  }

  private find(idOrName: string): ContainerInspectReply {
    this.check();
    const direct = this.containers.get(idOrName);
    if (direct) return direct;
    for (const c of this.containers.values()) {
      if (c.Name === `/${idOrName}` || (idOrName.length >= 4 && c.Id!.startsWith(idOrName))) return c;
    }
    throw new NotFoundError(`No such container: ${idOrName}`);
  }

  async connect(): Promise<NegotiatedApi> {
    this.check();
    return negotiateApiVersion({ ApiVersion: this.apiVersion, Version: '20.10.24-hollow' }, this.endpoint);
  }

  async info(): Promise<DockerInfoReply> {
    this.check();
    return { ...this.infoReply, SystemTime: new Date(this.clock.now()).toISOString() };
  }

  async ping(): Promise<void> {
    this.check();
  }

  async listContainerIds(label?: string): Promise<string[]> {
    this.check();
    if (!label) return [...this.containers.keys()];
    const [key, value] = label.split('=', 2) as [string, string | undefined];
    return [...this.containers.entries()].filter(([, c]) => (value === undefined ? key in (c.Config?.Labels ?? {}) : c.Config?.Labels?.[key] === value)).map(([id]) => id);
  }

  async inspectContainer(id: string): Promise<ContainerInspectReply> {
    return structuredClone(this.find(id));
  }

  /** As Docker resolves a reference: ID or a prefix of one, NAME[:TAG] (default latest). */
  private findImage(reference: string): { image: ImageReply; tag: string | undefined } {
    const tagged = taggedReference(reference);
    const hex = reference.replace(/^sha256:/, '');
    const image = [...this.images.values()].find((i) => i.RepoTags?.includes(tagged) || i.Id === reference || (hex.length >= 12 && i.Id?.slice(7).startsWith(hex)));
    if (!image) throw new NotFoundError(`No such image: ${reference}`);
    return { image, tag: image.RepoTags?.includes(tagged) ? tagged : undefined };
  }

  async updateContainer(idOrName: string, body: DockerUpdateBody): Promise<{ Warnings?: string[] | null }> {
    this.check();
    const c = this.find(idOrName);
    const host = (c.HostConfig ??= {});
    if (body.NanoCpus !== undefined) host.NanoCpus = body.NanoCpus;
    if (body.Memory !== undefined) host.Memory = body.Memory;
    if (body.MemorySwap !== undefined) host.MemorySwap = body.MemorySwap;
    if (body.RestartPolicy) host.RestartPolicy = body.RestartPolicy;
    this.emit('container', 'update', c.Id!, { name: (c.Name ?? '').replace(/^\//, '') });
    return { Warnings: [] };
  }

  async inspectImage(reference: string): Promise<ImageInspectReply> {
    this.check();
    const { image } = this.findImage(reference);
    const { Labels, ...rest } = image;
    return { ...rest, Created: new Date(Number(image.Created ?? 0) * 1000).toISOString(), Config: { Labels } };
  }

  async removeImage(reference: string, force: boolean): Promise<ImageDeleteReply[]> {
    this.check();
    const { image, tag } = this.findImage(reference);
    if (!force && [...this.containers.values()].some((c) => c.Image === image.Id)) throw new FailedPreconditionError(`conflict: unable to remove repository reference "${reference}" - container is using its referenced image`);
    if (tag && (image.RepoTags?.length ?? 0) > 1) {
      image.RepoTags = image.RepoTags!.filter((t) => t !== tag);
      this.emit('image', 'untag', image.Id!);
      return [{ Untagged: tag }];
    }
    this.images.delete(image.Id!);
    this.emit('image', 'untag', image.Id!);
    this.emit('image', 'delete', image.Id!);
    return [...(image.RepoTags ?? []).map((t) => ({ Untagged: t })), { Deleted: image.Id }];
  }

  async tagImage(reference: string, repo: string, tag: string): Promise<void> {
    this.check();
    const { image } = this.findImage(reference);
    const target = `${repo}:${tag}`;
    for (const other of this.images.values()) other.RepoTags = other.RepoTags?.filter((t) => t !== target) ?? [];
    image.RepoTags = [...(image.RepoTags ?? []), target];
    this.emit('image', 'tag', image.Id!);
  }

  async listImages(): Promise<ImageReply[]> {
    this.check();
    return [...this.images.values()];
  }

  async listNetworks(): Promise<NetworkReply[]> {
    this.check();
    return [{ Id: 'hollow-none', Name: 'none', Driver: 'null', Scope: 'local' }, { Id: 'hollow-host', Name: 'host', Driver: 'host', Scope: 'local' }, ...this.userNetworks];
  }

  /** Networks made through the API (create, remove). */
  private readonly userNetworks: NetworkReply[] = [];

  async inspectNetwork(id: string): Promise<NetworkReply> {
    const found = (await this.listNetworks()).find((n) => n.Id === id || n.Name === id);
    if (!found) throw new NotFoundError(`network ${id} not found`);
    return found;
  }

  async createNetwork(body: DockerNetworkCreateBody): Promise<NetworkReply> {
    this.check();
    if ((await this.listNetworks()).some((n) => n.Name === body.Name)) throw new AlreadyExistsError(`network with name ${body.Name} already exists`);
    const network: NetworkReply = { Id: randomBytes(32).toString('hex'), Name: body.Name, Driver: body.Driver, Scope: 'local', Labels: { ...body.Labels } };
    this.userNetworks.push(network);
    this.emit('network', 'create', network.Id!, { name: body.Name, type: body.Driver });
    return network;
  }

  async removeNetwork(idOrName: string): Promise<void> {
    this.check();
    const at = this.userNetworks.findIndex((n) => n.Id === idOrName || n.Name === idOrName);
    if (at < 0) throw new NotFoundError(`network ${idOrName} not found`);
    const [network] = this.userNetworks.splice(at, 1);
    this.emit('network', 'destroy', network.Id!, { name: network.Name ?? '', type: network.Driver ?? '' });
  }

  async listVolumes(): Promise<VolumeReply[]> {
    this.check();
    return [...this.volumes.values()];
  }

  async inspectVolume(name: string): Promise<VolumeReply> {
    this.check();
    const volume = this.volumes.get(name);
    if (!volume) throw new NotFoundError(`get ${name}: no such volume`);
    return volume;
  }

  async createVolume(body: DockerVolumeCreateBody): Promise<VolumeReply> {
    this.check();
    const existing = this.volumes.get(body.Name);
    if (existing) return existing;
    const volume: VolumeReply = { Name: body.Name, Driver: body.Driver, Mountpoint: `/var/lib/docker/volumes/${body.Name}/_data`, Labels: { ...body.Labels } };
    this.volumes.set(body.Name, volume);
    this.emit('volume', 'create', body.Name, { driver: body.Driver });
    return volume;
  }

  async removeVolume(name: string): Promise<void> {
    this.check();
    if (!this.volumes.delete(name)) throw new NotFoundError(`get ${name}: no such volume`);
    this.emit('volume', 'destroy', name, { driver: 'local' });
  }

  async events(since: string | undefined): Promise<Readable> {
    this.check();
    this.subscriptions++;
    const stream = new PassThrough();
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    if (since !== undefined) {
      const [seconds, nanos = '0'] = since.split('.');
      const from = BigInt(seconds) * 1_000_000_000n + BigInt(nanos.padEnd(9, '0'));
      for (const e of this.log) if (e.timeNano >= from) stream.write(e.line + '\n');
    }
    return stream;
  }

  async createContainer(body: DockerCreateBody): Promise<{ id: string; warnings: string[] }> {
    this.check();
    if (![...this.images.values()].some((i) => i.RepoTags?.includes(body.Image) || i.Id === body.Image)) {
      throw new NotFoundError(`No such image: ${body.Image}`);
    }
    const name = body.name ?? `hollow_${randomBytes(4).toString('hex')}`;
    if ([...this.containers.values()].some((c) => c.Name === `/${name}`)) {
      throw new AlreadyExistsError(`Conflict. The container name "/${name}" is already in use.`);
    }
    const id = randomBytes(32).toString('hex');
    const now = new Date(this.clock.now()).toISOString();
    this.containers.set(id, {
      Id: id,
      Name: `/${name}`,
      Created: now,
      Path: body.Entrypoint?.[0] ?? body.Cmd?.[0] ?? 'sh',
      Args: [...(body.Entrypoint?.slice(1) ?? []), ...(body.Entrypoint ? (body.Cmd ?? []) : (body.Cmd?.slice(1) ?? []))],
      Image: `sha256:${id}`,
      State: { Status: 'created', Running: false, Paused: false, Restarting: false, ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
      Config: { Image: body.Image, Labels: body.Labels ?? {}, Tty: false },
      HostConfig: {
        NanoCpus: body.HostConfig.NanoCpus ?? 0,
        CpuShares: body.HostConfig.CpuShares ?? 0,
        Memory: body.HostConfig.Memory ?? 0,
        NetworkMode: body.HostConfig.NetworkMode ?? 'default',
        PortBindings: body.HostConfig.PortBindings ?? {},
        RestartPolicy: body.HostConfig.RestartPolicy ?? { Name: 'no' },
      },
    });
    this.emit('container', 'create', id, { image: body.Image, name });
    return { id, warnings: [] };
  }

  async startContainer(idOrName: string): Promise<boolean> {
    const c = this.find(idOrName);
    if (c.State!.Running) return false;
    c.State = { ...c.State, Status: 'running', Running: true, StartedAt: new Date(this.clock.now()).toISOString() };
    this.emit('container', 'start', c.Id!, { name: c.Name!.slice(1) });
    return true;
  }

  private exit(c: ContainerInspectReply, code: number): void {
    c.State = { ...c.State, Status: 'exited', Running: false, Paused: false, ExitCode: code, FinishedAt: new Date(this.clock.now()).toISOString() };
    this.emit('container', 'die', c.Id!, { exitCode: String(code), name: c.Name!.slice(1) });
    this.wake(c.Id!, code, false);
  }

  private wake(id: string, code: number, removed: boolean): void {
    for (const w of [...this.waiters]) {
      if (w.id !== id || (w.removedOnly && !removed)) continue;
      this.waiters.delete(w);
      w.done({ StatusCode: code, Error: null });
    }
  }

  async stopContainer(idOrName: string): Promise<boolean> {
    const c = this.find(idOrName);
    if (!c.State!.Running) return false;
    this.emit('container', 'kill', c.Id!, { signal: '15', name: c.Name!.slice(1) });
    this.exit(c, 143);
    this.emit('container', 'stop', c.Id!, { name: c.Name!.slice(1) });
    return true;
  }

  async killContainer(idOrName: string, signal: string): Promise<void> {
    const c = this.find(idOrName);
    if (!c.State!.Running) throw new FailedPreconditionError(`Cannot kill container: ${idOrName}: Container ${c.Id} is not running`);
    this.emit('container', 'kill', c.Id!, { signal, name: c.Name!.slice(1) });
    this.exit(c, 137);
  }

  async removeContainer(idOrName: string, force: boolean): Promise<void> {
    const c = this.find(idOrName);
    if (c.State!.Running && !force) {
      throw new FailedPreconditionError(`You cannot remove a running container ${c.Id}. Stop the container before attempting removal or force remove`);
    }
    if (c.State!.Running) this.exit(c, 137);
    this.containers.delete(c.Id!);
    this.logs.delete(c.Id!);
    this.emit('container', 'destroy', c.Id!, { name: c.Name!.slice(1) });
    this.wake(c.Id!, c.State!.ExitCode ?? 0, true);
  }

  async pauseContainer(idOrName: string): Promise<void> {
    const c = this.find(idOrName);
    if (c.State!.Paused) throw new FailedPreconditionError(`Container ${c.Id} is already paused`);
    if (!c.State!.Running) throw new FailedPreconditionError(`Container ${c.Id} is not running`);
    c.State = { ...c.State, Status: 'paused', Paused: true };
    this.emit('container', 'pause', c.Id!, { name: c.Name!.slice(1) });
  }

  async unpauseContainer(idOrName: string): Promise<void> {
    const c = this.find(idOrName);
    if (!c.State!.Paused) throw new FailedPreconditionError(`Container ${c.Id} is not paused`);
    c.State = { ...c.State, Status: 'running', Paused: false };
    this.emit('container', 'unpause', c.Id!, { name: c.Name!.slice(1) });
  }

  async renameContainer(idOrName: string, newName: string): Promise<void> {
    const c = this.find(idOrName);
    const name = newName.replace(/^\//, '');
    const holder = [...this.containers.values()].find((x) => x.Name === `/${name}`);
    if (holder === c) throw new InvalidArgumentError('Renaming a container with the same name as its current name');
    if (holder) throw new AlreadyExistsError(`Conflict. The container name "/${name}" is already in use by container "${holder.Id}".`);
    const oldName = c.Name!.slice(1);
    c.Name = `/${name}`;
    this.emit('container', 'rename', c.Id!, { name, oldName: `/${oldName}` });
  }

  async waitContainer(idOrName: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitReply> {
    const c = this.find(idOrName);
    if (condition === 'not-running' && !c.State!.Running) return { StatusCode: c.State!.ExitCode ?? 0, Error: null };
    return new Promise((resolve, reject) => {
      const waiter = {
        id: c.Id!,
        removedOnly: condition === 'removed',
        done: (reply: WaitReply) => {
          signal.removeEventListener('abort', abort);
          resolve(reply);
        },
      };
      const abort = (): void => {
        this.waiters.delete(waiter);
        reject(new CancelledError('the wait was cancelled'));
      };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      this.waiters.add(waiter);
    });
  }

  async topContainer(idOrName: string): Promise<TopReply> {
    const c = this.find(idOrName);
    if (!c.State!.Running) throw new FailedPreconditionError(`Container ${c.Id} is not running`);
    return { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '1', '0', '0', '00:00', '?', '00:00:00', [c.Path, ...(c.Args ?? [])].join(' ')]] };
  }

  /** Gives a container output: each `containerLogs` call answers the stream `logs` makes (Docker's multiplexed frames). */
  setContainerLogs(idOrName: string, logs: (options: LogOptions) => Readable): void {
    this.logs.set(this.find(idOrName).Id!, logs);
  }

  async containerLogs(idOrName: string, options: LogOptions): Promise<Readable> {
    const logs = this.logs.get(this.find(idOrName).Id!);
    return logs ? logs(options) : Readable.from([]);
  }

  /**
   * One stats sample of `c` as Docker writes it (cgroup v2), made up from the container's age:
   * about 1% of one CPU, 5 MiB of memory of which 1 MiB page cache. `previous` is the sample
   * before; a container that is not running gets Docker's empty sample.
   */
  private statsSample(c: ContainerInspectReply, previous: DockerStatsReply | undefined, at: number): DockerStatsReply {
    const zeroTime = '0001-01-01T00:00:00Z';
    const empty = { cpu_usage: { total_usage: 0 } };
    if (!c.State?.Running) {
      return { read: zeroTime, preread: zeroTime, pids_stats: {}, blkio_stats: { io_service_bytes_recursive: null }, cpu_stats: empty, precpu_stats: empty, memory_stats: {}, name: c.Name, id: c.Id };
    }
    const cpus = this.infoReply.NCPU ?? 4;
    const sinceStartMs = at - (Date.parse(c.State.StartedAt ?? '') || at);
    const upMs = Math.max(0, sinceStartMs);
    // 10 ms at the start: a sample a second before it still has less.
    const total = Math.max(0, 10_000_000 + sinceStartMs * 10_000);
    return {
      read: new Date(at).toISOString(),
      preread: previous?.read ?? zeroTime,
      pids_stats: { current: 1 },
      blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 4096 }, { op: 'write', value: 0 }] },
      cpu_stats: { cpu_usage: { total_usage: total, percpu_usage: Array.from({ length: cpus }, (_, i) => (i === 0 ? total : 0)) }, system_cpu_usage: at * 1_000_000 * cpus, online_cpus: cpus },
      precpu_stats: previous?.cpu_stats ?? empty,
      memory_stats: { usage: 5 * 1024 * 1024, stats: { inactive_file: 1024 * 1024, anon: 4 * 1024 * 1024 }, limit: c.HostConfig?.Memory || this.infoReply.MemTotal || 0 },
      name: c.Name,
      id: c.Id,
      ...(c.HostConfig?.NetworkMode === 'none' ? {} : { networks: { eth0: { rx_bytes: 1_000 + Math.floor(upMs / 10), tx_bytes: 500 + Math.floor(upMs / 20) } } }),
    };
  }

  /**
   * Docker's stats for a container: without `stream` one sample (with CPU figures of a sample a
   * second before, as Docker primes them); with it, one now and one every second of the engine's
   * clock until the container stops (one empty sample, then the end), the engine goes down or
   * the stream is destroyed. A container that is not running gets one empty sample.
   */
  async containerStats(idOrName: string, stream: boolean): Promise<Readable> {
    const c = this.find(idOrName);
    const line = (sample: DockerStatsReply) => JSON.stringify(sample) + '\n';
    const now = this.clock.now();
    if (!stream || !c.State?.Running) {
      const before = c.State?.Running ? this.statsSample(c, undefined, now - 1000) : undefined;
      return Readable.from([line(this.statsSample(c, before, now))]);
    }
    let previous: DockerStatsReply | undefined;
    // Samples come on the clock, not on reads: a reader that falls behind misses some, as from Docker.
    const source = new Readable({ read: () => undefined });
    const finish = (): void => {
      timer.cancel();
      this.statsStreams.delete(finish);
      if (!source.destroyed) source.push(null);
    };
    const sample = (): void => {
      previous = this.statsSample(c, previous, this.clock.now());
      if (source.readableLength < source.readableHighWaterMark) source.push(line(previous));
      if (!c.State?.Running || this.containers.get(c.Id!) !== c) finish();
    };
    const timer = this.clock.setInterval(sample, 1000);
    this.statsStreams.add(finish);
    source.once('close', finish);
    sample();
    return source;
  }

  // A hollow engine has no processes to run a program beside (benchmarks measure the cluster, not exec).
  async createExec(containerId: string, _body: DockerExecBody): Promise<string> {
    this.find(containerId);
    throw new FailedPreconditionError('a hollow engine runs no programs: exec needs a real Docker engine');
  }

  async startExec(execId: string, _tty: boolean): Promise<Duplex> {
    throw new NotFoundError(`No such exec instance: ${execId}`);
  }

  async resizeExec(execId: string): Promise<void> {
    throw new NotFoundError(`No such exec instance: ${execId}`);
  }

  // A hollow engine has no file systems to copy from or into.
  async statPath(id: string): Promise<never> {
    this.find(id);
    throw new FailedPreconditionError('a hollow engine has no files: copying needs a real Docker engine');
  }

  async getArchive(id: string): Promise<never> {
    return this.statPath(id);
  }

  async putArchive(id: string): Promise<void> {
    await this.statPath(id);
  }

  async attachContainer(id: string): Promise<Duplex> {
    this.find(id);
    throw new FailedPreconditionError('a hollow engine runs no programs: attach needs a real Docker engine');
  }

  async resizeContainer(id: string): Promise<void> {
    this.find(id);
    throw new FailedPreconditionError('a hollow engine has no terminals');
  }

  async inspectExec(execId: string): Promise<ExecInspectReply> {
    throw new NotFoundError(`No such exec instance: ${execId}`);
  }

  async pullImage(reference: string, _auth?: unknown): Promise<Readable> {
    this.check();
    const image = this.addImage(reference.includes(':') ? reference : `${reference}:latest`);
    this.emit('image', 'pull', reference);
    const lines = [{ status: `Pulling from hollow/${reference}` }, { status: 'Download complete', id: image.Id!.slice(7, 19) }, { status: `Status: Downloaded newer image for ${reference}` }];
    return Readable.from(lines.map((l) => JSON.stringify(l) + '\n'));
  }
}
