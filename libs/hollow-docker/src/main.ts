#!/usr/bin/env node
// A fleet of hollow Docker engines in one process, for benches: point real engine-agents (or any
// Docker client) at the sockets it lists. `--help` for flags.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startHollowDockerFleet } from './fleet';

const usage = `Usage: node libs/hollow-docker/dist/main.js --count N --dir DIR [flags]

  --count N            hollow engines to start (default 100)
  --dir DIR            where the sockets go (required); DIR/docker-hosts.txt lists every engine
  --listen unix|tcp    unix sockets in DIR (default) or 127.0.0.1 ports
  --containers K       containers per engine at start (default 0); two in three running,
                       0.1 CPU and 64 MiB each, label flotilla.hollow=1
  --zones a,b,c        engine label zone=, round-robin (default a,b,c)
  --cpus N             NCPU (default 8)
  --memory-gib N       MemTotal in GiB (default 32)
  --api-version V      highest API version served (default 1.43)
  --latency-ms N       delay before every answer (default 0)
  --failure-rate P     chance (0-1) that any request but /_ping fails with 500 (default 0)

Prints one JSON line {"ready":true,...} when every engine listens; stops on SIGINT/SIGTERM.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '100' },
      dir: { type: 'string' },
      listen: { type: 'string', default: 'unix' },
      containers: { type: 'string', default: '0' },
      zones: { type: 'string', default: 'a,b,c' },
      cpus: { type: 'string', default: '8' },
      'memory-gib': { type: 'string', default: '32' },
      'api-version': { type: 'string', default: '1.43' },
      'latency-ms': { type: 'string', default: '0' },
      'failure-rate': { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.dir) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  const count = Number(values.count);
  const perEngine = Number(values.containers);
  const zones = values.zones!.split(',').filter(Boolean);
  const failureRate = Number(values['failure-rate']);
  const dir = path.resolve(values.dir);
  const started = performance.now();
  const fleet = await startHollowDockerFleet(count, dir, {
    listen: values.listen === 'tcp' ? 'tcp' : 'unix',
    engine: (i) => ({
      labels: (zones.length ? { zone: zones[i % zones.length] } : {}) as Record<string, string>,
      cpus: Number(values.cpus),
      memoryBytes: Number(values['memory-gib']) * 1024 ** 3,
      apiVersion: values['api-version'],
      latencyMs: Number(values['latency-ms']),
      failures: failureRate > 0 ? [{ match: /^(?!GET \/_ping$)/, probability: failureRate, status: 500 }] : [],
    }),
  });
  for (const server of fleet.servers) {
    for (let c = 0; c < perEngine; c++) {
      const { Id } = server.engine.create(`c${String(c).padStart(3, '0')}`, { Image: 'busybox:local', Cmd: ['sleep', '86400'], Labels: { 'flotilla.hollow': '1' }, HostConfig: { NanoCpus: 100_000_000, Memory: 64 * 1024 * 1024 } }, server.engine.apiVersion);
      if (c % 3 !== 2) server.engine.start(Id);
    }
  }
  writeFileSync(path.join(dir, 'docker-hosts.txt'), fleet.dockerHosts.join('\n') + '\n');
  console.log(JSON.stringify({ ready: true, count, dir, hostsFile: path.join(dir, 'docker-hosts.txt'), first: fleet.dockerHosts[0], pid: process.pid, startMs: Math.round(performance.now() - started), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) }));
  const stop = () => {
    fleet.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
