import { flag } from '@flotilla/config';
import { LogStream } from '@flotilla/proto';
import { defineCommand } from '../command';
import { UsageError } from '../errors';
import { containerHints } from '../each';

function parseSince(text: string, now: number): Date {
  const relative = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(text.trim());
  if (relative) return new Date(now - Number(relative[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[relative[2] as 's' | 'm' | 'h']);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--since ${JSON.stringify(text)}: expected a duration such as 10m, or a time such as 2024-01-02T15:04:05Z`);
  return date;
}

export default defineCommand({
  name: 'logs',
  summary: "Print a container's output (stdout to stdout, stderr to stderr)",
  usage: '[flags] CONTAINER',
  options: {
    follow: flag('boolean', { short: 'f', description: 'Keep printing new output until the container stops (Ctrl-C to stop following)' }),
    tail: flag('string', { short: 'n', placeholder: 'N', description: 'Only the last N lines (or all)' }),
    timestamps: flag('boolean', { short: 't', description: 'Prefix each line with its time' }),
    since: flag('string', { placeholder: 'TIME', description: 'Only output since then: 10m, 1h, or an RFC 3339 time' }),
  },
  args: { names: 'CONTAINER', min: 1, max: 1, complete: 'containers' },
  hints: containerHints,
  examples: ['flotilla logs web', 'flotilla logs -f --tail 10 web'],
  async run(ctx, options, args) {
    const tail = options.tail === undefined || options.tail === 'all' ? 0 : Number(options.tail);
    if (!Number.isInteger(tail) || tail < 0) throw new UsageError(`--tail ${JSON.stringify(options.tail)}: expected a number of lines or all`);
    if (options.tail !== undefined && options.tail !== 'all' && tail === 0) return 0;
    const since = options.since === undefined ? undefined : parseSince(options.since, ctx.io.now());
    const request = { container: args[0], follow: options.follow, stdout: true, stderr: true, tail, timestamps: options.timestamps, since };
    for await (const chunk of ctx.cluster.stream((c, o) => c.containerLogs(request, o))) {
      (chunk.stream === LogStream.LOG_STREAM_STDERR ? ctx.io.stderr : ctx.io.stdout).write(chunk.data);
    }
    return 0;
  },
});
