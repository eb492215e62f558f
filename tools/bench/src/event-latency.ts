#!/usr/bin/env node
// B5, event latency: 100 hollow engines (the real agent code over HollowDockerBackend) in this
// process, one cluster-manager process, and a WatchEvents subscriber in this process. Docker
// events are emitted on the hollow engines at a steady total rate, round-robin over the engines;
// each event's latency is its receipt at the subscriber minus its emit time, both read from this
// process's performance.now() (one clock).
import { call } from '@flotilla/grpc';
import { EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { waitFor } from '@flotilla/testing';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuMsOf, fmt, goalTable, log, now, parseArgs, report, runMain, sleep, startManagerProcess, summarize, table, type GoalCheck, type ManagerProcess, type Row } from './common';
import { startHollowEngines, stopHollowEngines, type HollowEngine } from './hollow';
import { allEngines } from '@flotilla/testing';

const flags = parseArgs(
  { engines: 100, containers: 30, 'heartbeat-interval': 1000, rate: 500, 'duration-s': 10, 'warmup-s': 1, runs: 3, 'drain-timeout-ms': 10_000, 'manager-args': '', 'no-results': false },
  process.argv.slice(2),
  'Usage: node tools/bench/dist/event-latency.js [--rate 500] [--duration-s 10] [--runs 3] [--engines 100]',
);

const SEQ = 'flotilla.bench.seq';

let hollow: HollowEngine[] = [];
let manager: ManagerProcess | undefined;

interface RunStats {
  latencies: number[];
  emitted: number;
  received: number;
  lateTicksMs: number[];
  managerCpuPct: number;
  benchCpuPct: number;
  loopDelayP99Ms: number;
}

