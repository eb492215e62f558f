import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';

export default defineCommand({
  name: 'start',
  summary: 'Start stopped containers',
  usage: 'CONTAINER [CONTAINER...]',
  options: {},
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints: containerHints,
  async run(ctx, _options, args) {
    return forEachContainer(ctx, args, async (container) => {
      await ctx.cluster.call((c, o) => c.startContainer({ container }, o));
    });
  },
});
