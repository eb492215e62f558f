import { Metadata, type CallOptions as GrpcCallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError } from '@flotilla/errors';
import { call, currentRequestId, eachPage, fromServiceError, newRequestId, requestIdKey, sendAll } from '@flotilla/grpc';
import {
  AddEngineRequest,
  ContainerLogsRequest,
  InspectImageRequest,
  ListImagesRequest,
  RemoveImageRequest,
  TagImageRequest,
  ContainerStatsRequest,
  ExecStart,
  ListNetworksRequest,
  CreateNetworkRequest,
  InspectNetworkRequest,
  RemoveNetworkRequest,
  type ClusterNetwork,
  type ListNetworksResponse,
  type CreateNetworkResponse,
  type InspectNetworkResponse,
  type RemoveNetworkResponse,
  CopyFromContainerRequest,
  CopyToStart,
  StatContainerPathRequest,
  InspectExecRequest,
  type InspectExecResponse,
  type CopyFromContainerResponse,
  type CopyToContainerResponse,
  type StatContainerPathResponse,
  AttachStart,
  type AttachContainerResponse,
  type ExecContainerResponse,
  CreateContainerRequest,
  ExplainPlacementRequest,
  GetEngineRequest,
  GetInfoRequest,
  InspectContainerRequest,
  KillContainerRequest,
  PauseContainerRequest,
  UnpauseContainerRequest,
  RenameContainerRequest,
  UpdateContainerRequest,
  WaitContainerRequest,
  TopContainerRequest,
  ListContainersRequest,
  ListEnginesRequest,
  PullImageRequest,
  RemoveContainerRequest,
  RemoveEngineRequest,
  StartContainerRequest,
  StopContainerRequest,
  SyncEnginesRequest,
  WatchEventsRequest,
  CreateVolumeRequest,
  InspectVolumeRequest,
  ListVolumesRequest,
  RemoveVolumeRequest,
  type CreateVolumeResponse,
  type InspectVolumeResponse,
  type ListVolumesResponse,
  type RemoveVolumeResponse,
  type ClusterVolume,
  type AddEngineResponse,
  type ClusterContainer,
  type ClusterEngine,
  type ClusterServiceClient,
  type ContainerLogsResponse,
  type ClusterImage,
  type InspectImageResponse,
  type ListImagesResponse,
  type RemoveImageResponse,
  type TagImageResponse,
  type ContainerStatsResponse,
  type CreateContainerResponse,
  type ExplainPlacementResponse,
  type GetEngineResponse,
  type GetInfoResponse,
  type InspectContainerResponse,
  type KillContainerResponse,
  type PauseContainerResponse,
  type UnpauseContainerResponse,
  type RenameContainerResponse,
  type WaitContainerResponse,
  type TopContainerResponse,
  type ListContainersResponse,
  type ListEnginesResponse,
  type PullImageResponse,
  type RemoveContainerResponse,
  type RemoveEngineResponse,
  type StartContainerResponse,
  type StopContainerResponse,
  type UpdateContainerResponse,
  type SyncEnginesResponse,
  type WatchEventsResponse,
} from '@flotilla/proto/cluster';
import { withFailover } from './failover';
import { ClientReason } from './failures';
import { ManagerPool, type ManagerChannel } from './managers';
import { checkRequestId, resolveOptions, type CallOptions, type ClusterClientOptions, type ResolvedOptions } from './options';
import { ServerStream, type OpenStream } from './server-stream';
import { ContainerSession, type AttachSession, type ExecSession } from './container-session';

