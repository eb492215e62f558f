import { defineCommand } from '../command';
import { containerHints } from '../each';
import { renderTable, type Column } from '../output/table';

const hints = { ...containerHints, precondition: 'only a running container has processes; see flotilla ps -a' };

export default defineCommand({
  name: 'top',
  summary: 'Show the processes of a running container',
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Everything after the container goes to ps on its engine (default -ef): letters, digits, spaces, ",", "=" and "-" only.',
  options: {},
  args: { names: 'CONTAINER [ps OPTIONS]', min: 1, passthroughAfter: 1, complete: 'containers' },
  examples: ['flotilla top web', 'flotilla top web -o pid,comm'],
  hints,
  async run(ctx, _options, [container, ...psArgs]) {
    const answer = await ctx.cluster.call((c, o) => c.topContainer({ container, psArgs: psArgs.join(' ') }, o));
    const columns: Array<Column<string[]>> = answer.titles.map((header, i) => ({ header, value: (row) => row[i] ?? '' }));
    // As docker top: every column whole, the command last.
    ctx.io.stdout.write(renderTable(answer.processes.map((p) => p.values), columns));
    return 0;
  },
});
