import { defineCommand } from '../command';
import { UnreachableError } from '../errors';
import { formatOption, parseFormat, printObject } from '../output/format';
import { cliVersion } from '../version';

export default defineCommand({
  name: 'version',
  summary: "Show this CLI's version and the cluster-manager's",
  usage: '[flags]',
  options: { format: formatOption },
  args: { max: 0 },
  async run(ctx, options) {
    const format = parseFormat(options.format);
    let manager = '';
    let problem = '';
    try {
      manager = (await ctx.cluster.call((c, o) => c.getInfo({}, o))).managerVersion || 'unknown';
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      problem = err.message;
    }
    const fields = { Client: cliVersion(), Manager: manager, ManagerAddress: ctx.cluster.manager, Node: process.version };
    if (format.kind !== 'table') printObject(ctx.io, format, fields);
    else ctx.io.stdout.write(`flotilla ${fields.Client} (node ${fields.Node})\ncluster-manager ${manager || '-'} at ${ctx.cluster.manager}\n`);
    if (problem) {
      ctx.io.stderr.write(`flotilla: ${problem}\n`);
      return 3;
    }
    return 0;
  },
});
