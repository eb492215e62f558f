import { firstEvent } from '@flotilla/grpc';
import type { TerminalSize } from '@flotilla/proto';
import type { AttachContainerResponse, ExecContainerResponse } from '@flotilla/proto/cluster';
import type { ServerStream } from './server-stream';

/** What a session writes after its start (ExecContainerRequest and AttachContainerRequest share it). */
type SessionRequest = { request?: { $case: 'stdin'; value: Buffer } | { $case: 'resize'; value: TerminalSize } };

/** What the session needs of its two-way call (either method's: their messages after the start are the same). */
interface SessionCall {
  write(message: SessionRequest): boolean;
  end(): void;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * One ExecContainer or AttachContainer call: read it for the answers (started, stdout, stderr, exit), and
 * feed it stdin and resizes. Writes wait until the manager has answered the start, and each
 * resolves when the call can take more, so a fast stdin never fills memory; `closeStdin` is the
 * half-close that closes the program's stdin. Leaving the loop early or `cancel()` ends the exec's
 * connection on the engine (the program itself goes on, as with Docker).
 */
export class ContainerSession<Res> implements AsyncIterable<Res> {
  private call: SessionCall | undefined;
  private stream: ServerStream<Res> | undefined;

  /** @internal The client opens each try's call (its start written) and hands it here. */
  opening<C extends SessionCall>(call: C): C {
    this.call = call;
    return call;
  }

  /** @internal */
  attach(stream: ServerStream<Res>): void {
    this.stream = stream;
  }

  /** Resolves once the manager has answered (the exec started, or failed). */
  get opened(): Promise<void> {
    return this.stream!.opened;
  }

  /** Sends stdin bytes (at most 1 MiB each); resolves when the call takes more. */
  async write(stdin: Buffer): Promise<void> {
    await this.send({ request: { $case: 'stdin', value: stdin } });
  }

  /** Sends the terminal's new size. */
  async resize(rows: number, columns: number): Promise<void> {
    await this.send({ request: { $case: 'resize', value: { rows, columns } } });
  }

  /** Closes the program's stdin (the call's half-close); the answers go on to the exit. */
  async closeStdin(): Promise<void> {
    await this.opened.catch(() => undefined);
    if (this.call && !this.call.writableEnded) this.call.end();
  }

  cancel(): void {
    this.stream?.cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<Res> {
    return this.stream![Symbol.asyncIterator]();
  }

  private async send(message: SessionRequest): Promise<void> {
    await this.opened;
    const call = this.call;
    if (!call || call.writableEnded || call.destroyed) return;
    if (call.write(message)) return;
    await firstEvent(call, ['drain', 'close', 'error']);
  }
}

/** An ExecContainer call (see ContainerSession). */
export type ExecSession = ContainerSession<ExecContainerResponse>;
/** An AttachContainer call (see ContainerSession). */
export type AttachSession = ContainerSession<AttachContainerResponse>;
