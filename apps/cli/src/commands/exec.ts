import type { ExecSession } from '@flotilla/client';
import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints } from '../each';
import { UsageError } from '../errors';

/** Docker's exec takes at most 1 MiB of stdin per message; a read of stdin is far less (64 KiB). */
const maxStdinChunk = 1024 * 1024;

export default defineCommand({
  name: 'exec',
  summary: 'Run a command in a running container',
  usage: '[flags] CONTAINER COMMAND [ARG...]',
  description:
    'Runs on the container\'s engine, as docker exec does. With -i, what is typed or piped in goes to the command, and its end (Ctrl-D, the end of a pipe) closes the command\'s input. With -t, the command gets a terminal that follows this one\'s size; -it together needs a terminal here too. The exit code is the command\'s. Ctrl-C without -t ends the session, not the command (as in docker); with -t it goes to the command.',
  options: {
    interactive: flag('boolean', { short: 'i', description: 'Send stdin to the command' }),
    tty: flag('boolean', { short: 't', description: 'Give the command a terminal' }),
    env: flag('string', { short: 'e', repeat: true, placeholder: 'NAME=VALUE', description: 'Set an environment variable' }),
    user: flag('string', { short: 'u', placeholder: 'USER[:GROUP]', description: 'User (name or UID) and group to run as' }),
    workdir: flag('string', { short: 'w', placeholder: 'DIR', description: 'Working directory in the container (absolute)' }),
  },
  // Everything after the container is the command and its own flags.
  args: { names: 'CONTAINER COMMAND [ARG...]', min: 2, passthroughAfter: 1, complete: 'containers' },
  hints: containerHints,
  examples: ['flotilla exec web ls /', 'flotilla exec -it web sh', 'echo hello | flotilla exec -i web cat'],
  async run(ctx, options, args) {
    const [container, ...command] = args;
    const stdin = ctx.io.stdin;
    const interactive = options.interactive;
    if (interactive && !stdin) throw new UsageError('-i: this process has no standard input', ctx.command);
    if (interactive && options.tty && !stdin?.isTTY) throw new UsageError('-it: the input is not a terminal (drop -t to pipe input in)', ctx.command);
    const terminal = options.tty ? ctx.io.terminal : undefined;
    const start = {
      container,
      options: { command, tty: options.tty, stdin: interactive, env: options.env, user: options.user ?? '', workingDir: options.workdir ?? '', terminalSize: terminal?.size() },
    };
    let session: ExecSession | undefined;
    const outputs = ctx.cluster.stream((c, o) => (session = c.exec(start, o)));
    // A terminal for the command: keys go as typed (Ctrl-C too), and its size follows this one.
    const undoRaw = interactive && options.tty ? stdin!.raw() : () => undefined;
    const stopResize = terminal?.onResize(() => {
      const size = terminal.size();
      if (size) void session?.resize(size.rows, size.columns).catch(() => undefined);
    });
    let exitCode = 0;
    try {
      if (interactive) void feed(stdin!.stream, () => session);
      for await (const answer of outputs) {
        const response = answer.response;
        if (response?.$case === 'stdout') ctx.io.stdout.write(response.value);
        else if (response?.$case === 'stderr') ctx.io.stderr.write(response.value);
        else if (response?.$case === 'exit') exitCode = response.value.exitCode;
      }
    } finally {
      stopResize?.();
      undoRaw();
      if (interactive) stdin!.close();
    }
    await ctx.io.stdout.flush();
    return exitCode;
  },
});

/** Sends stdin to the session as the manager takes it; its end closes the command's input. */
async function feed(input: NodeJS.ReadableStream, session: () => ExecSession | undefined): Promise<void> {
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let at = 0; at < bytes.length; at += maxStdinChunk) await session()?.write(bytes.subarray(at, at + maxStdinChunk));
    }
    await session()?.closeStdin();
  } catch {
    // The session ended (the command exited, or failed): its outcome is reported by the answers.
  }
}
