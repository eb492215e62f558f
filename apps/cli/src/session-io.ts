import type { CallOptions, ClusterClient, ContainerSession } from '@flotilla/client';
import type { Context } from './command';
import { UsageError } from './errors';

/** Docker takes at most 1 MiB of stdin per message; a read of stdin is far less (64 KiB). */
const maxStdinChunk = 1024 * 1024;

/** What an exec or an attach answers (ExecContainerResponse and AttachContainerResponse share it). */
type SessionAnswer = { response?: { $case: 'started'; value: { containerId: string; tty?: boolean } } | { $case: 'stdout'; value: Buffer } | { $case: 'stderr'; value: Buffer } | { $case: 'exit'; value: { exitCode: number } } };

export interface SessionPlan {
  /** Send this process's stdin (-i). */
  stdin: boolean;
  /** The far side has a terminal (-t); undefined: known from the first answer (an attach). */
  tty: boolean | undefined;
  /** Runs once the session is connected, before any output is read (run -it starts the container here). */
  onStarted?(): Promise<void>;
}

/** -i with -t needs a terminal here, as in docker ("the input device is not a TTY"). */
export function checkInteractive(ctx: Context, interactive: boolean, tty: boolean): void {
  if (interactive && !ctx.io.stdin) throw new UsageError('-i: this process has no standard input', ctx.command);
  if (interactive && tty && !ctx.io.stdin?.isTTY) throw new UsageError('-it: the input is not a terminal (drop -t to pipe input in)', ctx.command);
}

/** This terminal's size, when the far side gets a terminal and this is one. */
export function terminalSize(ctx: Context): { rows: number; columns: number } | undefined {
  return ctx.io.terminal?.size();
}

/**
 * Runs an exec or an attach on this terminal: stdin sent as the manager takes it (its end closes
 * the far side's), raw mode and resizes when the far side has a terminal, the output printed.
 * Answers the exit code, or undefined when none came (a TTY's output closed while it runs).
 */
export async function runSession<R extends SessionAnswer>(ctx: Context, open: (client: ClusterClient, options: CallOptions) => ContainerSession<R>, plan: SessionPlan): Promise<number | undefined> {
  const stdin = plan.stdin ? ctx.io.stdin : undefined;
  let session: ContainerSession<R> | undefined;
  const answers = ctx.cluster.stream((c, o) => (session = open(c, o)));
  let undoRaw = (): void => undefined;
  let stopResize: (() => void) | undefined;
  const useTerminal = (tty: boolean): void => {
    if (!tty) return;
    // Keys go as typed (Ctrl-C too), and the far side's size follows this terminal's.
    if (stdin?.isTTY) undoRaw = stdin.raw();
    const terminal = ctx.io.terminal;
    stopResize = terminal?.onResize(() => {
      const size = terminal.size();
      if (size) void session?.resize(size.rows, size.columns).catch(() => undefined);
    });
  };
  if (plan.tty !== undefined) useTerminal(plan.tty);
  let exitCode: number | undefined;
  try {
    if (stdin) void feed(stdin.stream, () => session);
    for await (const { response } of answers) {
      if (response?.$case === 'started') {
        if (plan.tty === undefined) useTerminal(Boolean(response.value.tty));
        if (plan.onStarted) {
          await plan.onStarted();
          // A container's terminal takes a size only once it runs (Docker refuses it before).
          const size = stopResize ? ctx.io.terminal?.size() : undefined;
          if (size) await session?.resize(size.rows, size.columns).catch(() => undefined);
        }
      } else if (response?.$case === 'stdout') ctx.io.stdout.write(response.value);
      else if (response?.$case === 'stderr') ctx.io.stderr.write(response.value);
      else if (response?.$case === 'exit') exitCode = response.value.exitCode;
    }
  } finally {
    stopResize?.();
    undoRaw();
    stdin?.close();
  }
  await ctx.io.stdout.flush();
  return exitCode;
}

/** Sends stdin to the session as the manager takes it; its end closes the far side's input. */
async function feed(input: NodeJS.ReadableStream, session: () => Pick<ContainerSession<unknown>, 'write' | 'closeStdin'> | undefined): Promise<void> {
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let at = 0; at < bytes.length; at += maxStdinChunk) await session()?.write(bytes.subarray(at, at + maxStdinChunk));
    }
    await session()?.closeStdin();
  } catch {
    // The session ended (the program exited, or failed): its outcome is reported by the answers.
  }
}
