import type { EngineRef } from '@flotilla/proto/cluster';
import { UsageError } from './errors';
import type { Io } from './io';

/*
 * What the volume and network commands share: each engine holds its own, so filters name engines,
 * and each change answers one result per engine.
 */

/** One engine's result of a change (VolumeResult, NetworkResult). */
export interface PerEngineResult {
  engine?: EngineRef;
  error: string;
  unsettled: boolean;
}

/** `--filter engine=E --filter name=N --filter label=KEY[=VALUE]`, for what engines hold (volumes, networks). */
export function perEngineFilters(filters: string[]): { engines: string[]; names: string[]; labels: Record<string, string> } {
  const engines: string[] = [];
  const names: string[] = [];
  const labels: Record<string, string> = {};
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const key = eq < 0 ? filter : filter.slice(0, eq);
    const value = eq < 0 ? '' : filter.slice(eq + 1);
    if (key === 'engine' && value) engines.push(value);
    else if (key === 'name' && value) names.push(value);
    else if (key === 'label' && value) {
      const e = value.indexOf('=');
      labels[e < 0 ? value : value.slice(0, e)] = e < 0 ? '*' : value.slice(e + 1);
    } else throw new UsageError(`--filter ${JSON.stringify(filter)}: expected engine=ENGINE, name=NAME or label=KEY[=VALUE]`);
  }
  return { engines, names, labels };
}

/** One line per engine: "NAME DONE on ENGINE" (stdout), or "ENGINE: error" (stderr); 1 when any engine failed. */
export function printPerEngineResults(io: Io, name: string, results: PerEngineResult[], done: string): number {
  let failed = 0;
  for (const r of results) {
    const engine = r.engine?.name ? `${r.engine.name} (${r.engine.address})` : (r.engine?.address ?? '?');
    if (r.error) {
      failed++;
      io.stderr.write(`${engine}: ${r.error}\n`);
    } else {
      io.stdout.write(`${name} ${done} on ${engine}${r.unsettled ? ' (not yet seen by the manager)' : ''}\n`);
    }
  }
  if (!results.length) io.stderr.write('no engine to act on (no healthy engine)\n');
  return failed || !results.length ? 1 : 0;
}