async function main(): Promise<void> {
  log(`starting ${flags.engines} hollow engines in this process`);
  hollow = await startHollowEngines({ first: 0, count: flags.engines, containers: flags.containers, heartbeatIntervalMs: flags['heartbeat-interval'] });
  const extra = flags['manager-args'] ? flags['manager-args'].split(' ').filter(Boolean) : [];
  manager = await startManagerProcess(extra);
  const m = manager.client;
  await call(manager.pusher, manager.pusher.syncEngines, { source: 'bench', generation: '1', addresses: hollow.map((h) => h.address) });
  await waitFor(async () => (await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === hollow.length, {
    timeoutMs: 60_000,
    what: `all ${hollow.length} engines healthy`,
  });
  log(`${hollow.length} engines healthy behind manager ${manager.address}`);

  // emitAt[seq] = performance.now() just before the emit; latency = receipt − emitAt.
  const emitAt: number[] = [];
  const receivedAt: number[] = [];
  let disconnects = 0;
  const stream = m.watchEvents({ types: ['container', 'engine'], engines: [], containers: [] });
  stream.on('data', (r: WatchEventsResponse) => {
    const at = now();
    const e = r.event;
    if (!e) return;
    if (e.type === 'engine') {
      if (e.action === 'disconnect') disconnects++;
      return;
    }
    const seq = e.docker?.actorAttributes[SEQ];
    if (seq !== undefined) receivedAt[Number(seq)] = at;
  });
  let cancelled = false;
  stream.on('error', (err: Error) => {
    if (!cancelled) log(`WatchEvents failed: ${err.message}`);
  });
  await call(m, m.getInfo, {}); // the subscription exists once this answers (same channel, in order)

  let seq = 0;
  /** Emits at `rate` events/s for `seconds`, round-robin over engines and their containers. */
  const emitFor = async (seconds: number): Promise<{ from: number; to: number; lateTicksMs: number[] }> => {
    const from = seq;
    const total = Math.round(flags.rate * seconds);
    const start = now();
    const lateTicksMs: number[] = [];
    const tickMs = Math.max(1, Math.min(10, 1000 / flags.rate));
    await new Promise<void>((resolve) => {
      let previous = start;
      const timer = setInterval(() => {
        const t = now();
        lateTicksMs.push(Math.max(0, t - previous - tickMs));
        previous = t;
        const due = Math.min(total, Math.floor(((t - start) / 1000) * flags.rate));
        while (seq - from < due) {
          const n = seq;
          const engine = hollow[n % hollow.length];
          const c = Math.floor(n / hollow.length) % engine.containerIds.length;
          emitAt[n] = now();
          engine.backend!.emit('container', 'update', engine.containerIds[c], { name: engine.containerNames[c], [SEQ]: String(n) });
          seq++;
        }
        if (seq - from >= total) {
          clearInterval(timer);
          resolve();
        }
      }, tickMs);
    });
    return { from, to: seq, lateTicksMs };
  };

  const drain = async (from: number, to: number) => {
    const deadline = now() + flags['drain-timeout-ms'];
    for (;;) {
      let missing = 0;
      for (let i = from; i < to; i++) if (receivedAt[i] === undefined) missing++;
      if (missing === 0 || now() > deadline) return missing;
      await sleep(20);
    }
  };

  log(`warm-up: ${flags['warmup-s']} s at ${flags.rate} events/s`);
  const warm = await emitFor(flags['warmup-s']);
  await drain(warm.from, warm.to);

  const runs: RunStats[] = [];
  for (let r = 1; r <= flags.runs; r++) {
    const cpu0 = cpuMsOf(manager.pid);
    const self0 = process.cpuUsage();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const t0 = now();
    const span = await emitFor(flags['duration-s']);
    const missing = await drain(span.from, span.to);
    loop.disable();
    const wall = (now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const latencies: number[] = [];
    for (let i = span.from; i < span.to; i++) if (receivedAt[i] !== undefined) latencies.push(receivedAt[i] - emitAt[i]);
    const stats: RunStats = {
      latencies,
      emitted: span.to - span.from,
      received: span.to - span.from - missing,
      lateTicksMs: span.lateTicksMs,
      managerCpuPct: ((cpuMsOf(manager.pid) - cpu0) / 1000 / wall) * 100,
      benchCpuPct: ((self.user + self.system) / 1e6 / wall) * 100,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
    };
    runs.push(stats);
    const s = summarize(latencies);
    log(`run ${r}: ${stats.received}/${stats.emitted} events received; latency median ${fmt(s.median)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms; manager CPU ${stats.managerCpuPct.toFixed(0)}%, bench CPU ${stats.benchCpuPct.toFixed(0)}%`);
  }
  cancelled = true;
  stream.cancel();

  const pooled = runs.flatMap((r) => r.latencies);
  const all = summarize(pooled);
  const rows: Row[] = [
    { what: 'event latency, emit → WatchEvents subscriber (all runs pooled)', unit: 'ms', summary: all, digits: 2 },
    ...runs.map((r, i) => ({ what: `  run ${i + 1}`, unit: 'ms', summary: summarize(r.latencies), digits: 2 })),
    { what: 'per-run p99', unit: 'ms', summary: summarize(runs.map((r) => summarize(r.latencies).p99)), digits: 2 },
    { what: 'emitter timer lateness per tick (bench event loop)', unit: 'ms', summary: summarize(runs.flatMap((r) => r.lateTicksMs)), digits: 2 },
  ];
  const lost = runs.reduce((a, r) => a + (r.emitted - r.received), 0);
  const goals: GoalCheck[] = [
    { goal: `B5: event latency p99 ≤ 50 ms with ${flags.engines} engines active`, measured: `median ${fmt(all.median, 2)} ms, p99 ${fmt(all.p99, 2)} ms (n=${all.n}; ${lost} not received)`, met: all.p99 <= 50 && lost === 0 },
  ];
  const body = [
    `${flags.engines} hollow engines × ${flags.containers} containers in the bench process (agent heartbeat ${flags['heartbeat-interval']} ms), one cluster-manager process on its default flags${flags['manager-args'] ? ` plus \`${flags['manager-args']}\`` : ''}, one WatchEvents subscriber (types container, engine) in the bench process. ${flags.runs} runs of ${flags['duration-s']} s at ${flags.rate} container events/s in total (${(flags.rate / flags.engines).toFixed(1)}/s per engine, round-robin), after a ${flags['warmup-s']} s warm-up. Each event: HollowDockerBackend.emit('container', 'update', …) → agent monitor (inspect, container delta) → Watch stream → manager → WatchEvents. Emit and receipt times both come from the bench process's performance.now().`,
    '',
    table(rows),
    '',
    `Manager CPU during the runs: ${runs.map((r) => `${r.managerCpuPct.toFixed(0)}%`).join(', ')} of a core; bench process (emitter, ${flags.engines} agents, subscriber): ${runs.map((r) => `${r.benchCpuPct.toFixed(0)}%`).join(', ')}; bench event-loop delay p99: ${runs.map((r) => `${r.loopDelayP99Ms.toFixed(1)} ms`).join(', ')}. Engine disconnects during the runs: ${disconnects}.`,
    '',
    goalTable(goals),
  ].join('\n');
  report(`event-latency (B5), ${flags.engines} engines, ${flags.rate} events/s`, body, !flags['no-results']);
}

runMain(main, async () => {
  await manager?.close().catch(() => undefined);
  await stopHollowEngines(hollow);
});
