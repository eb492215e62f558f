import { type LogFields, type Logger } from '@flotilla/grpc';
import { AlreadyExistsError, CancelledError, FailedPreconditionError, NotFoundError } from '@flotilla/errors';
import { ContainerStats, type AttachOptions, type Container, type ExecOptions, type Image, type Network, type Volume } from '@flotilla/proto';
import type { CreateContainerRequest, Snapshot, SnapshotPart, WatchResponse } from '@flotilla/proto/agent';
import type { Role } from '@flotilla/pki';
import { taggedReference, type SessionInput } from '@flotilla/policy';
import type { AgentConnector, AgentOperations, AgentStream, AgentStreamListener, AgentWatchOptions } from './agent-connector';

/** What a fake agent's engine holds, for container operations in unit tests. */
export interface FakeEngineState {
  containers: Map<string, Container>;
  images: Set<string>;
  /** The engine's images as Docker would list them, for image operations (see `addImage`). */
  imageRecords: Map<string, Image>;
  volumes: Map<string, Volume>;
  /** User-defined networks made through the fake agent, by name. */
  networks: Map<string, Network>;
  /** The next creates fail with these errors, in order. */
  createFailures: Error[];
  /** The next creates make their container, then fail with these errors, as if the answer was lost. */
  lostAnswers: Error[];
  /** Pulls fail with this error. */
  pullFailure?: Error;
  /** When set, pulls wait for it (or for their signal, which cancels them). */
  pullGate?: Promise<void>;
  /** The signal of every pull this engine got. */
  pullSignals: AbortSignal[];
  /** Container changes are made but not reported on the stream, as by a stream that lags. */
  quiet?: boolean;
  /** Every create request this engine got, and the role the manager acted for in each. */
  creates: CreateContainerRequest[];
  actingRoles: Array<Role | undefined>;
  /** When set, creates wait for it: a test holds creates in flight to check they overlap. */
  gate?: Promise<void>;
  /** Creates in flight now, and the most at once. */
  inFlight: number;
  maxInFlight: number;
}

type Message = NonNullable<WatchResponse['message']>;

interface FakeStream extends AgentStream {
  address: string;
  listener: AgentStreamListener;
  /** What the cluster asked of the stream. */
  options: AgentWatchOptions;
  closed: boolean;
  sequence: number;
}

/**
 * Engine-agents in memory, for unit tests of the cluster: each `watch` opens a stream the test
 * drives with `send` and ends with `end`; `open` counts streams not yet closed, to catch leaks.
 */
export class FakeAgents implements AgentConnector {
  readonly streams: FakeStream[] = [];
  readonly released: string[] = [];
  readonly engines = new Map<string, FakeEngineState>();
  private nextId = 1;

  /** The fake engine behind an address (created on first use, holding busybox:local). */
  engine(address: string): FakeEngineState {
    let e = this.engines.get(address);
    if (!e) this.engines.set(address, (e = { containers: new Map(), volumes: new Map(), networks: new Map(), images: new Set(['busybox:local']), imageRecords: new Map(), createFailures: [], lostAnswers: [], pullSignals: [], creates: [], actingRoles: [], inFlight: 0, maxInFlight: 0 }));
    return e;
  }

