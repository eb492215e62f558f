import type { Duplex, Readable } from 'node:stream';

/*
 * What the agent needs from a Docker engine. The real back end talks to dockerd through dockerode;
 * hollow engines (benchmarks) implement it in memory. Replies are typed loosely on purpose: an
 * engine's reply is outside input, and the mapping code checks every field it uses.
 */

export interface DockerVersionReply {
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
}

export interface DockerInfoReply {
  ID?: string;
  Name?: string;
  NCPU?: number;
  MemTotal?: number;
  Labels?: string[] | null;
  ServerVersion?: string;
  OperatingSystem?: string;
  KernelVersion?: string;
  OSType?: string;
  Architecture?: string;
  Driver?: string;
  SystemTime?: string;
}

export interface ContainerInspectReply {
  Id?: string;
  Name?: string;
  Created?: string;
  Path?: string;
  Args?: string[] | null;
  Image?: string;
  State?: {
    Status?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    ExitCode?: number;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string } | null;
  };
  Config?: { Image?: string; Labels?: Record<string, string> | null; Tty?: boolean; OpenStdin?: boolean };
  HostConfig?: {
    NanoCpus?: number;
    CpuShares?: number;
    Memory?: number;
    MemorySwap?: number;
    NetworkMode?: string;
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  };
}

export interface ImageReply {
  Id?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  /** Unix seconds in a list, RFC 3339 in an inspect. */
  Created?: number | string;
  Labels?: Record<string, string> | null;
}

/** Docker's image inspect: a listed image's fields, its labels under Config. */
export interface ImageInspectReply extends Omit<ImageReply, 'Labels'> {
  Config?: { Labels?: Record<string, string> | null } | null;
}

/** Docker's container update body: the resources of a create's HostConfig, only the fields to change. */
export type DockerUpdateBody = Pick<
  DockerCreateBody['HostConfig'],
  'NanoCpus' | 'Memory' | 'CpuShares' | 'CpuQuota' | 'CpuPeriod' | 'CpusetCpus' | 'MemoryReservation' | 'MemorySwap' | 'PidsLimit' | 'RestartPolicy'
>;

/** One line of Docker's image remove answer. */
export interface ImageDeleteReply {
  Untagged?: string;
  Deleted?: string;
}

export interface NetworkReply {
  Id?: string;
  Name?: string;
  Driver?: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
}

export interface VolumeReply {
  Name?: string;
  Driver?: string;
  Mountpoint?: string;
  Labels?: Record<string, string> | null;
}

/** Docker's network-create body (the fields the agent sets: never driver options). */
export interface DockerNetworkCreateBody {
  Name: string;
  Driver: 'bridge';
  Labels: Record<string, string>;
  Internal: boolean;
  CheckDuplicate: true;
  IPAM?: { Config: Array<{ Subnet: string; Gateway?: string }> };
}

/** Docker's volume-create body (the fields the agent sets: never driver options). */
export interface DockerVolumeCreateBody {
  Name: string;
  Driver: string;
  Labels: Record<string, string>;
}

/** Docker's container-create body (the fields the agent sets). */
/** One entry of HostConfig.Mounts (Docker Engine API 1.41). */
export interface DockerMount {
  Type: 'volume' | 'bind' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation: string };
  VolumeOptions?: { NoCopy: boolean };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface DockerCreateBody {
  name?: string;
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Hostname?: string;
  /** Durations in nanoseconds. */
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: {
    NanoCpus?: number;
    CpuShares?: number;
    Memory?: number;
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    NetworkMode?: string;
    RestartPolicy?: { Name: string; MaximumRetryCount?: number };
    Privileged?: boolean;
    PidMode?: string;
    IpcMode?: string;
    UTSMode?: string;
    CapAdd?: string[];
    Devices?: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>;
    Binds?: string[];
    Mounts?: DockerMount[];
    Tmpfs?: Record<string, string>;
    Dns?: string[];
    ExtraHosts?: string[];
    LogConfig?: { Type: string; Config: Record<string, string> };
    Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
    AutoRemove?: boolean;
    CpuQuota?: number;
    CpuPeriod?: number;
    CpusetCpus?: string;
    MemoryReservation?: number;
    MemorySwap?: number;
    PidsLimit?: number;
  };
}

