import { flag } from '@flotilla/config';
import { ClusterNetwork } from '@flotilla/proto/cluster';
import { ambiguousNames, defineCommand, engineLabel, type CommandGroup } from '../command';
import { keyValues } from '../container-spec';
import { UsageError } from '../errors';
import { formatOption, noTruncOption, parseFormat, printDocuments, printListing } from '../output/format';
import { allNetworks } from '../pages';
import { perEngineFilters, printPerEngineResults } from '../per-engine';

const networkHints = { notFound: 'see flotilla network ls' };

const create = defineCommand({
  name: 'create',
  summary: 'Create a bridge network on some engines, or on every engine',
  usage: '[flags] NAME',
  description:
    'Networks belong to their engine: a container that joins one (run --network NAME) is placed on an engine that holds it. Only the "bridge" driver: others reach the host\'s interfaces. The same subnet on several engines is fine: each engine\'s network is its own.',
  options: {
    engine: flag('string', { repeat: true, placeholder: 'ENGINE', description: 'Create it on this engine (address, ID or name); repeat for several', complete: 'engines' }),
    'all-engines': flag('boolean', { description: 'Create it on every healthy engine' }),
    driver: flag('string', { short: 'd', placeholder: 'DRIVER', description: 'Network driver: only "bridge"' }),
    subnet: flag('string', { placeholder: 'CIDR', description: 'Subnet, e.g. 10.20.0.0/24 (default: Docker picks one)' }),
    gateway: flag('string', { placeholder: 'IP', description: 'Gateway in the subnet (needs --subnet)' }),
    internal: flag('boolean', { description: 'No route out of the network' }),
    label: flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'Set a label on the network' }),
  },
  args: { names: 'NAME', min: 1, max: 1 },
  examples: ['flotilla network create --all-engines --subnet 10.20.0.0/24 backend', 'flotilla network create --engine node-1 --internal db'],
  async run(ctx, options, args) {
    const name = args[0];
    const engines = options.engine;
    if (!engines.length && !options['all-engines']) throw new UsageError('give --engine ENGINE (repeatable) or --all-engines');
    if (engines.length && options['all-engines']) throw new UsageError('give --engine or --all-engines, not both');
    const request = { name, engines, allEngines: options['all-engines'], driver: options.driver ?? '', labels: keyValues(options.label, '--label'), internal: options.internal, subnet: options.subnet ?? '', gateway: options.gateway ?? '' };
    const { results } = await ctx.cluster.call((c, o) => c.createNetwork(request, o));
    return printPerEngineResults(ctx.io, name, results, 'created');
  },
});

const ls = defineCommand({
  name: 'ls',
  aliases: ['list'],
  summary: 'List the networks of every engine',
  usage: '[flags]',
  options: {
    filter: flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'engine=ENGINE, name=NAME (contains), label=KEY[=VALUE]', complete: ['engine=', 'name=', 'label='] }),
    quiet: flag('boolean', { short: 'q', description: 'Only print network IDs' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  args: { max: 0 },
  examples: ['flotilla network ls', 'flotilla network ls --filter name=backend'],
  async run(ctx, options) {
    const networks = await allNetworks(ctx.cluster, perEngineFilters(options.filter));
    if (options.quiet) {
      for (const n of networks) ctx.io.stdout.write(`${(n.network?.id ?? '').slice(0, options['no-trunc'] ? undefined : 12)}\n`);
      return 0;
    }
    const ambiguous = ambiguousNames(networks.map((n) => n.engine));
    const rows = networks.map((n) => ({
      n,
      f: {
        ID: (n.network?.id ?? '').slice(0, options['no-trunc'] ? undefined : 12),
        Name: n.network?.name ?? '',
        Driver: n.network?.driver ?? '',
        Scope: n.network?.scope ?? '',
        Engine: engineLabel(n.engine, ambiguous),
        Address: n.engine?.address ?? '',
        Labels: Object.entries(n.network?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
      },
    }));
    type Row = (typeof rows)[number];
    printListing(
      ctx.io,
      parseFormat(options.format),
      {
        rows,
        columns: [
          { header: 'NETWORK ID', value: (r: Row) => r.f.ID },
          { header: 'NAME', value: (r: Row) => r.f.Name, flex: true, min: 10 },
          { header: 'DRIVER', value: (r: Row) => r.f.Driver },
          { header: 'SCOPE', value: (r: Row) => r.f.Scope },
          { header: 'ENGINE', value: (r: Row) => r.f.Engine, flex: true, min: 10 },
        ],
        json: (r) => ClusterNetwork.toJSON(r.n),
        fields: (r) => r.f,
        empty: 'No networks match.',
      },
      { noTrunc: options['no-trunc'] },
    );
    return 0;
  },
});

const inspect = defineCommand({
  name: 'inspect',
  summary: "Show a network as its engine's Docker does, with the engine, as JSON",
  usage: '[flags] NETWORK [NETWORK...]',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'The engine holding the network (needed when several do)', complete: 'engines' }),
    format: formatOption,
  },
  args: { names: 'NETWORK', min: 1 },
  hints: networkHints,
  examples: ['flotilla network inspect backend', "flotilla network inspect --engine node-1 --format '{{json .IPAM}}' backend"],
  async run(ctx, options, args) {
    const answers = await Promise.all(args.map((network) => ctx.cluster.call((c, o) => c.inspectNetwork({ network, engine: options.engine ?? '' }, o))));
    // Docker's document, with the engine; the cluster's view when the engine is down.
    const documents = answers.map((a) => {
      const known = a.network?.network;
      const docker: Record<string, unknown> = a.rawJson ? (JSON.parse(a.rawJson) as Record<string, unknown>) : { Id: known?.id, Name: known?.name, Driver: known?.driver, Scope: known?.scope, Labels: known?.labels };
      return { ...docker, Engine: a.network?.engine ?? null };
    });
    printDocuments(ctx.io, parseFormat(options.format), documents);
    return 0;
  },
});

const rm = defineCommand({
  name: 'rm',
  aliases: ['remove'],
  summary: 'Remove a network from the engine named, or from every engine holding it',
  usage: '[flags] NETWORK [NETWORK...]',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'Only from this engine', complete: 'engines' }),
  },
  args: { names: 'NETWORK', min: 1 },
  hints: networkHints,
  async run(ctx, options, args) {
    let code = 0;
    for (const network of args) {
      const { results } = await ctx.cluster.call((c, o) => c.removeNetwork({ network, engine: options.engine ?? '' }, o));
      code = Math.max(code, printPerEngineResults(ctx.io, network, results, 'removed'));
    }
    return code;
  },
});

export const networkGroup: CommandGroup = {
  name: 'network',
  summary: 'Manage bridge networks on the engines (create, ls, inspect, rm)',
  subcommands: [create, ls, inspect, rm],
};
