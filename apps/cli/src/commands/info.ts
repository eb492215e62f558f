import { ClusterEngine, EngineStatus, GetInfoResponse } from '@flotilla/proto/cluster';
import { defineCommand } from '../command';
import { formatOption, noTruncOption, parseFormat, printObject, stateColour, stdoutPalette } from '../output/format';
import { renderPairs, renderTable, type Column } from '../output/table';
import { humanDuration } from '@flotilla/time';
import { formatBytes, formatCpus, timeAgo } from '../output/units';
import { colourEnabled } from '../io';
import { allEngines } from '../pages';

/** Labels every engine reports; shown after the engine's own labels. */
export const builtinLabels = new Set(['storagedriver', 'kernelversion', 'operatingsystem', 'ostype']);

export function statusName(status: EngineStatus): string {
  switch (status) {
    case EngineStatus.ENGINE_STATUS_PENDING:
      return 'pending';
    case EngineStatus.ENGINE_STATUS_HEALTHY:
      return 'healthy';
    case EngineStatus.ENGINE_STATUS_UNHEALTHY:
      return 'unhealthy';
    case EngineStatus.ENGINE_STATUS_DISCONNECTED:
      return 'disconnected';
    default:
      return 'unknown';
  }
}

/**
 * The one word placement goes by (healthy, flapping, unhealthy, pending, disconnected), the same
 * in info, engine ls, explain and events; a manager that does not say gives the status.
 */
export function healthWord(e: ClusterEngine): string {
  return e.healthState || statusName(e.status);
}

/** The health the scheduler weighs (0 to 100), with what lowered it: `1 (3 recent failures; steady in 4 minutes)`. */
export function healthText(e: ClusterEngine, now: number): string {
  const failures = e.recentFailures;
  if (!failures) return String(e.health);
  const recent = `${failures} recent failure${failures === 1 ? '' : 's'}`;
  if (!e.flappingUntil) return `${e.health} (${recent})`;
  return `${e.health} (${recent}; steady in ${humanDuration(Math.max(0, e.flappingUntil.getTime() - now)).toLowerCase()})`;
}

