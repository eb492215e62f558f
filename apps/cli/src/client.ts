import { connectivityState, Metadata, type CallOptions, type ClientReadableStream, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { call, dial, hasTls, newRequestId, streamOf } from '@flotilla/grpc';
import { CancelledError, DeadlineExceededError, FlotillaError, UnavailableError } from '@flotilla/errors';
import { ClusterServiceClient } from '@flotilla/proto/cluster';
import { CliError, connectionProblem, InterruptedError, UnreachableError } from './errors';
import type { Settings } from './settings';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The cluster API as the CLI uses it: one channel to the manager, every call cancelled by Ctrl-C,
 * and errors sorted into "the manager cannot be reached" (the channel never got, or lost, its
 * connection) and what the manager itself answered.
 */
export class Cluster {
  private client: ClusterServiceClient | undefined;
  /** Set once the manager has answered anything. */
  private answered = false;

  constructor(
    readonly settings: Settings,
    private readonly signal: AbortSignal,
    private readonly interruptedBy: () => NodeJS.Signals | undefined,
    /** Sent with every call of the command (gRPC metadata flotilla-request-id), so its lines in the services' logs can be found. */
    readonly requestId: string = newRequestId(),
  ) {}

  /** The generated client (dialled on first use). */
  get raw(): ClusterServiceClient {
    this.client ??= dial(ClusterServiceClient, this.settings.manager, {
      tls: this.settings.tls,
      defaultDeadlineMs: this.settings.timeoutMs,
      requestId: this.requestId,
      // A CLI gives up on a dead manager quickly, and never waits minutes in back-off.
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
    });
    return this.client;
  }

  /** A unary call; `deadlineMs` overrides --timeout for calls that legitimately take long (create pulls). */
  async call<Req, Res>(pick: (c: ClusterServiceClient) => UnaryMethod<Req, Res>, request: Req, deadlineMs?: number): Promise<Res> {
    const client = this.raw;
    this.checkInterrupted();
    try {
      const response = await call(client, pick(client), request, { signal: this.signal, deadlineMs: deadlineMs ?? this.settings.timeoutMs });
      this.answered = true;
      return response;
    } catch (err) {
      throw this.classify(err);
    }
  }

  /**
   * A server stream as an async iterable; Ctrl-C (or leaving the loop) cancels it on the manager
   * too. Aborting `until` ends the stream quietly.
   */
  async *stream<Res>(open: (c: ClusterServiceClient) => ClientReadableStream<Res>, until?: AbortSignal): AsyncGenerator<Res> {
    this.checkInterrupted();
    if (until?.aborted) return;
    const stream = open(this.raw);
    const cancel = () => stream.cancel();
    this.signal.addEventListener('abort', cancel, { once: true });
    until?.addEventListener('abort', cancel, { once: true });
    stream.on('metadata', () => (this.answered = true));
    try {
      for await (const item of streamOf(stream)) {
        this.answered = true;
        yield item;
      }
    } catch (err) {
      if (until?.aborted && !this.signal.aborted && err instanceof CancelledError) return;
      throw this.classify(err);
    } finally {
      this.signal.removeEventListener('abort', cancel);
      until?.removeEventListener('abort', cancel);
      stream.cancel();
    }
    this.checkInterrupted();
  }

  private checkInterrupted(): void {
    if (this.signal.aborted) throw new InterruptedError(this.interruptedBy());
  }

  /** Sorts a failed call: interrupted by us, manager unreachable, or the manager's own answer. */
  classify(err: unknown): unknown {
    if (err instanceof CliError) return err;
    if (this.signal.aborted && (err instanceof CancelledError || !(err instanceof FlotillaError))) return new InterruptedError(this.interruptedBy());
    if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) return err;
    const state = this.client?.getChannel().getConnectivityState(false);
    // The manager answered this status itself (an engine is unavailable, an engine call timed out).
    if (state === connectivityState.READY) return err;
    const why = err instanceof DeadlineExceededError ? `no answer within ${seconds(this.settings.timeoutMs)}` : connectionProblem(err.message);
    return new UnreachableError(this.settings.manager, why, this.answered, hasTls(this.settings.tls));
  }

  close(): void {
    this.client?.close();
  }
}
