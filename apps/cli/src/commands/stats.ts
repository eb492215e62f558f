import { flag } from '@flotilla/config';
import { ContainerStats } from '@flotilla/proto';
import { ContainerStatsResponse } from '@flotilla/proto/cluster';
import { ambiguousNames, defineCommand, engineLabel, type Context } from '../command';
import { containerHints, reportContainerFailure } from '../each';
import { formatOption, noTruncOption, parseFormat, printListing, type Format } from '../output/format';
import type { Column } from '../output/table';
import { formatBytes } from '../output/units';
import { allEngines } from '../pages';

/** Docker's stats columns, the engine added; each figure as `docker stats` prints it. */
export function statsFields(sample: ContainerStatsResponse, noTrunc: boolean, ambiguous: ReadonlySet<string> = new Set()) {
  const s = sample.stats ?? ContainerStats.fromPartial({});
  const pair = (a: string, b: string) => `${formatBytes(a)} / ${formatBytes(b)}`;
  return {
    ID: noTrunc ? s.containerId : s.containerId.slice(0, 12),
    Name: s.name,
    Engine: engineLabel(sample.engine, ambiguous),
    CPUPerc: `${s.cpuPercent.toFixed(2)}%`,
    MemUsage: pair(s.memoryUsageBytes, s.memoryLimitBytes),
    MemPerc: `${s.memoryPercent.toFixed(2)}%`,
    NetIO: pair(s.networkRxBytes, s.networkTxBytes),
    BlockIO: pair(s.blockReadBytes, s.blockWriteBytes),
    PIDs: s.pids,
  };
}

type Row = { sample: ContainerStatsResponse; f: ReturnType<typeof statsFields> };

const columns: Array<Column<Row>> = [
  { header: 'CONTAINER ID', value: (r) => r.f.ID },
  { header: 'NAME', value: (r) => r.f.Name, flex: true, min: 8 },
  { header: 'ENGINE', value: (r) => r.f.Engine, flex: true, min: 8, drop: 1 },
  { header: 'CPU %', value: (r) => r.f.CPUPerc },
  { header: 'MEM USAGE / LIMIT', value: (r) => r.f.MemUsage },
  { header: 'MEM %', value: (r) => r.f.MemPerc },
  { header: 'NET I/O', value: (r) => r.f.NetIO, drop: 2 },
  { header: 'BLOCK I/O', value: (r) => r.f.BlockIO, drop: 3 },
  { header: 'PIDS', value: (r) => r.f.PIDs, drop: 0 },
];

const hints = { ...containerHints, notFound: 'see flotilla ps' };

// The terminal's "clear the screen, cursor home", as docker stats redraws its table.
const clearScreen = '\x1b[2J\x1b[H';

/** How often a streaming table is redrawn; the engines sample about once a second. */
const redrawMs = 1000;

export default defineCommand({
  name: 'stats',
  summary: "Show containers' CPU, memory, network and block I/O use",
  usage: '[flags] CONTAINER [CONTAINER...]',
  description:
    "Each container's engine samples it about every second; the table is redrawn until the containers stop (or Ctrl-C). --no-stream prints one sample of each. With --format json or a template, each sample is printed as it comes, one line each.",
  options: {
    'no-stream': flag('boolean', { description: 'Print one sample of each container, then exit' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  // Each container is one open stream on the manager, which caps a caller's open streams.
  args: { names: 'CONTAINER', min: 1, max: 64, complete: 'containers' },
  hints,
  examples: ['flotilla stats web db', 'flotilla stats --no-stream --format json web', "flotilla stats --format '{{.Name}} {{.MemUsage}}' web"],
  async run(ctx, options, refs) {
    const format = parseFormat(options.format);
    const noTrunc = options['no-trunc'];
    // As ps shows engines: by name, or by address where engines share a name.
    const ambiguous = ambiguousNames(await allEngines(ctx.cluster));
    const fieldsOf = (sample: ContainerStatsResponse) => statsFields(sample, noTrunc, ambiguous);
    const latest = new Map<string, Row>();
    const rows = () => refs.flatMap((ref) => latest.get(ref) ?? []);
    const listing = (shown: readonly Row[]) => ({ rows: shown, columns, json: (r: Row) => ContainerStatsResponse.toJSON(r.sample), fields: (r: Row) => r.f });

    if (options['no-stream']) {
      const code = await eachStream(ctx, refs, false, (ref, sample) => latest.set(ref, { sample, f: fieldsOf(sample) }));
      printListing(ctx.io, format, listing(rows()), { noTrunc });
      return code;
    }

    const draw = () => {
      if (!latest.size) return;
      if (ctx.io.stdout.isTTY) ctx.io.stdout.write(clearScreen);
      printListing(ctx.io, format, listing(rows()), { noTrunc });
    };
    const timer = format.kind === 'table' ? setInterval(draw, redrawMs) : undefined;
    try {
      return await eachStream(ctx, refs, true, (ref, sample) => {
        const row = { sample, f: fieldsOf(sample) };
        const first = !latest.has(ref);
        latest.set(ref, row);
        if (format.kind !== 'table') printSample(ctx, format, row);
        // The first table as soon as every container has a sample, not a second later.
        else if (first && latest.size === refs.length) draw();
      });
    } finally {
      clearInterval(timer);
      if (format.kind === 'table') draw();
    }
  },
});

/** One line per sample: compact JSON, or the template. */
function printSample(ctx: Context, format: Format, row: Row): void {
  const json = ContainerStatsResponse.toJSON(row.sample);
  if (format.kind === 'json') ctx.io.stdout.write(`${JSON.stringify(json)}\n`);
  else printListing(ctx.io, format, { rows: [row], columns, json: () => json, fields: (r) => r.f });
}

/**
 * Reads each container's samples at once, as docker stats does: a container that fails is
 * reported on its own line as it fails, and the others go on. Exits with the first failure's code.
 */
async function eachStream(ctx: Context, refs: string[], stream: boolean, onSample: (ref: string, sample: ContainerStatsResponse) => void): Promise<number> {
  const codes = await Promise.all(
    refs.map(async (container) => {
      try {
        for await (const sample of ctx.cluster.stream((c, o) => c.containerStats({ container, stream }, o))) onSample(container, sample);
        return 0;
      } catch (err) {
        return reportContainerFailure(ctx, err, hints);
      }
    }),
  );
  return codes.find((code) => code !== 0) ?? 0;
}
