import type { AgentConnector, AgentOperations, AgentStream, AgentStreamListener, AgentWatchOptions, AttachOutput, ExecOutput } from '@flotilla/cluster';
import { call, checkDialAllowed, dial, dialTls, fromServiceError, sendAll, spreadAgentLinkKeepalive, streamOf, type DialOptions, type Keepalive, type Security } from '@flotilla/grpc';
import { actingRoleKey, type SessionInput } from '@flotilla/policy';
import type { PullProgress } from '@flotilla/proto';
import { EngineAgentServiceClient, type AttachContainerRequest, type ExecContainerRequest, type PullImageResponse, type WatchResponse } from '@flotilla/proto/agent';
import { connectivityState, Metadata, type ClientDuplexStream, type ClientReadableStream } from '@grpc/grpc-js';

/** A server stream as an async iterable that the signal cancels. */
async function* cancellable<T>(stream: ClientReadableStream<T>, signal: AbortSignal): AsyncGenerator<T> {
  const cancel = () => stream.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    yield* streamOf(stream);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** The `response` of each message of a stream whose messages are a oneof (one without, from a newer agent, is skipped). */
async function* responsesOf<T>(messages: AsyncIterable<{ response?: T }>): AsyncGenerator<T> {
  for await (const message of messages) if (message.response) yield message.response;
}

/**
 * A copy into a container on the agent: the start, then the archive's pieces as fast as the agent
 * takes them, then the half-close; resolves with the agent's answer. A failure of the archive
 * (the manager's caller) cancels the agent's call and is the error.
 */
function copyThrough(client: EngineAgentServiceClient, start: { id: string; path: string; noOverwriteDirNonDir: boolean }, archive: AsyncIterable<Buffer>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const upload = client.copyToContainer(new Metadata(), {}, (err) => {
      signal.removeEventListener('abort', cancel);
      if (sending.failure) reject(sending.failure);
      else if (err) reject(fromServiceError(err));
      else resolve();
    });
    const cancel = (): void => upload.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    upload.write({ request: { $case: 'start', value: start } });
    const sending = sendAll(upload, archive, (piece) => ({ request: { $case: 'data' as const, value: piece } }), signal);
  });
}

/** The progress lines of an agent's pull; a response without one (from a newer agent) is skipped. */
async function* progressOf(responses: AsyncIterable<PullImageResponse>): AsyncGenerator<PullProgress> {
  for await (const response of responses) if (response.progress) yield response.progress;
}

/**
 * An exec or an attach on the agent: the start, then `input` as fast as the agent takes it (its
 * end is the half-close that closes the program's stdin), while the agent's answers are read. A
 * failure of `input` (a bad message from the manager's caller) cancels the agent's call and is the
 * error.
 */
async function* twoWay<Req, Out>(call: ClientDuplexStream<Req, { response?: Out }>, start: Req, message: (input: SessionInput) => Req, input: AsyncIterable<SessionInput>, signal: AbortSignal): AsyncGenerator<Out> {
  const cancel = () => call.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  call.write(start);
  const sending = sendAll(call, input, message, signal);
  try {
    yield* responsesOf(streamOf(call));
  } catch (err) {
    throw sending.failure ?? err;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  if (sending.failure) throw sending.failure;
}

export interface GrpcAgentConnectorOptions {
  /** The manager's own identity: agents obey only a caller whose certificate says role manager. */
  security: Security;
  keepalive?: Partial<Keepalive>;
}

/**
 * grpc-js's own reconnect back-off, kept short (its default grows to two minutes): the cluster
 * paces the retries of a failed stream, and the channel must not make them wait longer.
 */
export const channelReconnectOptions = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1_000 } as const;

/** How the manager dials one agent; each call draws the link's own keepalive interval (spreadKeepalive). */
export function agentLinkDialOptions(options: GrpcAgentConnectorOptions, random: () => number = Math.random): DialOptions {
  return {
    tls: dialTls(options.security),
    keepalive: spreadAgentLinkKeepalive(options.keepalive, random),
    // A pool of its own per channel: grpc-js's shared pool makes closing N channels O(N²).
    channelOptions: { 'grpc.use_local_subchannel_pool': 1, ...channelReconnectOptions },
  };
}

/**
 * Reaches engine-agents over gRPC: one channel per address for as long as the cluster holds the
 * engine, shared by the streams to it, and closed only by `release`. A failed stream keeps its
 * channel: grpc-js can finish a connection attempt after its channel was closed, so dropping and
 * re-dialling a channel on every failure left one open connection behind per agent restart.
 */
export class GrpcAgentConnector implements AgentConnector {
  private readonly clients = new Map<string, EngineAgentServiceClient>();

  constructor(private readonly options: GrpcAgentConnectorOptions) {}

  private client(address: string): EngineAgentServiceClient {
    let client = this.clients.get(address);
    if (!client) {
      checkDialAllowed(this.options.security, 'engine address', address);
      client = dial(EngineAgentServiceClient, address, agentLinkDialOptions(this.options));
      this.clients.set(address, client);
    }
    return client;
  }

