#!/usr/bin/env node
// A helper process for hollow-cluster.ts: hosts `--count` hollow engines (the real agent code over
// HollowDockerBackend), each on its own 127.0.0.1 port. Prints one JSON line
// {"ready":true,...,"addresses":[...]} on stdout when all of them listen, then serves until
// SIGTERM/SIGINT or until its stdin closes (the bench that started it is gone).
import { memoryUsage } from 'node:process';
import { parseArgs } from './common';
import { startHollowEngines, stopHollowEngines, type HollowEngine } from './hollow';

const flags = parseArgs(
  { first: 0, count: 1000, containers: 30, 'heartbeat-interval': 1000, concurrency: 32, 'keepalive-time-ms': 0, 'keepalive-timeout-ms': 0 },
  process.argv.slice(2),
  'Usage: node tools/bench/dist/hollow-agents.js --first I --count N [--containers 30] [--heartbeat-interval 1000]',
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
  engines = await startHollowEngines({
    first: flags.first,
    count: flags.count,
    containers: flags.containers,
    heartbeatIntervalMs: flags['heartbeat-interval'],
    concurrency: flags.concurrency,
    keepalive,
  });
  process.stdout.write(
    JSON.stringify({ ready: true, first: flags.first, count: engines.length, startMs: Date.now() - started, rssBytes: memoryUsage().rss, addresses: engines.map((e) => e.address) }) + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`hollow-agents: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  void stop(1);
});
