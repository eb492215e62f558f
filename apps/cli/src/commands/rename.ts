import { defineCommand } from '../command';
import { containerHints } from '../each';

const hints = { ...containerHints, alreadyExists: 'names are unique across the cluster; see flotilla ps -a' };

export default defineCommand({
  name: 'rename',
  summary: 'Rename a container',
  usage: 'CONTAINER NEW_NAME',
  description: 'The new name must be free in the whole cluster, as for flotilla run --name. Prints nothing, as docker rename.',
  options: {},
  args: { names: 'CONTAINER NEW_NAME', min: 2, max: 2, complete: 'containers' },
  hints,
  async run(ctx, _options, [container, newName]) {
    const answer = await ctx.cluster.call((c, o) => c.renameContainer({ container, newName }, o));
    if (answer.unsettled) ctx.io.stderr.write(`renamed; the manager has not seen the new name yet, so ${newName} may not be found for a moment\n`);
    return 0;
  },
});
