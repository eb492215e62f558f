import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';
import { spinner } from '../output/progress';

export default defineCommand({
  name: 'stop',
  summary: 'Stop running containers (SIGTERM, then SIGKILL after the grace period)',
  usage: '[flags] CONTAINER [CONTAINER...]',
  options: {
    time: flag('integer', { short: 't', min: 0, max: 86_400, placeholder: 'SECONDS', description: "Seconds to wait before killing it (default: the container's, usually 10)" }),
  },
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints: containerHints,
  async run(ctx, options, args) {
    // The manager waits for the stop, so the call may outlast --timeout by the grace period.
    const deadline = ctx.settings.timeoutMs + (options.time ?? 10) * 1000;
    return forEachContainer(ctx, args, async (container) => {
      const waiting = spinner(ctx.io.stderr, ctx.io.env, `Stopping ${container}…`);
      try {
        await ctx.cluster.call((c, o) => c.stopContainer({ container, timeoutSeconds: options.time }, o), deadline);
      } finally {
        waiting.stop();
      }
    });
  },
});
