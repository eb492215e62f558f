import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';

/** Docker's wait conditions (the manager checks them too). */
const conditions = ['not-running', 'next-exit', 'removed'] as const;

export default defineCommand({
  name: 'wait',
  summary: 'Block until containers stop, then print their exit codes',
  usage: '[flags] CONTAINER [CONTAINER...]',
  description: 'Waits for each container in turn, as docker wait, for as long as it takes: --timeout does not apply (Ctrl-C stops waiting).',
  options: {
    condition: flag('string', { choices: conditions, placeholder: 'CONDITION', description: 'What to wait for (default: not-running)' }),
  },
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints: containerHints,
  async run(ctx, options, args) {
    return forEachContainer(ctx, args, async (container) => {
      // No deadline: the wait ends when the container does, or with Ctrl-C.
      const answer = await ctx.cluster.call((c, o) => c.waitContainer({ container, condition: options.condition ?? '' }, o), Infinity);
      if (answer.error) ctx.io.stderr.write(`${container}: ${answer.error}\n`);
      return answer.exitCode;
    });
  },
});
