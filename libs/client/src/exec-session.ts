import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ExecContainerRequest, ExecContainerResponse } from '@flotilla/proto/cluster';
import type { ServerStream } from './server-stream';

type ExecCall = ClientDuplexStream<ExecContainerRequest, ExecContainerResponse>;

/**
 * One ExecContainer call: read it for the program's answers (started, stdout, stderr, exit), and
 * feed it stdin and resizes. Writes wait until the manager has answered the start, and each
 * resolves when the call can take more, so a fast stdin never fills memory; `closeStdin` is the
 * half-close that closes the program's stdin. Leaving the loop early or `cancel()` ends the exec's
 * connection on the engine (the program itself goes on, as with Docker).
 */
export class ExecSession implements AsyncIterable<ExecContainerResponse> {
  private call: ExecCall | undefined;
  private stream: ServerStream<ExecContainerResponse> | undefined;

  /** `start` writes the first message on each new call. */
  constructor(private readonly start: (call: ExecCall) => void) {}

  /** @internal The client opens a call, here a two-way one, and the session writes its start. */
  opening(call: ExecCall): ExecCall {
    this.call = call;
    this.start(call);
    return call;
  }

  /** @internal */
  attach(stream: ServerStream<ExecContainerResponse>): void {
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

  [Symbol.asyncIterator](): AsyncIterator<ExecContainerResponse> {
    return this.stream![Symbol.asyncIterator]();
  }

  private async send(message: ExecContainerRequest): Promise<void> {
    await this.opened;
    const call = this.call;
    if (!call || call.writableEnded || call.destroyed) return;
    if (call.write(message)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        call.off('drain', done);
        call.off('close', done);
        call.off('error', done);
        resolve();
      };
      call.once('drain', done);
      call.once('close', done);
      call.once('error', done);
    });
  }
}
