#!/usr/bin/env node
// A helper process for hollow-cluster.ts: hosts `--count` hollow engines (the real agent code over
// HollowDockerBackend), each on its own 127.0.0.1 port. Prints one JSON line
// {"ready":true,...,"addresses":[...]} on stdout when all of them listen, then serves until
// SIGTERM/SIGINT or until its stdin closes (the bench that started it is gone).
// `--docker-hosts FILE` (one `unix://...` per line, as libs/hollow-docker's main.js writes): the
// agents use their real dockerode back end against those hollow Docker engines instead.
// For churn.ts (B7): `--ports P1,P2,...` fixes each agent's port (a restarted helper comes back on
// the same addresses); SIGUSR2 prints one {"stats":true,...} line (heap after a GC when node runs
// with --expose-gc, active resources by type); SIGHUP restarts every agent in process (stop, then a
// new agent over the same back end and port) and prints {"restarted":true,...}.
import { readFileSync } from 'node:fs';
import { getActiveResourcesInfo, memoryUsage } from 'node:process';
import { parseArgs } from './common';
import { restartHollowAgent, startHollowEngines, stopHollowEngines, type HollowEngine, type HollowOptions } from './hollow';

const flags = parseArgs(
  { first: 0, count: 1000, containers: 30, 'heartbeat-interval': 1000, concurrency: 32, 'keepalive-time-ms': 0, 'keepalive-timeout-ms': 0, ports: '', 'docker-hosts': '' },
  process.argv.slice(2),
  'Usage: node tools/bench/dist/hollow-agents.js --first I --count N [--containers 30] [--heartbeat-interval 1000] [--ports P1,P2,...]',
);

let engines: HollowEngine[] = [];
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.race([stopHollowEngines(engines), new Promise((r) => setTimeout(r, 3000))]);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  process.stdin.on('end', () => void stop(0));
  process.stdin.on('error', () => void stop(0));
  process.stdin.resume();
  const started = Date.now();
  // 0 keeps the agent's default keepalive (a key set to undefined would override the default).
  const keepalive: { timeMs?: number; timeoutMs?: number } = {};
  if (flags['keepalive-time-ms']) keepalive.timeMs = flags['keepalive-time-ms'];
  if (flags['keepalive-timeout-ms']) keepalive.timeoutMs = flags['keepalive-timeout-ms'];
  const options: HollowOptions = {
    first: flags.first,
    count: flags.count,
    containers: flags.containers,
    heartbeatIntervalMs: flags['heartbeat-interval'],
    concurrency: flags.concurrency,
    keepalive,
    ports: flags.ports ? flags.ports.split(',').map(Number) : undefined,
    dockerHosts: flags['docker-hosts'] ? readFileSync(flags['docker-hosts'], 'utf8').split('\n').filter(Boolean).slice(0, flags.count) : undefined,
  };
  engines = await startHollowEngines(options);
  process.on('SIGUSR2', () => printStats());
  let restarting = false;
  process.on('SIGHUP', () => {
    if (restarting || stopping) return;
    restarting = true;
    const t0 = Date.now();
    void restartAll(options).then(
      () => process.stdout.write(JSON.stringify({ restarted: true, count: engines.length, ms: Date.now() - t0 }) + '\n'),
      (err: unknown) => process.stdout.write(JSON.stringify({ restarted: false, error: String(err) }) + '\n'),
    ).finally(() => (restarting = false));
  });
  process.stdout.write(
    JSON.stringify({ ready: true, first: flags.first, count: engines.length, startMs: Date.now() - started, rssBytes: memoryUsage().rss, addresses: engines.map((e) => e.address) }) + '\n',
  );
}

/** One line of in-process figures; the heap is read after a full GC when node runs with --expose-gc. */
function printStats(): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = memoryUsage();
  const byType: Record<string, number> = {};
  const resources = getActiveResourcesInfo();
  for (const r of resources) byType[r] = (byType[r] ?? 0) + 1;
  process.stdout.write(JSON.stringify({ stats: true, rss: m.rss, heapUsed: m.heapUsed, external: m.external, resources: resources.length, byType }) + '\n');
}

async function restartAll(options: HollowOptions): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < engines.length && !stopping) await restartHollowAgent(engines[next++], options);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, engines.length) }, worker));
}

main().catch((err: unknown) => {
  process.stderr.write(`hollow-agents: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  void stop(1);
});
