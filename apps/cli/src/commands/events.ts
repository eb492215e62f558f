import { flag } from '@flotilla/config';
import { ClusterEvent } from '@flotilla/proto/cluster';
import { defineCommand, engineLabel } from '../command';
import { UsageError } from '../errors';
import { formatOption, parseFormat, stdoutPalette, templateData } from '../output/format';
import { healthWord } from './info';

interface EventFilters {
  types: string[];
  engines: string[];
  containers: string[];
  actions: Set<string>;
}

/** `--filter type=container --filter engine=X --filter container=web --filter event=die`. */
export function eventFilters(filters: string[]): EventFilters {
  const out: EventFilters = { types: [], engines: [], containers: [], actions: new Set() };
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const key = eq < 0 ? '' : filter.slice(0, eq);
    const value = eq < 0 ? '' : filter.slice(eq + 1);
    if (!value) throw new UsageError(`--filter ${JSON.stringify(filter)}: expected type=, engine=, container= or event= with a value`);
    if (key === 'type') out.types.push(value);
    else if (key === 'engine' || key === 'node') out.engines.push(value);
    else if (key === 'container') out.containers.push(value);
    else if (key === 'event' || key === 'action') out.actions.add(value);
    else throw new UsageError(`--filter ${JSON.stringify(filter)}: unknown filter ${JSON.stringify(key)}; known: type, engine, container, event`);
  }
  return out;
}

/** RFC 3339 with nanoseconds when Docker stamped the event, as docker events prints it. */
function eventTime(event: ClusterEvent): string {
  const nanos = event.docker?.timeNano;
  if (nanos && nanos !== '0') {
    const n = BigInt(nanos);
    const iso = new Date(Number(n / 1_000_000n)).toISOString().replace(/\.\d+Z$/, '');
    return `${iso}.${(n % 1_000_000_000n).toString().padStart(9, '0')}Z`;
  }
  return event.time ? event.time.toISOString() : '';
}

export function eventFields(event: ClusterEvent) {
  const attributes = { ...(event.docker?.actorAttributes ?? {}) };
  const actor = event.type === 'engine' ? (event.engine?.address ?? '') : (event.docker?.actorId ?? '');
  return {
    Time: eventTime(event),
    Type: event.type,
    Action: event.action,
    Actor: actor,
    ID: actor,
    Name: attributes.name ?? event.container?.names[0] ?? '',
    Engine: engineLabel(event.engine),
    EngineAddress: event.engine?.address ?? '',
    EngineID: event.engine?.id ?? '',
    Attributes: attributes,
    Error: event.error,
    Health: event.engineState ? healthWord(event.engineState) : '',
  };
}

export function eventLine(event: ClusterEvent): string {
  const f = eventFields(event);
  const pairs: string[] = [];
  if (event.type === 'engine') {
    if (event.engine?.name) pairs.push(`name=${event.engine.name}`);
    if (event.engine?.id) pairs.push(`id=${event.engine.id}`);
    if (event.engineState) pairs.push(`health=${healthWord(event.engineState)}`);
    if (event.error) pairs.push(`error=${event.error}`);
  } else {
    pairs.push(`engine=${f.Engine}`);
    if (event.engine?.address && event.engine.address !== f.Engine) pairs.push(`engine.addr=${event.engine.address}`);
    for (const [k, v] of Object.entries(f.Attributes).sort(([a], [b]) => a.localeCompare(b))) pairs.push(`${k}=${v}`);
  }
  return `${f.Time} ${f.Type} ${f.Action} ${f.Actor}${pairs.length ? ` (${pairs.join(', ')})` : ''}`;
}

export default defineCommand({
  name: 'events',
  summary: 'Follow the events of the cluster and of every engine, until interrupted (Ctrl-C)',
  usage: '[flags]',
  description: 'Engine events (type engine: pending, connect, disconnect, reconnect, removed, error) and every Docker event, each with its engine.',
  options: {
    filter: flag('string', { short: 'f', repeat: true, placeholder: 'KEY=VALUE', description: 'type=container|image|network|volume|engine, engine=ID|NAME|ADDRESS, container=ID|NAME, event=ACTION', complete: ['type=', 'engine=', 'container=', 'event='] }),
    format: formatOption,
  },
  args: { max: 0 },
  examples: ['flotilla events', 'flotilla events --filter container=web --filter event=die', "flotilla events --format '{{.Action}} {{.Name}}'", 'flotilla events --format json'],
  hints: { notFound: 'see flotilla engine ls' },
  async run(ctx, options) {
    const filters = eventFilters(options.filter);
    const format = parseFormat(options.format);
    const p = stdoutPalette(ctx.io);
    const request = { types: filters.types, engines: filters.engines, containers: filters.containers };
    for await (const { event } of ctx.cluster.stream((c, o) => c.watchEvents(request, o))) {
      if (!event || (filters.actions.size && !filters.actions.has(event.action))) continue;
      if (format.kind === 'json') ctx.io.stdout.write(`${JSON.stringify(ClusterEvent.toJSON(event))}\n`);
      else if (format.kind === 'template') ctx.io.stdout.write(`${format.template.render(templateData(eventFields(event), ClusterEvent.toJSON(event)))}\n`);
      else ctx.io.stdout.write(`${event.error || /^(die|kill|oom|disconnect|error)$/.test(event.action) ? p.red(eventLine(event)) : eventLine(event)}\n`);
    }
    return 0;
  },
});
