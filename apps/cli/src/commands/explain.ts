import { flag } from '@flotilla/config';
import { ExplainPlacementResponse } from '@flotilla/proto/cluster';
import { ambiguousNames, defineCommand, engineLabel } from '../command';
import { buildSpec, specOptions } from '../container-spec';
import { ExitCode } from '../errors';
import { colourEnabled } from '../io';
import { formatOption, noTruncOption, parseFormat, printObject, stdoutPalette } from '../output/format';
import { explanationText } from '../output/placement';

export default defineCommand({
  name: 'explain',
  summary: 'Show where a container would go, and why each other engine was rejected (a dry run)',
  usage: '[flags] IMAGE [COMMAND] [ARG...]',
  description: 'Takes the same flags as run and creates nothing. Exits 0 when an engine can take the container, 5 when none can.',
  options: {
    ...specOptions,
    detach: flag('boolean', { short: 'd', hidden: true, description: 'Ignored (accepted so a run command line can be explained as is)' }),
    rm: flag('boolean', { hidden: true, description: 'Ignored' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  args: { names: 'IMAGE', min: 1, passthroughAfter: 1 },
  examples: ['flotilla explain --constraint zone==z busybox:local', 'flotilla explain -m 1g -p 80:80 nginx'],
  async run(ctx, options, args) {
    const spec = buildSpec(options, args, ctx.io.env);
    const format = parseFormat(options.format);
    const answer = await ctx.cluster.call((c, o) => c.explainPlacement({ spec }, o));
    const explanation = answer.explanation ?? { strategy: '', constraints: [], affinities: [], softDropped: false, engines: [], summary: 'no explanation' };
    const code = answer.chosen ? ExitCode.ok : ExitCode.precondition;
    const chosen = engineLabel(answer.chosen, ambiguousNames(explanation.engines.map((e) => e.engine)));
    if (format.kind !== 'table') {
      printObject(ctx.io, format, ExplainPlacementResponse.toJSON(answer), {
        Chosen: chosen,
        ChosenAddress: answer.chosen?.address ?? '',
        Summary: explanation.summary,
        Strategy: explanation.strategy,
      });
      return code;
    }
    const p = stdoutPalette(ctx.io);
    const summary = answer.chosen ? p.green(`Would run on ${chosen}${chosen !== answer.chosen.address ? ` (${answer.chosen.address})` : ''}`) : p.red('No engine can take the container');
    ctx.io.stdout.write(`${summary}\n${explanationText(explanation, ctx.io.stdout, colourEnabled(ctx.io.stdout, ctx.io.env), options['no-trunc'])}`);
    return code;
  },
});
