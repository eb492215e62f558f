import { flag } from '@flotilla/config';
import { ClusterContainer, EngineStatus } from '@flotilla/proto/cluster';
import { ambiguousNames, defineCommand, engineLabel } from '../command';
import { UsageError } from '../errors';
import { allContainers, allEngines, type ContainerQuery } from '../pages';
import { formatOption, noTruncOption, parseFormat, printListing, stateColour, stdoutPalette } from '../output/format';
import type { Column } from '../output/table';
import { commandLine, containerStatus, formatPort, timeAgo } from '../output/units';
import { statusName } from './info';

const states = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

/**
 * `--filter engine=X --filter label=K[=V] --filter status=S --filter name=N`, as docker ps takes
 * them; `node=X` is `engine=X`, as classic Swarm users wrote it.
 */
export function containerFilters(filters: string[]): Omit<ContainerQuery, 'all'> {
  const request = { engines: [] as string[], states: [] as string[], labels: {} as Record<string, string>, names: [] as string[] };
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const key = eq < 0 ? '' : filter.slice(0, eq);
    const value = eq < 0 ? '' : filter.slice(eq + 1);
    if (!value) throw new UsageError(`--filter ${JSON.stringify(filter)}: expected engine= (or node=), label=, status= or name= with a value`);
    switch (key) {
      case 'engine':
      case 'node':
        request.engines.push(value);
        break;
      case 'status':
        if (!states.includes(value)) throw new UsageError(`--filter ${JSON.stringify(filter)}: status is one of ${states.join(', ')}`);
        request.states.push(value);
        break;
      case 'label': {
        const e = value.indexOf('=');
        request.labels[e < 0 ? value : value.slice(0, e)] = e < 0 ? '*' : value.slice(e + 1);
        break;
      }
      case 'name':
        request.names.push(value);
        break;
      default:
        throw new UsageError(`--filter ${JSON.stringify(filter)}: unknown filter ${JSON.stringify(key)}; known: engine (or node), label, status, name`);
    }
  }
  return request;
}

export default defineCommand({
  name: 'ps',
  aliases: ['ls'],
  summary: 'List containers across the cluster, with the engine each is on',
  usage: '[flags]',
  options: {
    all: flag('boolean', { short: 'a', description: 'Show stopped containers too' }),
    filter: flag('string', {
      short: 'f',
      repeat: true,
      placeholder: 'KEY=VALUE',
      description: 'engine=ID|NAME|ADDRESS (or node=, as on classic Swarm), label=KEY[=VALUE], status=STATE, name=PART',
      complete: ['engine=', 'node=', 'label=', 'status=', 'name='],
    }),
    'engine-names': flag('boolean', { description: 'Show names as classic Swarm did, ENGINE/NAME (the engine by name, or by address when engines share a name)' }),
    quiet: flag('boolean', { short: 'q', description: 'Only print container IDs' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  args: { max: 0 },
  examples: [
    'flotilla ps -a',
    'flotilla ps --filter engine=127.0.0.1:4251 --filter label=app=web',
    'flotilla ps --engine-names --filter node=node-1',
    "flotilla ps --format '{{.Name}} {{.Engine}} {{json .Constraints}}'",
  ],
  hints: { notFound: 'see flotilla engine ls' },
  async run(ctx, options) {
    const filters = containerFilters(options.filter);
    const [listing, engines] = await Promise.all([allContainers(ctx.cluster, { all: options.all, ...filters }), allEngines(ctx.cluster)]);
    const containers = listing.sort((a, b) => (b.container?.created?.getTime() ?? 0) - (a.container?.created?.getTime() ?? 0));
    if (options.quiet) {
      for (const c of containers) ctx.io.stdout.write(`${options['no-trunc'] ? c.container?.id : c.container?.id.slice(0, 12)}\n`);
      return 0;
    }
    const ambiguous = ambiguousNames(engines);
    const now = ctx.io.now();
    const p = stdoutPalette(ctx.io);
    const fields = (cc: ClusterContainer) => {
      const c = cc.container!;
      const engineUnhealthy = cc.engineStatus !== EngineStatus.ENGINE_STATUS_HEALTHY && cc.engineStatus !== EngineStatus.ENGINE_STATUS_UNSPECIFIED;
      const engine = engineLabel(cc.engine, ambiguous);
      // Classic Swarm's names: /ENGINE/NAME, shown without the leading slash.
      const named = (n: string) => (options['engine-names'] && engine ? `${engine}/${n}` : n);
      return {
        ID: options['no-trunc'] ? c.id : c.id.slice(0, 12),
        Name: c.names[0] === undefined ? '' : named(c.names[0]),
        Names: c.names.map(named).join(','),
        Image: c.image,
        Command: commandLine(c.command),
        Created: timeAgo(c.created, now),
        State: c.state,
        Status: containerStatus(c, now) + (engineUnhealthy ? ` (engine ${statusName(cc.engineStatus)})` : ''),
        Ports: c.portBindings.map(formatPort).join(', '),
        Engine: engine,
        EngineAddress: cc.engine?.address ?? '',
        EngineID: cc.engine?.id ?? '',
        Labels: c.labels,
        Constraints: cc.constraints,
        Affinities: cc.affinities,
        ReschedulePolicies: cc.reschedulePolicies,
      };
    };
    type Row = ReturnType<typeof fields>;
    const columns: Array<Column<Row>> = [
      { header: 'CONTAINER ID', value: (r) => r.ID },
      { header: 'IMAGE', value: (r) => r.Image, flex: true, min: 10, drop: 3 },
      { header: 'COMMAND', value: (r) => r.Command, flex: true, min: 10, drop: 1 },
      { header: 'CREATED', value: (r) => r.Created, drop: 0 },
      { header: 'STATUS', value: (r) => r.Status, flex: true, min: 12, paint: (t, r) => stateColour(p, r.State)(t) },
      { header: 'PORTS', value: (r) => r.Ports, flex: true, min: 8, drop: 2 },
      { header: 'NAMES', value: (r) => r.Names, flex: true, min: 10 },
      { header: 'ENGINE', value: (r) => r.Engine, drop: 4 },
    ];
    const rows = containers.map((cc) => ({ cc, f: fields(cc) }));
    printListing(
      ctx.io,
      parseFormat(options.format),
      {
        rows,
        columns: columns.map((c) => ({ ...c, value: (r: (typeof rows)[number]) => c.value(r.f), paint: c.paint && ((t: string, r: (typeof rows)[number]) => c.paint!(t, r.f)) })),
        json: (r) => ClusterContainer.toJSON(r.cc),
        fields: (r) => r.f,
      },
      { noTrunc: options['no-trunc'] },
    );
    return 0;
  },
});