/** A request as its message's `fromPartial` takes it: every field optional, defaults for the rest. */
export type RequestOf<M extends { fromPartial: (object: never) => unknown }> = Parameters<M['fromPartial']>[0];

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Which calls may be sent again after a try that may have reached a manager (its connection
 * broke before the answer, or the manager answered UNAVAILABLE), from the contract's own words
 * (proto/flotilla/cluster/v1/cluster.proto): reads; AddEngine (adding a known address changes
 * nothing); SyncEngines (a generation the manager holds changes nothing); StartContainer and
 * StopContainer (already_running, already_stopped); CreateContainer only with a request_id, its
 * idempotency key; CreateVolume (Docker answers a volume that exists already); TopContainer;
 * TagImage (tagging again changes nothing); UpdateContainer (the same change again changes nothing).
 * Never: RemoveEngine, KillContainer (each sends the signal again), RemoveContainer,
 * RemoveVolume, RemoveImage, PauseContainer and UnpauseContainer (a second try is FAILED_PRECONDITION),
 * RenameContainer (a second try is NOT_FOUND), ExecContainer (the program would run twice), WaitContainer (it waits until the caller gives
 * up: a retry would wait all over again past the caller's time), and CreateContainer without
 * request_id (a second container, or ALREADY_EXISTS). A call that never reached a manager (no
 * connection) goes to the next one whatever it is: nothing was sent.
 */
/** Read by each method below, so the table and the behaviour cannot drift apart. */
export const idempotency = {
  getInfo: true,
  listEngines: true,
  getEngine: true,
  listContainers: true,
  inspectContainer: true,
  explainPlacement: true,
  addEngine: true,
  syncEngines: true,
  startContainer: true,
  stopContainer: true,
  createContainer: 'with request_id',
  removeEngine: false,
  killContainer: false,
  removeContainer: false,
  pauseContainer: false,
  unpauseContainer: false,
  renameContainer: false,
  updateContainer: true,
  waitContainer: false,
  topContainer: true,
  listVolumes: true,
  inspectVolume: true,
  createVolume: true,
  removeVolume: false,
  listImages: true,
  inspectImage: true,
  tagImage: true,
  removeImage: false,
  watchEvents: 'opening only',
  containerLogs: 'opening only',
  containerStats: 'opening only',
  pullImage: 'opening only',
  // A second try could run the program twice: only a try that never reached a manager is made again.
  execContainer: false,
  statContainerPath: true,
  inspectExec: true,
  copyFromContainer: 'opening only',
  // A second try would extract again, and the archive is read once.
  copyToContainer: false,
  listNetworks: true,
  inspectNetwork: true,
  createNetwork: false,
  removeNetwork: false,
  // A second try would attach twice (and a stdin_once container's input would be closed by the first).
  attachContainer: false,
} as const;

/**
 * The cluster API (flotilla.cluster.v1.ClusterService) as promises and async iterators, over one
 * or more cluster-managers:
 *
 * ```ts
 * const cluster = new ClusterClient({ managers: ['10.0.0.1:4240', '10.0.0.2:4240'], tls: { ca, cert, key } });
 * const { id } = await cluster.createContainer({ spec: { image: 'busybox', command: ['sleep', '60'] }, start: true, requestId: 'deploy-42' });
 * for await (const c of cluster.containers({ all: true })) console.log(c.container?.names, c.engine?.address);
 * cluster.close();
 * ```
 *
 * Each call has a deadline (the client's `deadlineMs`, else the call's) and may take a signal.
 * A call whose connection fails goes to the next manager; one that was sent and broke is tried
 * again (with back-off, at most `retry.attempts` times, never past its deadline) only when it
 * is idempotent (see `idempotency`). Failures are @flotilla/errors classes: the manager's own,
 * with their reason, violations and details, or the client's (see ClientReason). One channel per
 * manager, made on first use; close() closes them all and cancels open streams.
 */
export class ClusterClient {
  private readonly options: ResolvedOptions;
  private readonly pool: ManagerPool;
  private readonly streams = new Set<ServerStream<unknown>>();
  private closed = false;

  constructor(options: ClusterClientOptions) {
    this.options = resolveOptions(options);
    this.pool = new ManagerPool(this.options);
  }

  /** The managers, normalised, in the order given. */
  get managers(): string[] {
    return this.pool.addresses;
  }

  /** The manager that answered last (calls go to it first); undefined before any answer. */
  get activeManager(): string | undefined {
    return this.pool.active;
  }

  // Cluster and engines.

  /** The cluster's settings, counts and totals. Read-only: retried. */
  getInfo(request: RequestOf<typeof GetInfoRequest> = {}, options?: CallOptions): Promise<GetInfoResponse> {
    return this.unary(idempotency.getInfo, (c) => c.getInfo, GetInfoRequest.fromPartial(request), options);
  }

  /** One page of engines; see `engines()` for all of them. Read-only: retried. */
  listEngines(request: RequestOf<typeof ListEnginesRequest> = {}, options?: CallOptions): Promise<ListEnginesResponse> {
    return this.unary(idempotency.listEngines, (c) => c.listEngines, ListEnginesRequest.fromPartial(request), options);
  }

  /** One engine by address, Docker engine ID or name. Read-only: retried. */
  getEngine(request: RequestOf<typeof GetEngineRequest>, options?: CallOptions): Promise<GetEngineResponse> {
    return this.unary(idempotency.getEngine, (c) => c.getEngine, GetEngineRequest.fromPartial(request), options);
  }

  /** Adds an engine-agent address by hand. Idempotent (a known address changes nothing): retried. */
  addEngine(request: RequestOf<typeof AddEngineRequest>, options?: CallOptions): Promise<AddEngineResponse> {
    return this.unary(idempotency.addEngine, (c) => c.addEngine, AddEngineRequest.fromPartial(request), options);
  }

  /** Drops an engine. Not retried once sent: a second try would be NOT_FOUND. */
  removeEngine(request: RequestOf<typeof RemoveEngineRequest>, options?: CallOptions): Promise<RemoveEngineResponse> {
    return this.unary(idempotency.removeEngine, (c) => c.removeEngine, RemoveEngineRequest.fromPartial(request), options);
  }

  /** Sets the engines one discovery source sees (role discovery). Idempotent by generation: retried. */
  syncEngines(request: RequestOf<typeof SyncEnginesRequest>, options?: CallOptions): Promise<SyncEnginesResponse> {
    return this.unary(idempotency.syncEngines, (c) => c.syncEngines, SyncEnginesRequest.fromPartial(request), options);
  }

  // Containers.

  /**
   * Places, creates and (with `start`) starts a container. Retried only with a `requestId`, the
   * create's idempotency key (a retry answers with the container the first try made); without
   * one a lost answer is MANAGER_CONNECTION_LOST and the container may exist. Give a longer
   * `deadlineMs` when the engine may have to pull the image.
   */
  createContainer(request: RequestOf<typeof CreateContainerRequest>, options?: CallOptions): Promise<CreateContainerResponse> {
    const message = CreateContainerRequest.fromPartial(request);
    return this.unary(message.requestId !== '', (c) => c.createContainer, message, options);
  }

  /** Where a container would go and why, without creating it. Read-only: retried. */
  explainPlacement(request: RequestOf<typeof ExplainPlacementRequest>, options?: CallOptions): Promise<ExplainPlacementResponse> {
    return this.unary(idempotency.explainPlacement, (c) => c.explainPlacement, ExplainPlacementRequest.fromPartial(request), options);
  }

  /** Starts a container. Idempotent (already_running): retried. */
  startContainer(request: RequestOf<typeof StartContainerRequest>, options?: CallOptions): Promise<StartContainerResponse> {
    return this.unary(idempotency.startContainer, (c) => c.startContainer, StartContainerRequest.fromPartial(request), options);
  }

  /** Stops a container. Idempotent (already_stopped): retried. */
  stopContainer(request: RequestOf<typeof StopContainerRequest>, options?: CallOptions): Promise<StopContainerResponse> {
    return this.unary(idempotency.stopContainer, (c) => c.stopContainer, StopContainerRequest.fromPartial(request), options);
  }

  /** Signals a container. Not retried once sent: each call sends the signal again. */
  killContainer(request: RequestOf<typeof KillContainerRequest>, options?: CallOptions): Promise<KillContainerResponse> {
    return this.unary(idempotency.killContainer, (c) => c.killContainer, KillContainerRequest.fromPartial(request), options);
  }

  /** Removes a container. Not retried once sent: a second try would be NOT_FOUND. */
  removeContainer(request: RequestOf<typeof RemoveContainerRequest>, options?: CallOptions): Promise<RemoveContainerResponse> {
    return this.unary(idempotency.removeContainer, (c) => c.removeContainer, RemoveContainerRequest.fromPartial(request), options);
  }

  /** Pauses a container. Not retried once sent, as kill: a second try would be FAILED_PRECONDITION. */
  pauseContainer(request: RequestOf<typeof PauseContainerRequest>, options?: CallOptions): Promise<PauseContainerResponse> {
    return this.unary(idempotency.pauseContainer, (c) => c.pauseContainer, PauseContainerRequest.fromPartial(request), options);
  }

  /** Unpauses a container. Not retried once sent, as kill: a second try would be FAILED_PRECONDITION. */
  unpauseContainer(request: RequestOf<typeof UnpauseContainerRequest>, options?: CallOptions): Promise<UnpauseContainerResponse> {
    return this.unary(idempotency.unpauseContainer, (c) => c.unpauseContainer, UnpauseContainerRequest.fromPartial(request), options);
  }

  /** Renames a container. Not retried once sent, as kill: a second try would be NOT_FOUND. */
  renameContainer(request: RequestOf<typeof RenameContainerRequest>, options?: CallOptions): Promise<RenameContainerResponse> {
    return this.unary(idempotency.renameContainer, (c) => c.renameContainer, RenameContainerRequest.fromPartial(request), options);
  }

  /** Changes a container's resources or restart policy. Retried: the same change again changes nothing. */
  updateContainer(request: RequestOf<typeof UpdateContainerRequest>, options?: CallOptions): Promise<UpdateContainerResponse> {
    return this.unary(idempotency.updateContainer, (c) => c.updateContainer, UpdateContainerRequest.fromPartial(request), options);
  }

  /**
   * Waits until a container meets the condition (default: not running) and answers its exit code.
   * Never retried: it lasts until the container ends or the call's deadline (`deadlineMs`, which
   * may be Infinity for none) or signal ends it, on the manager and the engine too.
   */
  waitContainer(request: RequestOf<typeof WaitContainerRequest>, options?: CallOptions): Promise<WaitContainerResponse> {
    return this.unary(idempotency.waitContainer, (c) => c.waitContainer, WaitContainerRequest.fromPartial(request), options);
  }

  /** The processes of a running container. Read-only: retried. */
  /** An exec of a container: whether its program runs, and its exit code once it ended. Read-only: retried. */
  inspectExec(request: RequestOf<typeof InspectExecRequest>, options?: CallOptions): Promise<InspectExecResponse> {
    return this.unary(idempotency.inspectExec, (c) => c.inspectExec, InspectExecRequest.fromPartial(request), options);
  }

  /** What a path in a container is (docker cp asks first). Read-only: retried. */
  statContainerPath(request: RequestOf<typeof StatContainerPathRequest>, options?: CallOptions): Promise<StatContainerPathResponse> {
    return this.unary(idempotency.statContainerPath, (c) => c.statContainerPath, StatContainerPathRequest.fromPartial(request), options);
  }

  topContainer(request: RequestOf<typeof TopContainerRequest>, options?: CallOptions): Promise<TopContainerResponse> {
    return this.unary(idempotency.topContainer, (c) => c.topContainer, TopContainerRequest.fromPartial(request), options);
  }

  /** A container in detail. Read-only: retried. */
  inspectContainer(request: RequestOf<typeof InspectContainerRequest>, options?: CallOptions): Promise<InspectContainerResponse> {
    return this.unary(idempotency.inspectContainer, (c) => c.inspectContainer, InspectContainerRequest.fromPartial(request), options);
  }

  /** One page of containers; see `containers()` for all of them. Read-only: retried. */
  listContainers(request: RequestOf<typeof ListContainersRequest> = {}, options?: CallOptions): Promise<ListContainersResponse> {
    return this.unary(idempotency.listContainers, (c) => c.listContainers, ListContainersRequest.fromPartial(request), options);
  }

  // Volumes.

  /** One page of volumes, each with its engine; see `volumes()` for all of them. Read-only: retried. */
  listVolumes(request: RequestOf<typeof ListVolumesRequest> = {}, options?: CallOptions): Promise<ListVolumesResponse> {
    return this.unary(idempotency.listVolumes, (c) => c.listVolumes, ListVolumesRequest.fromPartial(request), options);
  }

  /** Creates a named volume on the engines named or on every healthy one, one result per engine. Retried: Docker answers a volume that exists. */
  createVolume(request: RequestOf<typeof CreateVolumeRequest>, options?: CallOptions): Promise<CreateVolumeResponse> {
    return this.unary(idempotency.createVolume, (c) => c.createVolume, CreateVolumeRequest.fromPartial(request), options);
  }

  /** A volume in detail, on the engine named or the one holding it. Read-only: retried. */
  inspectVolume(request: RequestOf<typeof InspectVolumeRequest>, options?: CallOptions): Promise<InspectVolumeResponse> {
    return this.unary(idempotency.inspectVolume, (c) => c.inspectVolume, InspectVolumeRequest.fromPartial(request), options);
  }

  /** Removes a volume from the engine named or every engine holding it. Not retried once sent: a second try would be NOT_FOUND. */
  removeVolume(request: RequestOf<typeof RemoveVolumeRequest>, options?: CallOptions): Promise<RemoveVolumeResponse> {
    return this.unary(idempotency.removeVolume, (c) => c.removeVolume, RemoveVolumeRequest.fromPartial(request), options);
  }

  /** One page of networks, one entry per engine and network. Read-only: retried. */
  listNetworks(request: RequestOf<typeof ListNetworksRequest> = {}, options?: CallOptions): Promise<ListNetworksResponse> {
    return this.unary(idempotency.listNetworks, (c) => c.listNetworks, ListNetworksRequest.fromPartial(request), options);
  }

  /** Creates a bridge network on the engines named or every healthy one; a result per engine. Not retried: a second try finds it there (ALREADY_EXISTS). */
  createNetwork(request: RequestOf<typeof CreateNetworkRequest>, options?: CallOptions): Promise<CreateNetworkResponse> {
    return this.unary(idempotency.createNetwork, (c) => c.createNetwork, CreateNetworkRequest.fromPartial(request), options);
  }

  /** A network and Docker's document. Read-only: retried. */
  inspectNetwork(request: RequestOf<typeof InspectNetworkRequest>, options?: CallOptions): Promise<InspectNetworkResponse> {
    return this.unary(idempotency.inspectNetwork, (c) => c.inspectNetwork, InspectNetworkRequest.fromPartial(request), options);
  }

  /** Removes a network from the engine named or every engine holding it. Not retried. */
  removeNetwork(request: RequestOf<typeof RemoveNetworkRequest>, options?: CallOptions): Promise<RemoveNetworkResponse> {
    return this.unary(idempotency.removeNetwork, (c) => c.removeNetwork, RemoveNetworkRequest.fromPartial(request), options);
  }

  // Images.

  /** One page of images, one entry per engine holding each; see `images()` for all of them. Read-only: retried. */
  listImages(request: RequestOf<typeof ListImagesRequest> = {}, options?: CallOptions): Promise<ListImagesResponse> {
    return this.unary(idempotency.listImages, (c) => c.listImages, ListImagesRequest.fromPartial(request), options);
  }

  /** An image in detail, on the engine named or the first healthy one holding it. Read-only: retried. */
  inspectImage(request: RequestOf<typeof InspectImageRequest>, options?: CallOptions): Promise<InspectImageResponse> {
    return this.unary(idempotency.inspectImage, (c) => c.inspectImage, InspectImageRequest.fromPartial(request), options);
  }

  /** `docker rmi` on the engine named or every engine holding the image. Not retried once sent: a second try would be NOT_FOUND. */
  removeImage(request: RequestOf<typeof RemoveImageRequest>, options?: CallOptions): Promise<RemoveImageResponse> {
    return this.unary(idempotency.removeImage, (c) => c.removeImage, RemoveImageRequest.fromPartial(request), options);
  }

  /** `docker tag` on the engine named or every engine holding the image. Retried: tagging again changes nothing. */
  tagImage(request: RequestOf<typeof TagImageRequest>, options?: CallOptions): Promise<TagImageResponse> {
    return this.unary(idempotency.tagImage, (c) => c.tagImage, TagImageRequest.fromPartial(request), options);
  }

  // Listings, page after page.

  /** Every engine that matches, page after page (each page a call with its own deadline and tries). */
  engines(request: Omit<RequestOf<typeof ListEnginesRequest>, 'pageToken'> = {}, options?: CallOptions): AsyncGenerator<ClusterEngine> {
    return this.walk((pageToken) => this.listEngines({ ...request, pageToken }, options), (page) => page.engines);
  }

  /** Every container that matches, page after page (each page a call with its own deadline and tries). */
  containers(request: Omit<RequestOf<typeof ListContainersRequest>, 'pageToken'> = {}, options?: CallOptions): AsyncGenerator<ClusterContainer> {
    return this.walk((pageToken) => this.listContainers({ ...request, pageToken }, options), (page) => page.containers);
  }

  /** Every volume that matches, page after page (each page a call with its own deadline and tries). */
  volumes(request: Omit<RequestOf<typeof ListVolumesRequest>, 'pageToken'> = {}, options?: CallOptions): AsyncGenerator<ClusterVolume> {
    return this.walk((pageToken) => this.listVolumes({ ...request, pageToken }, options), (page) => page.volumes);
  }

  /** Every network that matches, one entry per engine, page after page (each page a call with its own deadline and tries). */
  networks(request: Omit<RequestOf<typeof ListNetworksRequest>, 'pageToken'> = {}, options?: CallOptions): AsyncGenerator<ClusterNetwork> {
    return this.walk((pageToken) => this.listNetworks({ ...request, pageToken }, options), (page) => page.networks);
  }

  /** Every image that matches, one entry per engine, page after page (each page a call with its own deadline and tries). */
  images(request: Omit<RequestOf<typeof ListImagesRequest>, 'pageToken'> = {}, options?: CallOptions): AsyncGenerator<ClusterImage> {
    return this.walk((pageToken) => this.listImages({ ...request, pageToken }, options), (page) => page.images);
  }

  // Streams: see ServerStream (opened at once, fail-over while opening, never resumed).

  /** The cluster's events from the moment the subscription is live (`opened`); no replay. */
  watchEvents(request: RequestOf<typeof WatchEventsRequest> = {}, options?: CallOptions): ServerStream<WatchEventsResponse> {
    const message = WatchEventsRequest.fromPartial(request);
    return this.stream((c, metadata, deadline) => c.raw.watchEvents(message, metadata, deadline === undefined ? {} : { deadline }), options);
  }

  /** A container's output (to its end, or following it with `follow`). */
  containerLogs(request: RequestOf<typeof ContainerLogsRequest>, options?: CallOptions): ServerStream<ContainerLogsResponse> {
    const message = ContainerLogsRequest.fromPartial(request);
    return this.stream((c, metadata, deadline) => c.raw.containerLogs(message, metadata, deadline === undefined ? {} : { deadline }), options);
  }

  /** A container's resource use: one sample, or with `stream` one about every second until it stops. */
  containerStats(request: RequestOf<typeof ContainerStatsRequest>, options?: CallOptions): ServerStream<ContainerStatsResponse> {
    const message = ContainerStatsRequest.fromPartial(request);
    return this.stream((c, metadata, deadline) => c.raw.containerStats(message, metadata, deadline === undefined ? {} : { deadline }), options);
  }

  /** A path of a container as a tar archive: `source` (its stat and engine), then `data` pieces. */
  copyFromContainer(request: RequestOf<typeof CopyFromContainerRequest>, options?: CallOptions): ServerStream<CopyFromContainerResponse> {
    const message = CopyFromContainerRequest.fromPartial(request);
    return this.stream((c, metadata, deadline) => c.raw.copyFromContainer(message, metadata, deadline === undefined ? {} : { deadline }), options);
  }

  /**
   * Extracts a tar archive into a directory of a container: `archive`'s pieces (at most 1 MiB
   * each) are sent as fast as the manager takes them, and the promise settles with the answer once
   * Docker extracted them. Never tried again once a piece was read: the archive is read once.
   */
  async copyToContainer(start: RequestOf<typeof CopyToStart>, archive: AsyncIterable<Buffer>, options: CallOptions = {}): Promise<CopyToContainerResponse> {
    this.checkOpen();
    const message = CopyToStart.fromPartial(start);
    const requestId = this.requestIdOf(options);
    let reading = false;
    const deadline = options.deadlineMs === undefined ? undefined : Date.now() + options.deadlineMs;
    return withFailover(this.pool, this.options, { deadline, deadlineMs: options.deadlineMs, signal: options.signal, idempotent: false }, (channel) => {
      if (reading) throw new FailedPreconditionError('the archive was already being read by an earlier try; copy again');
      reading = true;
      return new Promise<CopyToContainerResponse>((resolve, reject) => {
        const metadata = new Metadata();
        metadata.set(requestIdKey, requestId);
        const upload = channel.raw.copyToContainer(metadata, deadline === undefined ? {} : { deadline }, (err, response) => {
          options.signal?.removeEventListener('abort', cancel);
          if (sending.failure) reject(sending.failure);
          else if (err) reject(fromServiceError(err));
          else resolve(response!);
        });
        const cancel = (): void => upload.cancel();
        options.signal?.addEventListener('abort', cancel, { once: true });
        upload.write({ request: { $case: 'start', value: message } });
        const sending = sendAll(upload, archive, (piece: Buffer) => ({ request: { $case: 'data' as const, value: piece } }), options.signal);
      });
    });
  }

  /** Pulls an image on every healthy engine (or those named), with each engine's progress. */
  pullImage(request: RequestOf<typeof PullImageRequest>, options?: CallOptions): ServerStream<PullImageResponse> {
    const message = PullImageRequest.fromPartial(request);
    return this.stream((c, metadata, deadline) => c.raw.pullImage(message, metadata, deadline === undefined ? {} : { deadline }), options);
  }

  /**
   * Runs a program in a running container (`docker exec`): the session's output, its stdin and
   * resizes; see ExecSession. Not tried on another manager once sent: it could run twice.
   */
  exec(start: RequestOf<typeof ExecStart>, options?: CallOptions): ExecSession {
    const message = ExecStart.fromPartial(start);
    const session = new ContainerSession<ExecContainerResponse>();
    session.attach(
      this.stream(
        (c, metadata, deadline) => {
          const call = c.raw.execContainer(metadata, deadline === undefined ? {} : { deadline });
          call.write({ request: { $case: 'start', value: message } });
          return session.opening(call);
        },
        options,
        idempotency.execContainer,
      ),
    );
    return session;
  }

  /**
   * Attaches to a container's main process (`docker attach`), as `exec` runs a program: the
   * container's output from now on (or from its start with `options.logs`), its stdin and resizes,
   * and its exit code when it stops. For `docker run -it`: create, attach, wait for `started`, start.
   */
  attach(start: RequestOf<typeof AttachStart>, options?: CallOptions): AttachSession {
    const message = AttachStart.fromPartial(start);
    const session = new ContainerSession<AttachContainerResponse>();
    session.attach(
      this.stream(
        (c, metadata, deadline) => {
          const call = c.raw.attachContainer(metadata, deadline === undefined ? {} : { deadline });
          call.write({ request: { $case: 'start', value: message } });
          return session.opening(call);
        },
        options,
        idempotency.attachContainer,
      ),
    );
    return session;
  }

  /** Closes every channel and cancels the open streams; later calls fail with FailedPreconditionError (CLIENT_CLOSED). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of [...this.streams]) stream.cancel();
    this.pool.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new FailedPreconditionError('the cluster client is closed', { reason: ClientReason.CLIENT_CLOSED });
  }

  /** The request ID of a call: its own, the client's, the server call's it is made for, or a fresh one. */
  private requestIdOf(options: CallOptions | undefined): string {
    return checkRequestId('requestId', options?.requestId) ?? this.options.requestId ?? currentRequestId() ?? newRequestId();
  }

  private async unary<Req, Res>(idempotent: boolean, pick: (c: ClusterServiceClient) => UnaryMethod<Req, Res>, request: Req, options: CallOptions = {}): Promise<Res> {
    this.checkOpen();
    const deadlineMs = options.deadlineMs ?? this.options.deadlineMs;
    if (!(deadlineMs > 0)) throw InvalidArgumentError.field('deadlineMs', deadlineMs, 'must be more than 0');
    const deadline = Date.now() + deadlineMs;
    const requestId = this.requestIdOf(options);
    return withFailover(this.pool, this.options, { deadline, deadlineMs, signal: options.signal, idempotent }, (channel: ManagerChannel) => {
      const client = channel.raw;
      return call(client, pick(client), request, { deadlineMs: Math.max(1, deadline - Date.now()), signal: options.signal, requestId });
    });
  }

  private stream<T>(open: OpenStream<T>, options: CallOptions = {}, idempotent = true): ServerStream<T> {
    this.checkOpen();
    const deadlineMs = options.deadlineMs;
    if (deadlineMs !== undefined && !(deadlineMs > 0)) throw InvalidArgumentError.field('deadlineMs', deadlineMs, 'must be more than 0');
    const deadline = deadlineMs === undefined ? undefined : Date.now() + deadlineMs;
    const requestId = this.requestIdOf(options);
    const metadata = () => {
      const m = new Metadata();
      m.set(requestIdKey, requestId);
      return m;
    };
    const stream: ServerStream<T> = new ServerStream<T>(this.pool, this.options, { deadline, deadlineMs, signal: options.signal, idempotent }, metadata, open, (s) => this.streams.delete(s as ServerStream<unknown>));
    this.streams.add(stream as ServerStream<unknown>);
    return stream;
  }

  /** Every item of a paged listing (see eachPage). */
  private async *walk<Page extends { nextPageToken: string }, Item>(read: (pageToken: string) => Promise<Page>, itemsOf: (page: Page) => Item[]): AsyncGenerator<Item> {
    for await (const page of eachPage(read)) yield* itemsOf(page);
  }
}
