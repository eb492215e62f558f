import type { ClusterClient, CallOptions } from '@flotilla/client';
import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';

/** `pause` and `unpause`: the same command, each its own call and its own word for the state it needs. */
function freezeCommand(name: string, summary: string, needs: string, op: (c: ClusterClient, container: string, o: CallOptions) => Promise<unknown>) {
  const hints = { ...containerHints, precondition: `only a ${needs} container can be ${name}d; see flotilla ps -a` };
  return defineCommand({
    name,
    summary,
    usage: 'CONTAINER [CONTAINER...]',
    options: {},
    args: { names: 'CONTAINER', min: 1, complete: 'containers' },
    hints,
    async run(ctx, _options, args) {
      return forEachContainer(ctx, args, async (container) => {
        await ctx.cluster.call((c, o) => op(c, container, o));
      }, hints);
    },
  });
}

export const pause = freezeCommand('pause', 'Pause every process of running containers', 'running', (c, container, o) => c.pauseContainer({ container }, o));
export const unpause = freezeCommand('unpause', 'Unpause paused containers', 'paused', (c, container, o) => c.unpauseContainer({ container }, o));