  operations(address: string): AgentOperations {
    const engine = this.engine(address);
    const find = (id: string) => {
      const c = engine.containers.get(id) ?? [...engine.containers.values()].find((x) => x.names.includes(id));
      if (!c) throw new NotFoundError(`No such container: ${id}`);
      return c;
    };
    const report = (action: string, c: Container, removed = false) => {
      if (engine.quiet || this.open(address).length !== 1) return;
      this.send(address, { $case: 'container', value: { event: { type: 'container', action, actorId: c.id, actorAttributes: { name: c.names[0] ?? '' }, scope: 'local', timeNano: String(BigInt(Date.now()) * 1_000_000n) }, container: removed ? undefined : { ...c }, removed } });
    };
    const reportVolume = (action: string, name: string, volume: Volume | undefined) => {
      if (engine.quiet || this.open(address).length !== 1) return;
      this.send(address, { $case: 'volume', value: { event: { type: 'volume', action, actorId: name, actorAttributes: {}, scope: 'local', timeNano: String(BigInt(Date.now()) * 1_000_000n) }, volume, removed: !volume } });
    };
    const reportNetwork = (action: string, id: string, network: Network | undefined) => {
      if (engine.quiet || this.open(address).length !== 1) return;
      this.send(address, { $case: 'network', value: { event: { type: 'network', action, actorId: id, actorAttributes: {}, scope: 'local', timeNano: String(BigInt(Date.now()) * 1_000_000n) }, network, removed: !network } });
    };
    const reportImage = (action: string, image: Image, removed: boolean) => {
      if (engine.quiet || this.open(address).length !== 1) return;
      this.send(address, { $case: 'image', value: { event: { type: 'image', action, actorId: image.id, actorAttributes: {}, scope: 'local', timeNano: String(BigInt(Date.now()) * 1_000_000n) }, image: removed ? undefined : { ...image }, removed } });
    };
    // As Docker resolves a reference: ID or prefix, NAME[:TAG] (default latest), NAME@DIGEST.
    const findImage = (ref: string) => {
      const tagged = taggedReference(ref);
      const image = [...engine.imageRecords.values()].find((i) => i.id === ref || i.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, '')) || i.repoTags.includes(tagged) || i.repoDigests.includes(ref));
      if (!image) throw new NotFoundError(`No such image: ${ref}`);
      return { image, tag: image.repoTags.includes(tagged) ? tagged : undefined };
    };
    return {
      inspectImage: async (ref) => {
        const { image } = findImage(ref);
        return { image, rawJson: JSON.stringify({ Id: image.id, RepoTags: image.repoTags }) };
      },
      removeImage: async (ref, force) => {
        const { image, tag } = findImage(ref);
        if ([...engine.containers.values()].some((c) => c.imageId === image.id) && !force) throw new FailedPreconditionError(`conflict: unable to remove repository reference "${ref}" - container is using its referenced image`);
        if (tag && image.repoTags.length > 1) {
          image.repoTags = image.repoTags.filter((t) => t !== tag);
          reportImage('untag', image, false);
          return { untagged: [tag], deleted: [] };
        }
        engine.imageRecords.delete(image.id);
        reportImage('delete', image, true);
        return { untagged: [...image.repoTags], deleted: [image.id] };
      },
      tagImage: async (ref, target) => {
        const { image } = findImage(ref);
        for (const other of engine.imageRecords.values()) other.repoTags = other.repoTags.filter((t) => t !== target);
        image.repoTags = [...image.repoTags, target];
        reportImage('tag', image, false);
      },
      createContainer: async (request, options) => {
        engine.creates.push(request);
        engine.actingRoles.push(options.actingRole);
        engine.maxInFlight = Math.max(engine.maxInFlight, ++engine.inFlight);
        try {
          await engine.gate;
        } finally {
          engine.inFlight--;
        }
        const failure = engine.createFailures.shift();
        if (failure) throw failure;
        if (!engine.images.has(request.image)) throw new NotFoundError(`No such image: ${request.image}`);
        if (request.name && [...engine.containers.values()].some((c) => c.names.includes(request.name))) throw new AlreadyExistsError(`Conflict. The container name "/${request.name}" is already in use`);
        const id = (this.nextId++).toString(16).padStart(64, 'f');
        const c: Container = {
          id, names: [request.name || `fake_${id.slice(-6)}`], image: request.image, imageId: '', command: request.command, state: 'created', status: 'Created', labels: request.labels,
          nanoCpus: request.nanoCpus, cpuShares: request.cpuShares, memoryBytes: request.memoryBytes, portBindings: request.portBindings, networkMode: request.networkMode,
          created: undefined, exitCode: 0, startedAt: undefined, finishedAt: undefined, restartPolicy: request.restartPolicy?.name ?? '',
        };
        engine.containers.set(id, c);
        report('create', c);
        const lost = engine.lostAnswers.shift();
        if (lost) throw lost;
        return { id, warnings: [] };
      },
      startContainer: async (id) => {
        const c = find(id);
        if (c.state === 'running') return { alreadyRunning: true };
        c.state = 'running';
        report('start', c);
        return { alreadyRunning: false };
      },
      stopContainer: async (id) => {
        const c = find(id);
        if (c.state !== 'running') return { alreadyStopped: true };
        c.state = 'exited';
        report('die', c);
        return { alreadyStopped: false };
      },
      killContainer: async (id) => {
        const c = find(id);
        c.state = 'exited';
        report('die', c);
      },
      removeContainer: async (id) => {
        const c = find(id);
        engine.containers.delete(c.id);
        report('destroy', c, true);
      },
      pauseContainer: async (id) => {
        const c = find(id);
        if (c.state !== 'running') throw new FailedPreconditionError(`Container ${c.id} is ${c.state === 'paused' ? 'already paused' : 'not running'}`);
        c.state = 'paused';
        report('pause', c);
      },
      unpauseContainer: async (id) => {
        const c = find(id);
        if (c.state !== 'paused') throw new FailedPreconditionError(`Container ${c.id} is not paused`);
        c.state = 'running';
        report('unpause', c);
      },
      renameContainer: async (id, newName) => {
        const c = find(id);
        if ([...engine.containers.values()].some((x) => x !== c && x.names.includes(newName))) throw new AlreadyExistsError(`Conflict. The container name "/${newName}" is already in use`);
        c.names = [newName];
        report('rename', c);
      },
      updateContainer: async (id, resources) => {
        const c = find(id);
        if (resources.nanoCpus !== undefined) c.nanoCpus = resources.nanoCpus;
        if (resources.memoryBytes !== undefined) c.memoryBytes = resources.memoryBytes;
        report('update', c);
        return { warnings: [] };
      },
      // Answers at once with the container's exit code: fake containers never run anything.
      waitContainer: async (id, _condition, signal) => {
        const c = find(id);
        if (signal.aborted) throw new CancelledError('wait cancelled');
        return { exitCode: String(c.exitCode), error: '' };
      },
      topContainer: async (id) => {
        const c = find(id);
        if (c.state !== 'running') throw new FailedPreconditionError(`Container ${c.id} is not running`);
        return { titles: ['PID', 'CMD'], processes: [{ values: ['1', c.command.join(' ')] }] };
      },
      inspectContainer: async (id) => {
        const c = find(id);
        return { container: c, rawJson: JSON.stringify({ Id: c.id }) };
      },
      containerLogs: async function* () {
        yield* [];
      },
      // One sample of zeros named after the container, as Docker answers for one that is not running.
      containerStats: async function* (id: string) {
        const c = find(id);
        yield { stats: ContainerStats.fromPartial({ containerId: c.id, name: c.names[0] ?? '' }) };
      },
      // A fake engine runs no programs: an exec echoes its command line and its stdin, then exits 0.
      execContainer: async function* (id: string, options: ExecOptions, input: AsyncIterable<SessionInput>) {
        const c = find(id);
        if (c.state !== 'running') throw new FailedPreconditionError(`Container ${c.id} is not running`);
        yield { $case: 'started' as const, value: { execId: `exec-${c.id.slice(0, 12)}` } };
        yield { $case: 'stdout' as const, value: Buffer.from(`${options.command.join(' ')}\n`) };
        for await (const item of input) if (item.$case === 'stdin') yield { $case: 'stdout' as const, value: item.value };
        yield { $case: 'exit' as const, value: { exitCode: 0 } };
      },
      inspectExec: async (execId: string) => {
        const id = [...engine.containers.keys()].find((c) => execId === `exec-${c.slice(0, 12)}`);
        if (!id) throw new NotFoundError(`No such exec instance: ${execId}`);
        return { exec: { execId, containerId: id, running: false, exitCode: 0, pid: '0' }, rawJson: JSON.stringify({ ID: execId, ContainerID: id }) };
      },
      // A fake engine's containers hold one file each, /hello, whose archive is its bytes as they are.
      statContainerPath: async (id: string, path: string) => {
        find(id);
        if (path !== '/hello') throw new NotFoundError(`Could not find the file ${path} in container ${id}`);
        return { name: 'hello', size: '5', mode: 0o644, modified: undefined, linkTarget: '' };
      },
      copyFromContainer: async function* (id: string, path: string) {
        find(id);
        if (path !== '/hello') throw new NotFoundError(`Could not find the file ${path} in container ${id}`);
        yield { $case: 'stat' as const, value: { name: 'hello', size: '5', mode: 0o644, modified: undefined, linkTarget: '' } };
        yield { $case: 'data' as const, value: Buffer.from('hello') };
      },
      copyToContainer: async (id: string, _path: string, _noOverwrite: boolean, archive: AsyncIterable<Buffer>) => {
        find(id);
        for await (const _piece of archive) continue;
      },
      // Attached to a fake engine: its stdin echoed back, then the container's exit code (0 while it runs).
      attachContainer: async function* (id: string, options: AttachOptions, input: AsyncIterable<SessionInput>) {
        const c = find(id);
        yield { $case: 'started' as const, value: { tty: false } };
        if (options.stdin) for await (const item of input) if (item.$case === 'stdin') yield { $case: 'stdout' as const, value: item.value };
        yield { $case: 'exit' as const, value: { exitCode: c.exitCode } };
      },
      pullImage: async function* (image: string, signal: AbortSignal) {
        engine.pullSignals.push(signal);
        if (engine.pullGate) {
          const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          await Promise.race([engine.pullGate, aborted]);
        }
        if (signal.aborted) throw new CancelledError('pull cancelled');
        if (engine.pullFailure) throw engine.pullFailure;
        yield { status: `Pulling ${image}`, layerId: '', currentBytes: '0', totalBytes: '0', progress: '' };
        engine.images.add(image);
        yield { status: `Downloaded newer image for ${image}`, layerId: '', currentBytes: '0', totalBytes: '0', progress: '' };
      },
      createVolume: async (request) => {
        let volume = engine.volumes.get(request.name);
        if (!volume) {
          volume = { name: request.name, driver: request.driver || 'local', mountpoint: `/var/lib/docker/volumes/${request.name}/_data`, labels: { ...request.labels } };
          engine.volumes.set(volume.name, volume);
          reportVolume('create', volume.name, volume);
        }
        return { volume };
      },
      removeVolume: async (name) => {
        if (!engine.volumes.delete(name)) throw new NotFoundError(`get ${name}: no such volume`);
        reportVolume('destroy', name, undefined);
      },
      createNetwork: async (request) => {
        if (engine.networks.has(request.name)) throw new AlreadyExistsError(`network with name ${request.name} already exists`);
        const network: Network = { id: (this.nextId++).toString(16).padStart(64, 'e'), name: request.name, driver: request.driver || 'bridge', scope: 'local', labels: { ...request.labels } };
        engine.networks.set(network.name, network);
        reportNetwork('create', network.id, network);
        return { network };
      },
      removeNetwork: async (ref) => {
        const network = [...engine.networks.values()].find((n) => n.name === ref || n.id === ref);
        if (!network) throw new NotFoundError(`network ${ref} not found`);
        engine.networks.delete(network.name);
        reportNetwork('destroy', network.id, undefined);
      },
      inspectNetwork: async (ref) => {
        const network = [...engine.networks.values()].find((n) => n.name === ref || n.id === ref);
        if (!network) throw new NotFoundError(`network ${ref} not found`);
        return { network, rawJson: JSON.stringify({ Id: network.id, Name: network.name }) };
      },
      inspectVolume: async (name) => {
        const volume = engine.volumes.get(name);
        if (!volume) throw new NotFoundError(`get ${name}: no such volume`);
        return { volume, rawJson: JSON.stringify({ Name: name }) };
      },
    };
  }

  watch(address: string, listener: AgentStreamListener, options: AgentWatchOptions = {}): AgentStream {
    const stream: FakeStream = {
      address,
      listener,
      options,
      closed: false,
      sequence: 0,
      close() {
        stream.closed = true;
      },
    };
    this.streams.push(stream);
    return stream;
  }

  release(address: string): void {
    this.released.push(address);
  }

  /** Probes waiting for an address to come back (see AgentConnector.backAgain); `comeBack` answers them. */
  readonly probes: Array<{ address: string; signal: AbortSignal; resolve: () => void }> = [];

  backAgain(address: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => this.probes.push({ address, signal, resolve }));
  }

  /** The agent at `address` accepts connections again: its waiting probes resolve. */
  comeBack(address: string): void {
    for (const probe of this.probes.filter((p) => p.address === address && !p.signal.aborted)) probe.resolve();
  }

  /** Streams still open, in all or to one address. */
  open(address?: string): FakeStream[] {
    return this.streams.filter((s) => !s.closed && (!address || s.address === address));
  }

  private current(address: string): FakeStream {
    const open = this.open(address);
    if (open.length !== 1) throw new Error(`expected one open stream to ${address}, found ${open.length}`);
    return open[0];
  }

  /** Sends a message on the address's open stream, numbered as the agent would. */
  send(address: string, message: Message, sequence?: number): void {
    const s = this.current(address);
    s.sequence = sequence ?? s.sequence + 1;
    s.listener.message({ sequence: String(s.sequence), message });
  }

  /** Sends a whole response as it is, sequence included (a lying agent's numbers too). */
  sendResponse(address: string, response: WatchResponse): void {
    const s = this.current(address);
    const n = Number(response.sequence);
    if (Number.isSafeInteger(n)) s.sequence = n;
    s.listener.message(response);
  }

  snapshot(address: string, snapshot: Snapshot): void {
    this.send(address, { $case: 'snapshot', value: snapshot });
  }

  /** Gives the engine an image (as a pull would) and reports it on its stream. */
  addImage(address: string, image: Image): void {
    this.engine(address).imageRecords.set(image.id, { ...image });
    this.send(address, { $case: 'image', value: { event: { type: 'image', action: 'pull', actorId: image.id, actorAttributes: {}, scope: 'local', timeNano: '0' }, image: { ...image }, removed: false } });
  }

  /** Sends a snapshot as an agent splits a large one: a Snapshot with the engine, then parts of `perPart` items. */
  snapshotInParts(address: string, snapshot: Snapshot, perPart: number): void {
    for (const message of snapshotParts(snapshot, perPart)) this.send(address, message);
  }

  /** Ends the address's open stream as a broken connection would. */
  end(address: string, error = new Error('14 UNAVAILABLE: Connection dropped')): void {
    const s = this.current(address);
    s.closed = true;
    s.listener.end(error);
  }
}