  watch(address: string, listener: AgentStreamListener, options: AgentWatchOptions = {}): AgentStream {
    const call = this.client(address).watch({ heartbeatIntervalMs: options.heartbeatIntervalMs ?? 0 });
    let done = false;
    const finish = (error: Error | undefined) => {
      if (done) return;
      done = true;
      listener.end(error);
    };
    call.on('data', (message: WatchResponse) => {
      if (!done) listener.message(message);
    });
    call.on('error', (err: Error) => finish(err));
    call.on('end', () => finish(undefined));
    return {
      close() {
        done = true;
        call.cancel();
      },
    };
  }

  /**
   * Each operation carries the request ID of the manager's call it is made for (the CLI
   * command's): `dial` sends the current server call's ID with every call started while that call
   * is open (see libs/grpc request-id.ts), so the cluster domain passes nothing of the transport.
   */
  operations(address: string): AgentOperations {
    const client = () => this.client(address);
    return {
      // The agent checks the create against its own policy for the role named here; none: nothing of the host.
      createContainer: (request, { actingRole }) => call(client(), client().createContainer, request, { metadata: actingRole ? { [actingRoleKey]: actingRole } : {} }),
      startContainer: (id) => call(client(), client().startContainer, { id }),
      stopContainer: (id, timeoutSeconds) => call(client(), client().stopContainer, { id, timeoutSeconds }, timeoutSeconds ? { deadlineMs: (timeoutSeconds + 30) * 1000 } : {}),
      killContainer: async (id, signal) => void (await call(client(), client().killContainer, { id, signal })),
      removeContainer: async (id, force, volumes) => void (await call(client(), client().removeContainer, { id, force, volumes })),
      pauseContainer: async (id) => void (await call(client(), client().pauseContainer, { id })),
      unpauseContainer: async (id) => void (await call(client(), client().unpauseContainer, { id })),
      renameContainer: async (id, newName) => void (await call(client(), client().renameContainer, { id, newName })),
      updateContainer: (id, resources) => call(client(), client().updateContainer, { id, resources }),
      // No deadline (grpc-js takes Infinity as none): the wait lasts as long as the manager's
      // caller lets it, whose call's signal cancels this one.
      waitContainer: (id, condition, signal) => call(client(), client().waitContainer, { id, condition }, { deadlineMs: Infinity, signal }),
      topContainer: (id, psArgs) => call(client(), client().topContainer, { id, psArgs }),
      inspectContainer: (id) => call(client(), client().inspectContainer, { id }),
      containerLogs: (request, signal) => cancellable(client().containerLogs(request), signal),
      containerStats: (id, stream, signal) => cancellable(client().containerStats({ id, stream }), signal),
      pullImage: (image, signal, auth) => progressOf(cancellable(client().pullImage({ image, auth }), signal)),
      createVolume: (request) => call(client(), client().createVolume, request),
      removeVolume: async (name, force) => void (await call(client(), client().removeVolume, { name, force })),
      inspectVolume: (name) => call(client(), client().inspectVolume, { name }),
      inspectImage: (image) => call(client(), client().inspectImage, { image }),
      createNetwork: (request) => call(client(), client().createNetwork, request),
      removeNetwork: async (network) => void (await call(client(), client().removeNetwork, { network })),
      inspectNetwork: (network) => call(client(), client().inspectNetwork, { network }),
      removeImage: (image, force, noPrune) => call(client(), client().removeImage, { image, force, noPrune }),
      tagImage: async (image, tag) => void (await call(client(), client().tagImage, { image, tag })),
      execContainer: (id, options, input, signal) =>
        twoWay<ExecContainerRequest, ExecOutput>(client().execContainer(), { request: { $case: 'start', value: { id, options } } }, (request) => ({ request }), input, signal),
      inspectExec: (execId) => call(client(), client().inspectExec, { execId }),
      statContainerPath: async (id, path) => (await call(client(), client().statContainerPath, { id, path })).stat,
      copyFromContainer: (id, path, signal) => responsesOf(cancellable(client().copyFromContainer({ id, path }), signal)),
      copyToContainer: (id, path, noOverwriteDirNonDir, archive, signal) => copyThrough(client(), { id, path, noOverwriteDirNonDir }, archive, signal),
      attachContainer: (id, options, input, signal) =>
        twoWay<AttachContainerRequest, AttachOutput>(client().attachContainer(), { request: { $case: 'start', value: { id, options } } }, (request) => ({ request }), input, signal),
    };
  }

  /**
   * Watches the channel to `address` (grpc-js retries its connection every 200 ms to 1 s while
   * asked to) and resolves when it becomes READY after having been down; never while the address
   * stays reachable, so a stream refused for another reason keeps the cluster's back-off.
   */
  backAgain(address: string, signal: AbortSignal): Promise<void> {
    const client = this.clients.get(address);
    if (!client) return new Promise(() => undefined);
    const channel = client.getChannel();
    return new Promise((resolve) => {
      let wasDown = false;
      const check = (): void => {
        if (signal.aborted || this.clients.get(address) !== client) return;
        let state: connectivityState;
        try {
          state = channel.getConnectivityState(true);
        } catch {
          return; // closed meanwhile
        }
        if (state === connectivityState.READY && wasDown) return resolve();
        if (state === connectivityState.SHUTDOWN) return;
        if (state !== connectivityState.READY) wasDown = true;
        // A bounded wait, so an aborted probe's watcher is gone within seconds.
        channel.watchConnectivityState(state, Date.now() + 5_000, () => check());
      };
      check();
    });
  }

  release(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  closeAll(): void {
    for (const address of [...this.clients.keys()]) this.release(address);
  }
}
