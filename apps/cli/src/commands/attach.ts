import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints } from '../each';
import { InterruptedError } from '../errors';
import { runSession, terminalSize } from '../session-io';

export default defineCommand({
  name: 'attach',
  summary: "Connect to a running container's input and output",
  usage: '[flags] CONTAINER',
  description:
    "Connects to the container's main process on its engine, as docker attach does: its output from now on, and this process's input when the container was started with -i (its end closes the container's input when it was run with -i in the foreground). A container with a terminal gets this terminal's keys as typed and follows its size. Exits with the container's exit code when it stops. Ctrl-C without a terminal detaches and leaves the container running.",
  options: {
    'no-stdin': flag('boolean', { description: 'Do not send stdin' }),
  },
  args: { names: 'CONTAINER', min: 1, max: 1, complete: 'containers' },
  hints: containerHints,
  examples: ['flotilla attach web', 'flotilla attach --no-stdin web'],
  async run(ctx, options, args) {
    const [container] = args;
    const info = await ctx.cluster.call((c, o) => c.inspectContainer({ container }, o));
    const stdin = !options['no-stdin'] && Boolean(ctx.io.stdin) && info.rawJson !== '' && (JSON.parse(info.rawJson) as { Config?: { OpenStdin?: boolean } }).Config?.OpenStdin === true;
    try {
      return (await runSession(ctx, (c, o) => c.attach({ container, options: { stdin, logs: false, terminalSize: terminalSize(ctx) } }, o), { stdin, tty: undefined })) ?? 0;
    } catch (err) {
      if (err instanceof InterruptedError) throw new InterruptedError(ctx.interruptedBy(), `detached from ${container}, which keeps running`);
      throw err;
    }
  },
});
