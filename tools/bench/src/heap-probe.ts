// Preloaded into a process under test (`node --expose-gc --require tools/bench/dist/heap-probe.js`),
// never imported by product code. On SIGUSR2: a full GC (when exposed), one {"heapProbe":true,...}
// line with process.memoryUsage() and V8's heap spaces (used and committed bytes), and, when FLOTILLA_HEAP_SNAPSHOT_DIR is set,
// a .heapsnapshot file written there (its path in the same line).
import * as path from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, committed: s.space_size }]));
  const dir = process.env.FLOTILLA_HEAP_SNAPSHOT_DIR;
  const snapshot = dir ? writeHeapSnapshot(path.join(dir, `manager-${process.pid}-${Date.now()}.heapsnapshot`)) : '';
  process.stdout.write(JSON.stringify({ heapProbe: true, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces, snapshot }) + '\n');
});
