import { flag } from '@flotilla/config';
import { ClusterEngine, EngineStatus } from '@flotilla/proto/cluster';
import { defineCommand, type CommandGroup } from '../command';
import { UsageError } from '../errors';
import { allEngines } from '../pages';
import { formatOption, noTruncOption, parseFormat, printListing, printObject, stdoutPalette } from '../output/format';
import { engineColumns, engineFields, healthWord, statusName } from './info';

const engineHints = { notFound: 'see flotilla engine ls' };

const statusWords = ['pending', 'healthy', 'flapping', 'unhealthy', 'disconnected'] as const;

/**
 * The engine status a STATUS word filters on. A function, not a table built when the module loads:
 * reading EngineStatus loads the generated protobuf code, which `flotilla --help` does not need.
 */
function statusOfWord(word: string): EngineStatus | undefined {
  switch (word) {
    case 'pending':
      return EngineStatus.ENGINE_STATUS_PENDING;
    // A flapping engine is healthy by status; the listing keeps the engines whose word matches.
    case 'healthy':
    case 'flapping':
      return EngineStatus.ENGINE_STATUS_HEALTHY;
    case 'unhealthy':
      return EngineStatus.ENGINE_STATUS_UNHEALTHY;
    case 'disconnected':
      return EngineStatus.ENGINE_STATUS_DISCONNECTED;
    default:
      return undefined;
  }
}

/** `--filter status=healthy --filter label=zone=a` for engines; `words` are the STATUS words asked for. */
function engineFilters(filters: string[]): { statuses: EngineStatus[]; labels: Record<string, string>; words: Set<string> } {
  const statuses: EngineStatus[] = [];
  const words = new Set<string>();
  const labels: Record<string, string> = {};
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const key = eq < 0 ? filter : filter.slice(0, eq);
    const value = eq < 0 ? '' : filter.slice(eq + 1);
    if (key === 'status') {
      const status = statusOfWord(value);
      if (status === undefined) throw new UsageError(`--filter ${JSON.stringify(filter)}: status is one of ${statusWords.join(', ')}`);
      statuses.push(status);
      words.add(value);
    } else if (key === 'label' && value) {
      const e = value.indexOf('=');
      labels[e < 0 ? value : value.slice(0, e)] = e < 0 ? '*' : value.slice(e + 1);
    } else {
      throw new UsageError(`--filter ${JSON.stringify(filter)}: expected status=STATE or label=KEY[=VALUE]`);
    }
  }
  return { statuses, labels, words };
}

const ls = defineCommand({
  name: 'ls',
  aliases: ['list'],
  summary: 'List the engines of the cluster',
  usage: '[flags]',
  options: {
    filter: flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'status=healthy|flapping|unhealthy|pending, label=KEY[=VALUE]', complete: ['status=', 'label='] }),
    quiet: flag('boolean', { short: 'q', description: 'Only print addresses' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  args: { max: 0 },
  examples: ['flotilla engine ls', 'flotilla engine ls --filter label=zone=b -q'],
  async run(ctx, options) {
    const { statuses, labels, words } = engineFilters(options.filter);
    // status=healthy lists the engines STATUS shows as healthy: flapping ones only for status=flapping.
    const engines = (await allEngines(ctx.cluster, { statuses, labels })).filter((e) => !words.size || words.has(healthWord(e)));
    if (options.quiet) {
      for (const e of engines) ctx.io.stdout.write(`${e.address}\n`);
      return 0;
    }
    const now = ctx.io.now();
    const rows = engines.map((e) => ({ e, f: engineFields(e, now) }));
    const columns = engineColumns(stdoutPalette(ctx.io), true).map((c) => ({ ...c, value: (r: (typeof rows)[number]) => c.value(r.f), paint: c.paint && ((t: string, r: (typeof rows)[number]) => c.paint!(t, r.f)) }));
    printListing(ctx.io, parseFormat(options.format), { rows, columns, json: (r) => ClusterEngine.toJSON(r.e), fields: (r) => r.f, empty: 'No engines match.' }, { noTrunc: options['no-trunc'] });
    return 0;
  },
});

const add = defineCommand({
  name: 'add',
  summary: "Add an engine by its engine-agent's address",
  usage: 'HOST:PORT [HOST:PORT...]',
  description: 'The engine is pending until the manager has reached its agent and validated the engine; watch it with flotilla engine ls.',
  options: {},
  args: { names: 'HOST:PORT', min: 1 },
  hints: engineHints,
  async run(ctx, _options, args) {
    for (const address of args) {
      const { added, engine } = await ctx.cluster.call((c, o) => c.addEngine({ address }, o));
      const state = engine ? statusName(engine.status) : 'pending';
      ctx.io.stdout.write(added ? `${engine?.address ?? address} added (${state})\n` : `${engine?.address ?? address} was already in the cluster (${state})\n`);
    }
    return 0;
  },
});

const rm = defineCommand({
  name: 'rm',
  aliases: ['remove'],
  summary: 'Remove engines from the cluster (their containers keep running)',
  usage: 'ADDRESS|ID|NAME [...]',
  options: {},
  args: { names: 'ADDRESS|ID|NAME', min: 1, complete: 'engines' },
  hints: engineHints,
  async run(ctx, _options, args) {
    for (const ref of args) {
      const { engine } = await ctx.cluster.call((c, o) => c.removeEngine({ engine: ref }, o));
      ctx.io.stdout.write(`${engine?.address ?? ref}\n`);
    }
    return 0;
  },
});

const inspect = defineCommand({
  name: 'inspect',
  summary: 'Show everything the cluster knows of engines, as JSON',
  usage: '[flags] ADDRESS|ID|NAME [...]',
  options: { format: formatOption },
  args: { names: 'ADDRESS|ID|NAME', min: 1, complete: 'engines' },
  hints: engineHints,
  examples: ['flotilla engine inspect 127.0.0.1:4250', "flotilla engine inspect --format '{{.Status}} {{.info.labels.zone}}' 127.0.0.1:4250"],
  async run(ctx, options, args) {
    const format = parseFormat(options.format);
    const engines = await Promise.all(args.map(async (ref) => (await ctx.cluster.call((c, o) => c.getEngine({ engine: ref }, o))).engine!));
    const now = ctx.io.now();
    if (format.kind === 'template') {
      for (const e of engines) printObject(ctx.io, format, ClusterEngine.toJSON(e), engineFields(e, now));
    } else {
      printObject(ctx.io, format, engines.map((e) => ClusterEngine.toJSON(e)));
    }
    return 0;
  },
});

export const engineGroup: CommandGroup = {
  name: 'engine',
  summary: 'Manage the engines of the cluster (ls, add, rm, inspect)',
  subcommands: [ls, add, rm, inspect],
};
