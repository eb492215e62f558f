// Preloaded into a process under test (`node --require tools/bench/dist/gc-watch.js`), never
// imported by product code: appends one line per garbage collection of at least
// FLOTILLA_GC_WATCH_MS (15) to the file FLOTILLA_GC_LOG: `<epoch ms at its start> <ms> <kind>`,
// so a bench can tell which of its slow calls met a collection.
import * as fs from 'node:fs';
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';

const file = process.env.FLOTILLA_GC_LOG;
const atLeastMs = Number(process.env.FLOTILLA_GC_WATCH_MS ?? 15);
const kinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
if (file) {
  const out = fs.openSync(file, 'a');
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration < atLeastMs) continue;
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      fs.writeSync(out, `${Math.round(performance.timeOrigin + e.startTime)} ${e.duration.toFixed(1)} ${kinds[kind ?? -1] ?? String(kind)}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}
