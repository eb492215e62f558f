import type { AttachOptions, ContainerResources, ExitStatus, ExecOptions, PathStat, PullProgress, RegistryAuth } from '@flotilla/proto';
import type { SessionInput } from '@flotilla/policy';
import type { ContainerLogsRequest, ContainerLogsResponse, ContainerStatsResponse, CreateContainerRequest, CreateContainerResponse, CreateVolumeRequest, CreateVolumeResponse, InspectContainerResponse, InspectImageResponse, InspectVolumeResponse, StartContainerResponse, StopContainerResponse, TopContainerResponse, UpdateContainerResponse, WaitContainerResponse, WatchResponse, CreateNetworkRequest, CreateNetworkResponse, InspectExecResponse, InspectNetworkResponse } from '@flotilla/proto/agent';
import type { Role } from '@flotilla/pki';

/** What the cluster hears from one engine-agent's Watch stream. */
export interface AgentStreamListener {
  message(message: WatchResponse): void;
  /** Called once, when the stream ends for any reason other than `close()`. */
  end(error: Error | undefined): void;
}

/** How the cluster wants an engine's stream. */
export interface AgentWatchOptions {
  /**
   * The longest silence wanted between two messages of the stream (ms); the agent uses the longer
   * of this and its own interval. Undefined: the agent's own.
   */
  heartbeatIntervalMs?: number;
}

export interface AgentStream {
  /** Cancels the stream; the listener hears nothing more. */
  close(): void;
}

/**
 * How the cluster reaches engine-agents: the app dials gRPC, unit tests use fake agents. One
 * connection per address, reused by every stream to it and released by `release`.
 */
export interface AgentConnector {
  watch(address: string, listener: AgentStreamListener, options?: AgentWatchOptions): AgentStream;
  /** Closes the connection to an address the cluster no longer uses. */
  release(address: string): void;
  /**
   * Resolves when the agent's address, unreachable now, accepts connections again: a probe that
   * lets a waiting reconnect run at once. Never resolves while the address stays reachable (a
   * stream that failed for another reason keeps its back-off) or after `signal` aborts.
   */
  backAgain?(address: string, signal: AbortSignal): Promise<void>;
  /** Container operations on the engine behind the agent at `address`. */
  operations(address: string): AgentOperations;
}

/** Whom a create is made for. */
export interface CreateContainerOptions {
  /**
   * The role of the caller the manager acts for: the agent checks the create against its own
   * container policy for this role. Undefined names none, and the agent allows nothing of the host.
   */
  actingRole: Role | undefined;
}

/** What an exec or an attach answers after its start: output, then the exit. */
export type SessionOutput = { $case: 'stdout'; value: Buffer } | { $case: 'stderr'; value: Buffer } | { $case: 'exit'; value: ExitStatus };

/** What an exec answers, in order: started, output, the exit (see ExecContainer in agent.proto). */
export type ExecOutput = { $case: 'started'; value: { execId: string } } | SessionOutput;

/** What an attach answers, in order: started, output, the exit (see AttachContainer in agent.proto). */
export type AttachOutput = { $case: 'started'; value: { tty: boolean } } | SessionOutput;

/** Container operations on one engine, through its agent. Failures are the typed errors of @flotilla/grpc. */
export interface AgentOperations {
  createContainer(request: CreateContainerRequest, options: CreateContainerOptions): Promise<CreateContainerResponse>;
  startContainer(id: string): Promise<StartContainerResponse>;
  stopContainer(id: string, timeoutSeconds: number | undefined): Promise<StopContainerResponse>;
  killContainer(id: string, signal: string): Promise<void>;
  removeContainer(id: string, force: boolean, volumes: boolean): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  renameContainer(id: string, newName: string): Promise<void>;
  updateContainer(id: string, resources: ContainerResources): Promise<UpdateContainerResponse>;
  /** Waits as long as it takes (no deadline of its own); `signal` cancels the call on the agent too. */
  waitContainer(id: string, condition: string, signal: AbortSignal): Promise<WaitContainerResponse>;
  topContainer(id: string, psArgs: string): Promise<TopContainerResponse>;
  inspectContainer(id: string): Promise<InspectContainerResponse>;
  /** Ends when the logs end; `signal` cancels the call on the agent too. */
  containerLogs(request: ContainerLogsRequest, signal: AbortSignal): AsyncIterable<ContainerLogsResponse>;
  /** One sample, or with `stream` one about every second until the container stops; `signal` cancels the call on the agent too. */
  containerStats(id: string, stream: boolean, signal: AbortSignal): AsyncIterable<ContainerStatsResponse>;
  /** `auth` goes to the engine's Docker for this pull only. */
  pullImage(image: string, signal: AbortSignal, auth?: RegistryAuth): AsyncIterable<PullProgress>;
  /** Creates a named volume; an existing one is answered as it is. */
  createVolume(request: CreateVolumeRequest): Promise<CreateVolumeResponse>;
  removeVolume(name: string, force: boolean): Promise<void>;
  inspectVolume(name: string): Promise<InspectVolumeResponse>;
  inspectImage(image: string): Promise<InspectImageResponse>;
  createNetwork(request: CreateNetworkRequest): Promise<CreateNetworkResponse>;
  removeNetwork(network: string): Promise<void>;
  inspectNetwork(network: string): Promise<InspectNetworkResponse>;
  /** Docker's image remove: what it untagged and what it deleted. */
  removeImage(image: string, force: boolean, noPrune: boolean): Promise<{ untagged: string[]; deleted: string[] }>;
  /** Tags the image as `target` (NAME:TAG). */
  tagImage(image: string, target: string): Promise<void>;
  /**
   * Docker's exec in the container: `input` is the caller's stdin and resizes, taken only as fast
   * as the agent takes them (its end closes the program's stdin); `signal` ends the exec's
   * connection on the agent too.
   */
  execContainer(id: string, options: ExecOptions, input: AsyncIterable<SessionInput>, signal: AbortSignal): AsyncIterable<ExecOutput>;
  statContainerPath(id: string, path: string): Promise<PathStat | undefined>;
  inspectExec(execId: string): Promise<InspectExecResponse>;
  /** The path's stat, then its tar archive in pieces; `signal` ends the call on the agent too. */
  copyFromContainer(id: string, path: string, signal: AbortSignal): AsyncIterable<{ $case: 'stat'; value: PathStat } | { $case: 'data'; value: Buffer }>;
  /** Extracts `archive` into the directory `path`, sent as fast as the agent takes it; resolves once Docker extracted it. */
  copyToContainer(id: string, path: string, noOverwriteDirNonDir: boolean, archive: AsyncIterable<Buffer>, signal: AbortSignal): Promise<void>;
  /** Docker's attach to the container's main process, streamed as `execContainer` is. */
  attachContainer(id: string, options: AttachOptions, input: AsyncIterable<SessionInput>, signal: AbortSignal): AsyncIterable<AttachOutput>;
}
