import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';

const hints = { ...containerHints, precondition: 'is it running? see flotilla ps -a' };

export default defineCommand({
  name: 'kill',
  summary: 'Send a signal to running containers (SIGKILL by default)',
  usage: '[flags] CONTAINER [CONTAINER...]',
  options: {
    signal: flag('string', { short: 's', placeholder: 'SIGNAL', description: 'Signal name or number, e.g. SIGTERM, HUP, 9' }),
  },
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints,
  async run(ctx, options, args) {
    return forEachContainer(ctx, args, async (container) => {
      await ctx.cluster.call((c, o) => c.killContainer({ container, signal: options.signal ?? '' }, o));
    }, hints);
  },
});