/** What Docker's wait answers. */
export interface WaitReply {
  StatusCode?: number;
  Error?: { Message?: string } | null;
}

/** What Docker's top answers: column titles and one row per process. */
export interface TopReply {
  Titles?: string[] | null;
  Processes?: string[][] | null;
}

/**
 * A count in Docker's stats: a number, or a bigint past 2^53, where a JSON number would lose
 * digits (the host's CPU time in nanoseconds gets there; see `parseStatsLine`).
 */
export type DockerCount = number | bigint;

export interface DockerCpuStats {
  cpu_usage?: { total_usage?: DockerCount; percpu_usage?: DockerCount[] | null } | null;
  system_cpu_usage?: DockerCount;
  online_cpus?: DockerCount;
}

/** One sample of Docker's stats (`GET /containers/{id}/stats`): the Linux fields the agent reads. */
export interface DockerStatsReply {
  id?: string;
  name?: string;
  /** RFC 3339; Docker's zero time for a container that is not running. */
  read?: string;
  preread?: string;
  pids_stats?: { current?: DockerCount } | null;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: DockerCount } | null> | null } | null;
  cpu_stats?: DockerCpuStats | null;
  precpu_stats?: DockerCpuStats | null;
  /** `stats` holds cgroup v1's `total_inactive_file` or v2's `inactive_file`, among others. */
  memory_stats?: { usage?: DockerCount; limit?: DockerCount; stats?: Record<string, DockerCount> | null } | null;
  /** Absent without a network (`--network none`). */
  networks?: Record<string, { rx_bytes?: DockerCount; tx_bytes?: DockerCount } | null> | null;
}

/** Docker's X-Docker-Container-Path-Stat document (its ContainerPathStat). */
export interface PathStatReply {
  name?: string;
  size?: number;
  mode?: number;
  /** RFC 3339. */
  mtime?: string;
  linkTarget?: string;
}

/** Docker's X-Registry-Auth document (its AuthConfig). */
export interface DockerAuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress?: string;
}

/** Docker's exec-create body (`POST /containers/{id}/exec`). */
export interface DockerExecBody {
  Cmd: string[];
  AttachStdin: boolean;
  AttachStdout: true;
  AttachStderr: true;
  Tty: boolean;
  Env?: string[];
  User?: string;
  WorkingDir?: string;
}

/** What the agent reads of Docker's exec inspect. */
export interface ExecInspectReply {
  ID?: string;
  ContainerID?: string;
  Pid?: number;
  Running?: boolean;
  /** Null while the program runs. */
  ExitCode?: number | null;
}

/** Docker's wait conditions. */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface LogOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  tail?: number;
  timestamps: boolean;
  /** Unix seconds. */
  since?: number;
}

export interface NegotiatedApi {
  /** The version the agent speaks with this engine. */
  apiVersion: string;
  /** The highest version the engine supports. */
  engineMaxApiVersion: string;
}

/**
 * Every method throws the typed errors of `@flotilla/grpc`: NotFoundError, AlreadyExistsError,
 * FailedPreconditionError, InvalidArgumentError, UnavailableError (engine unreachable).
 */
