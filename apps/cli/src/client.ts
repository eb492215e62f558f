import { ClusterClient, isConnectionFailure, type CallOptions, type ServerStream } from '@flotilla/client';
import { hasTls, newRequestId } from '@flotilla/grpc';
import { CancelledError, DeadlineExceededError, FlotillaError } from '@flotilla/errors';
import { CliError, connectionProblem, InterruptedError, UnreachableError } from './errors';
import type { Settings } from './settings';

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The cluster API as the CLI uses it: a ClusterClient (@flotilla/client) over the managers of
 * --manager, with --timeout as each call's deadline and the command's request ID on every call;
 * every call and stream cancelled by Ctrl-C; and errors sorted into "the manager cannot be
 * reached" (no connection, or the connection was lost) and what the manager itself answered.
 */
export class Cluster {
  private client: ClusterClient | undefined;
  /** Set once the manager has answered anything. */
  private answered = false;

  constructor(
    readonly settings: Settings,
    private readonly signal: AbortSignal,
    private readonly interruptedBy: () => NodeJS.Signals | undefined,
    /** Sent with every call of the command (gRPC metadata flotilla-request-id), so its lines in the services' logs can be found. */
    readonly requestId: string = newRequestId(),
  ) {}

  /** The client (made on first use; channels are dialled on first call). */
  get api(): ClusterClient {
    this.client ??= new ClusterClient({
      managers: this.settings.managers,
      tls: hasTls(this.settings.tls) ? this.settings.tls : { insecure: true },
      deadlineMs: this.settings.timeoutMs,
      requestId: this.requestId,
      // A CLI gives up on a dead manager quickly, and never waits minutes in back-off.
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
    });
    return this.client;
  }

  /** The manager that answered last, else the --manager setting. */
  get manager(): string {
    return this.client?.activeManager ?? this.settings.manager;
  }

  /** A unary call; `deadlineMs` overrides --timeout for calls that legitimately take long (create pulls). */
  async call<Res>(run: (client: ClusterClient, options: CallOptions) => Promise<Res>, deadlineMs?: number): Promise<Res> {
    this.checkInterrupted();
    try {
      const response = await run(this.api, { signal: this.signal, deadlineMs: deadlineMs ?? this.settings.timeoutMs });
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
  async *stream<Res>(open: (client: ClusterClient, options: CallOptions) => AsyncIterable<Res> & Pick<ServerStream<Res>, 'opened'>, until?: AbortSignal): AsyncGenerator<Res> {
    this.checkInterrupted();
    if (until?.aborted) return;
    try {
      const stream = open(this.api, { signal: until ? AbortSignal.any([this.signal, until]) : this.signal });
      stream.opened.then(
        () => (this.answered = true),
        () => undefined,
      );
      for await (const item of stream) {
        this.answered = true;
        yield item;
      }
    } catch (err) {
      if (until?.aborted && !this.signal.aborted && err instanceof CancelledError) return;
      throw this.classify(err);
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
    // Anything else came from a manager: an engine unavailable or an engine call timed out is its answer.
    if (!isConnectionFailure(err)) return err;
    const why = err instanceof DeadlineExceededError ? `no answer within ${seconds(this.settings.timeoutMs)}` : connectionProblem(err.message);
    return new UnreachableError(this.settings.manager, why, this.answered, hasTls(this.settings.tls));
  }

  close(): void {
    this.client?.close();
  }
}
