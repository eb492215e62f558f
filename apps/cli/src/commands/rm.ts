import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';
import { spinner } from '../output/progress';

const hints = { ...containerHints, precondition: 'stop it first, or use flotilla rm -f' };

export default defineCommand({
  name: 'rm',
  summary: 'Remove containers',
  usage: '[flags] CONTAINER [CONTAINER...]',
  options: {
    force: flag('boolean', { short: 'f', description: 'Remove running containers too (killing them)' }),
    volumes: flag('boolean', { short: 'v', description: 'Remove their anonymous volumes too' }),
  },
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints,
  async run(ctx, options, args) {
    return forEachContainer(ctx, args, async (container) => {
      const waiting = spinner(ctx.io.stderr, ctx.io.env, `Removing ${container}…`);
      try {
        await ctx.cluster.call((c, o) => c.removeContainer({ container, force: options.force, volumes: options.volumes }, o));
      } finally {
        waiting.stop();
      }
    }, hints);
  },
});