/**
 * A snapshot as the messages an agent sends when it splits one: items in order (containers,
 * images, networks, volumes), `perPart` to a message, the engine in the first, `more` on all but
 * the last.
 */
export function snapshotParts(snapshot: Snapshot, perPart: number): Message[] {
  const items = [
    ...snapshot.containers.map((c) => ({ kind: 'containers' as const, c })),
    ...snapshot.images.map((c) => ({ kind: 'images' as const, c })),
    ...snapshot.networks.map((c) => ({ kind: 'networks' as const, c })),
    ...snapshot.volumes.map((c) => ({ kind: 'volumes' as const, c })),
  ];
  const size = Math.max(1, perPart);
  const count = Math.max(1, Math.ceil(items.length / size));
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    const part: SnapshotPart = { containers: [], images: [], networks: [], volumes: [], more: i < count - 1 };
    for (const item of items.slice(i * size, (i + 1) * size)) {
      if (item.kind === 'containers') part.containers.push(item.c);
      else if (item.kind === 'images') part.images.push(item.c);
      else if (item.kind === 'networks') part.networks.push(item.c);
      else part.volumes.push(item.c);
    }
    out.push(i === 0 ? { $case: 'snapshot', value: { engine: snapshot.engine, ...part } } : { $case: 'snapshotPart', value: part });
  }
  return out;
}

export function engineSnapshot(id: string, options: { name?: string; cpus?: number; memoryBytes?: number; labels?: Record<string, string>; containers?: Snapshot['containers'] } = {}): Snapshot {
  return {
    engine: {
      id,
      name: options.name ?? `host-${id.toLowerCase()}`,
      cpus: String(options.cpus ?? 4),
      memoryBytes: String(options.memoryBytes ?? 8 * 1024 ** 3),
      labels: { ostype: 'linux', ...options.labels },
      serverVersion: '20.10.24',
      apiVersion: '1.41',
      engineMaxApiVersion: '1.41',
      operatingSystem: 'Debian',
      kernelVersion: '6.1',
      architecture: 'x86_64',
      storageDriver: 'vfs',
      systemTime: undefined,
    },
    containers: options.containers ?? [],
    images: [],
    networks: [],
    volumes: [],
    more: false,
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/** A logger that keeps every line (its children too), so tests can see what the cluster reported. */
export function recordingLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (message: string, fields: LogFields = {}) => void lines.push({ level, message, fields });
  const logger: Logger & { lines: LogLine[] } = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}