export interface DockerBackend {
  /** Where the engine is, for logs and messages. */
  readonly endpoint: string;
  /** Negotiates the API version; refuses an engine below the agent's minimum. */
  connect(): Promise<NegotiatedApi>;
  ping(timeoutMs: number): Promise<void>;
  info(): Promise<DockerInfoReply>;
  /** Every container's ID; with `label` (`key=value`), only the containers that carry it. */
  listContainerIds(label?: string): Promise<string[]>;
  inspectContainer(id: string): Promise<ContainerInspectReply>;
  listImages(): Promise<ImageReply[]>;
  listNetworks(): Promise<NetworkReply[]>;
  inspectNetwork(id: string): Promise<NetworkReply>;
  /** Creates a network and inspects it. */
  createNetwork(body: DockerNetworkCreateBody): Promise<NetworkReply>;
  removeNetwork(idOrName: string): Promise<void>;
  listVolumes(): Promise<VolumeReply[]>;
  inspectVolume(name: string): Promise<VolumeReply>;
  /** Creates a named volume (answers the existing one when it is there already) and inspects it. */
  createVolume(body: DockerVolumeCreateBody): Promise<VolumeReply>;
  removeVolume(name: string, force: boolean): Promise<void>;
  inspectImage(reference: string): Promise<ImageInspectReply>;
  removeImage(reference: string, force: boolean, noPrune: boolean): Promise<ImageDeleteReply[]>;
  tagImage(reference: string, repo: string, tag: string): Promise<void>;
  /** Docker's event stream as raw newline-delimited JSON; `since` is `seconds.nanoseconds`. */
  events(since: string | undefined): Promise<Readable>;
  createContainer(body: DockerCreateBody): Promise<{ id: string; warnings: string[] }>;
  /** Resolves false when the container was already running. */
  startContainer(id: string): Promise<boolean>;
  /** Resolves false when the container was not running. */
  stopContainer(id: string, timeoutSeconds: number | undefined): Promise<boolean>;
  killContainer(id: string, signal: string): Promise<void>;
  removeContainer(id: string, force: boolean, volumes: boolean): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  renameContainer(id: string, newName: string): Promise<void>;
  updateContainer(id: string, body: DockerUpdateBody): Promise<{ Warnings?: string[] | null }>;
  /** Blocks until the container meets `condition`; `signal` ends the wait (and Docker's request). */
  waitContainer(id: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitReply>;
  /** `psArgs` empty: Docker's default. */
  topContainer(id: string, psArgs: string): Promise<TopReply>;
  /** Raw log stream: Docker's multiplexed frames, or plain bytes for a TTY container. */
  containerLogs(id: string, options: LogOptions): Promise<Readable>;
  /**
   * Docker's stats as newline-delimited JSON (`DockerStatsReply` lines): without `stream` one
   * sample; with it, one about every second. A container that is not running gets samples of
   * zeros with Docker's zero `read` time (Docker keeps sending them while streaming).
   */
  containerStats(id: string, stream: boolean): Promise<Readable>;
  /** Makes an exec in a running container; answers its ID. */
  createExec(containerId: string, body: DockerExecBody): Promise<string>;
  /**
   * Starts an exec and answers Docker's hijacked connection: reading it gives the program's output
   * (Docker's multiplexed frames, or plain bytes with a TTY) until the program's output closes;
   * writing it feeds the program's stdin, and ending it closes that stdin.
   */
  startExec(execId: string, tty: boolean): Promise<Duplex>;
  resizeExec(execId: string, rows: number, columns: number): Promise<void>;
  /**
   * Attaches to a container's main process and answers Docker's hijacked connection, as
   * `startExec` does; `logs` sends the output so far first.
   */
  attachContainer(id: string, stdin: boolean, logs: boolean): Promise<Duplex>;
  resizeContainer(id: string, rows: number, columns: number): Promise<void>;
  inspectExec(execId: string): Promise<ExecInspectReply>;
  /** Describes a path in a container (Docker's HEAD archive). */
  statPath(id: string, path: string): Promise<PathStatReply>;
  /** A path of a container as a tar archive, and its stat (Docker's GET archive). */
  getArchive(id: string, path: string): Promise<{ stat: PathStatReply; archive: Readable }>;
  /** Extracts the tar archive `archive` into the directory `path` of a container (Docker's PUT archive); resolves once Docker did. */
  putArchive(id: string, path: string, noOverwriteDirNonDir: boolean, archive: Readable): Promise<void>;
  /** Docker's pull progress as newline-delimited JSON; `auth` goes to Docker for this pull only. */
  pullImage(reference: string, auth?: DockerAuthConfig): Promise<Readable>;
}
