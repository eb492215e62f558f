import { streamOf } from '@flotilla/grpc';

/** The parts of an ExecContainer call (the agent's or the cluster's) that a test drives. */
export interface ExecCall<Req, Res> {
  write(message: Req): boolean;
  end(): void;
  cancel(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  [Symbol.asyncIterator](): AsyncIterator<Res>;
}

type Answer = { response?: { $case: string; value: unknown } };

export interface ExecResult {
  /** The `started` answer's value. */
  started: unknown;
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | undefined;
  /** The kinds of answer in order, repeats folded: e.g. started, stdout, exit. */
  order: string[];
}

/** Writes each message, half-closes, and reads every answer of an ExecContainer call; a failed call rejects with its typed error. */
export async function runExecCall<Req, Res extends Answer>(call: ExecCall<Req, Res>, messages: Req[]): Promise<ExecResult> {
  for (const message of messages) call.write(message);
  call.end();
  const result: ExecResult = { started: undefined, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: undefined, order: [] };
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  for await (const { response } of streamOf(call as never as import('@grpc/grpc-js').ClientReadableStream<Res>)) {
    const kind = response?.$case ?? 'empty';
    if (result.order.at(-1) !== kind) result.order.push(kind);
    if (kind === 'started') result.started = response?.value;
    if (kind === 'stdout') stdout.push(response?.value as Buffer);
    if (kind === 'stderr') stderr.push(response?.value as Buffer);
    if (kind === 'exit') result.exitCode = (response?.value as { exitCode: number }).exitCode;
  }
  return { ...result, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}
