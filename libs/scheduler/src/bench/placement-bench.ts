/*
 * Scheduler micro-benchmark (anchors.md B3): placement decisions per second with three
 * constraints and the port filter, and with the port filter alone (every engine fits), at 1,000,
 * 5,000 and 10,000 engines of 30 containers each, the spread strategy, and the manager's default
 * --placement-candidates (100; 0 weighs every engine).
 *   npx nx run @flotilla/scheduler:build && node libs/scheduler/dist/bench/placement-bench.js [--engines 1000,5000,10000] [--runs 7] [--decisions 20000] [--candidates 100]
 * Prints, per size and request, the median and p99 of decisions/s over the runs, and the p50 and
 * p99 of single decision latency.
 */
import { performance } from 'node:perf_hooks';
import { allFilters } from '../filters';
import { parseExpression } from '../expression';
import type { PlacementRequest } from '../placement-request';
import { Scheduler } from '../scheduler';
import { StaticEngine, StaticSource } from '../static-engine';
import { spreadStrategy } from '../strategies';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function cluster(size: number): StaticSource {
  const zones = ['a', 'b', 'c', 'd', 'e'];
  const engines: StaticEngine[] = [];
  for (let i = 0; i < size; i++) {
    const e = new StaticEngine(`ID${i}`, `engine-${i}`, `10.0.${i >> 8}.${i & 255}:4250`, { zone: zones[i % 5], ostype: 'linux', storagedriver: i % 7 === 0 ? 'devicemapper' : 'overlay2', disk: i % 2 ? 'ssd' : 'hdd' }, { nanoCpus: 16e9, memoryBytes: 64 * 2 ** 30 });
    for (let c = 0; c < 30; c++) {
      e.add({ id: `c${i}-${c}`.padEnd(64, '0'), name: `svc-${i}-${c}`, image: 'app:1', nanoCpus: 1e8, memoryBytes: 256 * 2 ** 20, labels: { app: `app${c % 5}` }, ports: c < 3 ? [{ hostPort: 8000 + c }] : [] });
    }
    engines.push(e);
  }
  return new StaticSource(engines);
}

const constrained: PlacementRequest = {
  name: 'web',
  image: 'app:1',
  nanoCpus: 5e8,
  memoryBytes: 512 * 2 ** 20,
  ports: [{ hostPort: 8080, protocol: 'tcp', hostIp: '' }],
  constraints: ['zone==b', 'storagedriver!=devicemapper', 'disk==ssd'].map((c, i) => parseExpression(c, `constraints[${i}]`)),
  affinities: [],
  dependencies: [],
};
const unconstrained: PlacementRequest = { ...constrained, constraints: [] };

const sizes = arg('engines', '1000,5000,10000').split(',').map(Number);
const runs = Number(arg('runs', '7'));
const decisions = Number(arg('decisions', '20000'));
const candidates = Number(arg('candidates', '100'));
const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0.05, candidates });

console.log(`node ${process.version}, ${process.arch}; ${runs} runs of ${decisions} decisions; spread, candidates ${candidates}; request "constrained": 3 constraints (zone==b, storagedriver!=devicemapper, disk==ssd) + host port 8080 + 0.5 CPU + 512 MiB; "any engine": the same without constraints`);
console.log('engines  request      decisions/s median  decisions/s p99(low)  latency p50 µs  latency p99 µs');
for (const size of sizes) {
  const source = cluster(size);
  for (const [label, request] of [['constrained', constrained], ['any engine', unconstrained]] as const) {
    for (let i = 0; i < 2000; i++) scheduler.place(request, source); // warm up
    const rates: number[] = [];
    const latencies: number[] = [];
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      for (let i = 0; i < decisions; i++) {
        const t = performance.now();
        const placement = scheduler.place(request, source);
        latencies.push(performance.now() - t);
        if (!placement.engine) throw new Error(placement.summary);
      }
      rates.push(decisions / ((performance.now() - start) / 1000));
    }
    rates.sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    // The slowest runs are the low end of the rate: report the 1st percentile as "p99".
    console.log(`${String(size).padStart(7)}  ${label.padEnd(11)}  ${percentile(rates, 50).toFixed(0).padStart(18)}  ${percentile(rates, 1).toFixed(0).padStart(20)}  ${(percentile(latencies, 50) * 1000).toFixed(1).padStart(14)}  ${(percentile(latencies, 99) * 1000).toFixed(1).padStart(14)}`);
  }
}
