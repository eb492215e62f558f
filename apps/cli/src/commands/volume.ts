import { flag } from '@flotilla/config';
import { ClusterVolume } from '@flotilla/proto/cluster';
import { ambiguousNames, defineCommand, engineLabel, type CommandGroup } from '../command';
import { allVolumes } from '../pages';
import { perEngineFilters, printPerEngineResults } from '../per-engine';
import { UsageError } from '../errors';
import { keyValues } from '../container-spec';
import { formatOption, noTruncOption, parseFormat, printDocuments, printListing } from '../output/format';

const volumeHints = { notFound: 'see flotilla volume ls' };

const create = defineCommand({
  name: 'create',
  summary: 'Create a named volume on some engines, or on every engine',
  usage: '[flags] NAME',
  description: 'Volumes belong to their engine: a container that mounts one (run -v NAME:/path) is placed on an engine that holds it. Only the "local" driver, without driver options.',
  options: {
    engine: flag('string', { repeat: true, placeholder: 'ENGINE', description: 'Create it on this engine (address, ID or name); repeat for several', complete: 'engines' }),
    'all-engines': flag('boolean', { description: 'Create it on every healthy engine' }),
    label: flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'Set a label on the volume' }),
    driver: flag('string', { placeholder: 'DRIVER', description: 'Volume driver: only "local"' }),
    opt: flag('string', { short: 'o', repeat: true, placeholder: 'KEY=VALUE', description: 'Driver option (refused by the cluster: they can mount host paths)' }),
  },
  args: { names: 'NAME', min: 1, max: 1 },
  examples: ['flotilla volume create --engine node-1 data', 'flotilla volume create --all-engines --label team=a cache'],
  async run(ctx, options, args) {
    const name = args[0];
    const engines = options.engine;
    if (!engines.length && !options['all-engines']) throw new UsageError('give --engine ENGINE (repeatable) or --all-engines');
    if (engines.length && options['all-engines']) throw new UsageError('give --engine or --all-engines, not both');
    const { results } = await ctx.cluster.call((c, o) => c.createVolume({ name, engines, allEngines: options['all-engines'], driver: options.driver ?? '', labels: keyValues(options.label, '--label'), driverOpts: keyValues(options.opt, '--opt') }, o));
    return printPerEngineResults(ctx.io, name, results, 'created');
  },
});

const ls = defineCommand({
  name: 'ls',
  aliases: ['list'],
  summary: 'List the volumes of every engine',
  usage: '[flags]',
  options: {
    filter: flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'engine=ENGINE, name=NAME (contains), label=KEY[=VALUE]', complete: ['engine=', 'name=', 'label='] }),
    quiet: flag('boolean', { short: 'q', description: 'Only print volume names' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  args: { max: 0 },
  examples: ['flotilla volume ls', 'flotilla volume ls --filter engine=node-1 -q'],
  async run(ctx, options) {
    const volumes = await allVolumes(ctx.cluster, perEngineFilters(options.filter));
    if (options.quiet) {
      for (const v of volumes) ctx.io.stdout.write(`${v.volume?.name ?? ''}\n`);
      return 0;
    }
    const ambiguous = ambiguousNames(volumes.map((v) => v.engine));
    const rows = volumes.map((v) => ({
      v,
      f: {
        Name: v.volume?.name ?? '',
        Driver: v.volume?.driver ?? '',
        Engine: engineLabel(v.engine, ambiguous),
        Address: v.engine?.address ?? '',
        Mountpoint: v.volume?.mountpoint ?? '',
        Labels: Object.entries(v.volume?.labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','),
      },
    }));
    type Row = (typeof rows)[number];
    printListing(
      ctx.io,
      parseFormat(options.format),
      {
        rows,
        columns: [
          { header: 'ENGINE', value: (r: Row) => r.f.Engine, flex: true, min: 10 },
          { header: 'DRIVER', value: (r: Row) => r.f.Driver },
          { header: 'VOLUME NAME', value: (r: Row) => r.f.Name, flex: true, min: 10 },
          { header: 'LABELS', value: (r: Row) => r.f.Labels, flex: true, min: 10, drop: 0 },
        ],
        json: (r) => ClusterVolume.toJSON(r.v),
        fields: (r) => r.f,
        empty: 'No volumes match.',
      },
      { noTrunc: options['no-trunc'] },
    );
    return 0;
  },
});

const inspect = defineCommand({
  name: 'inspect',
  summary: "Show a volume as its engine's Docker does, with the engine, as JSON",
  usage: '[flags] NAME [NAME...]',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'The engine holding the volume (needed when several do)', complete: 'engines' }),
    format: formatOption,
  },
  args: { names: 'NAME', min: 1 },
  hints: volumeHints,
  examples: ['flotilla volume inspect data', "flotilla volume inspect --engine node-1 --format '{{.Mountpoint}}' data"],
  async run(ctx, options, args) {
    const format = parseFormat(options.format);
    const answers = await Promise.all(args.map((name) => ctx.cluster.call((c, o) => c.inspectVolume({ name, engine: options.engine ?? '' }, o))));
    // Docker's document, with the engine as classic Swarm's Node; the cluster's view when the engine is down.
    const documents = answers.map((a) => {
      const docker: Record<string, unknown> = a.rawJson ? (JSON.parse(a.rawJson) as Record<string, unknown>) : { Name: a.volume?.volume?.name, Driver: a.volume?.volume?.driver, Mountpoint: a.volume?.volume?.mountpoint, Labels: a.volume?.volume?.labels };
      return { ...docker, Engine: a.volume?.engine ?? null };
    });
    printDocuments(ctx.io, format, documents);
    return 0;
  },
});

const rm = defineCommand({
  name: 'rm',
  aliases: ['remove'],
  summary: 'Remove a volume from the engine named, or from every engine holding it',
  usage: '[flags] NAME [NAME...]',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'Only from this engine', complete: 'engines' }),
    force: flag('boolean', { short: 'f', description: "Docker's force (a volume in use is still refused)" }),
  },
  args: { names: 'NAME', min: 1 },
  hints: volumeHints,
  async run(ctx, options, args) {
    let code = 0;
    for (const name of args) {
      const { results } = await ctx.cluster.call((c, o) => c.removeVolume({ name, engine: options.engine ?? '', force: options.force }, o));
      code = Math.max(code, printPerEngineResults(ctx.io, name, results, 'removed'));
    }
    return code;
  },
});

export const volumeGroup: CommandGroup = {
  name: 'volume',
  summary: 'Manage named volumes on the engines (create, ls, inspect, rm)',
  subcommands: [create, ls, inspect, rm],
};