/** `zone=a, storagedriver=vfs, ...`: the engine's own labels first. */
export function labelText(labels: Record<string, string> | undefined, withBuiltins = true): string {
  const entries = Object.entries(labels ?? {}).filter(([k]) => withBuiltins || !builtinLabels.has(k));
  // The engine's own plain labels (zone=a) first, then namespaced ones (com.example.x), then built-ins.
  const rank = (k: string) => (builtinLabels.has(k) ? 2 : k.includes('.') ? 1 : 0);
  entries.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  return entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

/**
 * `reserved / usable`, as classic Swarm showed it (usable = total with the overcommit), with the
 * raw figure beside it when the overcommit changes it: `1 GiB / 8.4 GiB (8 GiB raw)`.
 */
export function reservedText(reserved: string, usable: string, raw: string): string {
  return usable === raw ? `${reserved} / ${raw}` : `${reserved} / ${usable} (${raw} raw)`;
}

/** The display fields of an engine, for tables and templates. */
export function engineFields(e: ClusterEngine, now: number) {
  const cpus = e.info ? Number(e.info.cpus) : 0;
  const usableCpus = Number(e.usableNanoCpus) ? formatCpus(e.usableNanoCpus) : String(cpus);
  const usableMemory = Number(e.usableMemoryBytes) ? formatBytes(e.usableMemoryBytes) : formatBytes(e.info?.memoryBytes ?? 0);
  return {
    Name: e.name,
    Address: e.address,
    ID: e.id,
    Status: healthWord(e),
    Health: e.health,
    HealthText: healthText(e, now),
    FlappingUntil: e.flappingUntil ? e.flappingUntil.toISOString() : '',
    Containers: e.containers?.total ?? 0,
    Running: e.containers?.running ?? 0,
    ReservedCPUs: reservedText(formatCpus(e.reservedNanoCpus), usableCpus, String(cpus)),
    ReservedMemory: reservedText(formatBytes(e.reservedMemoryBytes), usableMemory, formatBytes(e.info?.memoryBytes ?? 0)),
    Labels: e.info?.labels ?? {},
    LabelText: labelText(e.info?.labels),
    Error: e.lastError,
    UpdatedAt: e.updatedAt ? timeAgo(e.updatedAt, now) : '',
    ServerVersion: e.info?.serverVersion ?? '',
    Images: e.images,
  };
}

export type EngineFields = ReturnType<typeof engineFields>;

export function engineColumns(p: ReturnType<typeof stdoutPalette>, withId: boolean): Array<Column<EngineFields>> {
  const columns: Array<Column<EngineFields> | false> = [
    { header: 'NAME', value: (r) => r.Name, flex: true, min: 10 },
    { header: 'ADDRESS', value: (r) => r.Address },
    withId && { header: 'ID', value: (r) => r.ID, flex: true, min: 8, drop: 1 },
    { header: 'STATUS', value: (r) => r.Status, paint: (t, r) => stateColour(p, r.Status)(t) },
    { header: 'HEALTH', value: (r) => r.HealthText, flex: true, min: 6, drop: 7 },
    { header: 'CONTAINERS', value: (r) => `${r.Containers} (${r.Running} running)`, drop: 5 },
    { header: 'RESERVED CPUS', value: (r) => r.ReservedCPUs, drop: 4 },
    { header: 'RESERVED MEMORY', value: (r) => r.ReservedMemory, drop: 3 },
    { header: 'LABELS', value: (r) => r.LabelText, flex: true, min: 10, drop: 2 },
    { header: 'ERROR', value: (r) => r.Error, flex: true, min: 10, drop: 6, paint: (t) => p.red(t) },
    { header: 'UPDATED', value: (r) => r.UpdatedAt, drop: 0 },
  ];
  return columns.filter((c): c is Column<EngineFields> => Boolean(c));
}

/** The manager's own event-loop lag over the last minute, and its late heartbeat sweeps (when it stalled). */
export function lagText(info: Pick<GetInfoResponse, 'eventLoopLagP99Ms' | 'eventLoopLagMaxMs' | 'lateHeartbeatSweeps'>): string {
  const ms = (n: number) => `${Math.round(n)} ms`;
  const late = info.lateHeartbeatSweeps;
  return `p99 ${ms(info.eventLoopLagP99Ms)}, max ${ms(info.eventLoopLagMaxMs)} over the last minute${late ? `; ${late} late heartbeat sweep${late === 1 ? '' : 's'} (manager stalled)` : ''}`;
}

export default defineCommand({
  name: 'info',
  summary: 'Show engines, their state, containers, reserved CPUs and memory, labels and errors',
  usage: '[flags]',
  description: 'The cluster as `docker info` showed it on classic Swarm: totals, then one line per engine.',
  options: { format: formatOption, 'no-trunc': noTruncOption },
  args: { max: 0 },
  examples: ['flotilla info', "flotilla info --format '{{.engineCounts.healthy}}'", 'flotilla info --format json'],
  async run(ctx, options) {
    const [summary, engines] = await Promise.all([ctx.cluster.call((c, o) => c.getInfo({}, o)), allEngines(ctx.cluster)]);
    // GetInfo no longer lists engines (it stays small at any size): the pages of ListEngines fill
    // the field back in, so tables, JSON and templates read as they always did.
    const info = { ...summary, engines };
    const format = parseFormat(options.format);
    const now = ctx.io.now();
    const json = GetInfoResponse.toJSON(info) as Record<string, unknown>;
    const counts = info.engineCounts ?? { pending: 0, healthy: 0, unhealthy: 0, disconnected: 0 };
    const containers = info.containers ?? { running: 0, paused: 0, stopped: 0, total: 0 };
    // Usable totals (with the overcommit), as classic showed them, over the engines GetInfo's raw totals count.
    const placeable = engines.filter((e) => e.status !== EngineStatus.ENGINE_STATUS_PENDING);
    const usableCpus = placeable.reduce((n, e) => n + Number(e.usableNanoCpus), 0);
    const usableMemory = placeable.reduce((n, e) => n + Number(e.usableMemoryBytes), 0);
    const fields = {
      Manager: ctx.cluster.manager,
      Version: info.managerVersion,
      // Classic Swarm's lines: one manager is the primary; its version as swarm/<version> was.
      Role: 'primary',
      ServerVersion: `flotilla/${info.managerVersion || 'unknown'}`,
      Strategy: info.strategy,
      Filters: info.filters,
      Engines: info.engines.length,
      Containers: containers.total,
      ReservedCPUs: reservedText(formatCpus(info.reservedNanoCpus), formatCpus(usableCpus || info.totalNanoCpus), formatCpus(info.totalNanoCpus)),
      ReservedMemory: reservedText(formatBytes(info.reservedMemoryBytes), formatBytes(usableMemory || info.totalMemoryBytes), formatBytes(info.totalMemoryBytes)),
    };
    if (format.kind !== 'table') {
      printObject(ctx.io, format, json, fields);
      return 0;
    }
    const p = stdoutPalette(ctx.io);
    // Flapping engines are healthy by status; they are counted under the word the tables show.
    const flapping = info.flappingEngines;
    const engineCounts = [`${counts.healthy - flapping} healthy`, flapping && p.yellow(`${flapping} flapping`), counts.unhealthy && p.red(`${counts.unhealthy} unhealthy`), counts.pending && p.yellow(`${counts.pending} pending`)]
      .filter(Boolean)
      .join(', ');
    ctx.io.stdout.write(
      renderPairs([
        ['Manager', `${ctx.cluster.manager}${info.managerVersion ? ` (version ${info.managerVersion})` : ''}`],
        ['Role', fields.Role],
        ['Server Version', fields.ServerVersion],
        ['Strategy', `${info.strategy}${info.overcommitRatio ? `, overcommit ${Math.round(info.overcommitRatio * 1000) / 10}%` : ''}`],
        ['Filters', info.filters.join(', ')],
        ['Engines', `${info.engines.length}${info.engines.length ? ` (${engineCounts})` : ''}`],
        ['Containers', `${containers.total} (${containers.running} running, ${containers.paused} paused, ${containers.stopped} stopped)`],
        ['Images', String(info.images)],
        ['Reserved CPUs', fields.ReservedCPUs],
        ['Reserved memory', fields.ReservedMemory],
        ['Event-loop lag', lagText(info)],
      ], ctx.io.stdout.columns),
    );
    if (info.engines.length) {
      ctx.io.stdout.write('\n');
      const rows = info.engines.map((e) => engineFields(e, now));
      ctx.io.stdout.write(renderTable(rows, engineColumns(p, false), { width: ctx.io.stdout.columns, noTrunc: options['no-trunc'], colour: colourEnabled(ctx.io.stdout, ctx.io.env) }));
    } else {
      ctx.io.stdout.write('\nNo engines yet: add one with flotilla engine add HOST:PORT (an engine-agent\'s address).\n');
    }
    return 0;
  },
});
