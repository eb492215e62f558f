// B6: sustained CreateContainer through the gRPC API: 1,000 hollow engines (the real agent code
// over an in-memory Docker back end, in this process), one cluster-manager process, 16 concurrent
// clients each on its own channel. Checks afterwards that no host port and no memory was
// double-booked on any engine.
//
//   node tools/bench/dist/create-throughput.js [--engines 1000] [--clients 16] [--seconds 10] [--runs 3]
import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient, ContainerSpec, EngineStatus } from '@flotilla/proto/cluster';
import { testTls, waitFor } from '@flotilla/testing';
import { bigMessages, commandLine, fmt, goalTable, log, machine, now, parseArgs, report, runMain, startManagerProcess, summarize, table } from './common';
import { startHollowEngines, stopHollowEngines, type HollowEngine } from './hollow';
import { allContainers, allEngines } from '@flotilla/testing';

let hollow: HollowEngine[] = [];

runMain(
  async () => {
    const args = parseArgs({ engines: 1000, clients: 16, seconds: 10, runs: 3 }, undefined, 'node tools/bench/dist/create-throughput.js [--engines N] [--clients N] [--seconds S] [--runs N]');
    log(`starting ${args.engines} hollow engines`);
    hollow = await startHollowEngines({ first: 0, count: args.engines, containers: 0, heartbeatIntervalMs: 1000 });
    // BENCH_PROFILE=DIR writes the manager's CPU profile there (node --cpu-prof).
    const profile = process.env.BENCH_PROFILE;
    const manager = await startManagerProcess([], { nofile: 20_000, nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [] });
    const m = manager.client;
    await call(manager.pusher, manager.pusher.syncEngines, { source: 'bench', generation: '1', addresses: hollow.map((h) => h.address) });
    await waitFor(async () => (await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === args.engines, { timeoutMs: 120_000, what: 'every engine healthy' });
    log('all engines healthy');

    const clients = Array.from({ length: args.clients }, () => dial(ClusterServiceClient, manager.address, { tls: testTls('operator'), channelOptions: bigMessages, keepalive: { timeMs: 60_000, timeoutMs: 60_000 } }));
    const rates: number[] = [];
    const latencies: number[] = [];
    let errors = 0;
    let firstError = '';
    let serial = 0;
    for (let run = 0; run < args.runs; run++) {
      const until = now() + args.seconds * 1000;
      let done = 0;
      const start = now();
      await Promise.all(
        clients.map(async (client) => {
          while (now() < until) {
            const n = serial++;
            const spec = ContainerSpec.fromPartial({
              name: `load-${n}`,
              image: 'busybox:local',
              command: ['sleep', '3600'],
              networkMode: 'host',
              memoryBytes: String(64 * 1024 ** 2),
              nanoCpus: '10000000',
              // 200 host ports shared by every create: a port may be taken on an engine already.
              portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 20_000 + (n % 200) }],
            });
            const t = now();
            try {
              await call(client, client.createContainer, { spec, start: false, requestId: '' });
              latencies.push(now() - t);
              done++;
            } catch (err) {
              errors++;
              firstError ||= err instanceof Error ? err.message : String(err);
            }
          }
        }),
      );
      rates.push(done / ((now() - start) / 1000));
      log(`run ${run + 1}: ${done} creates, ${fmt(rates[run], 0)}/s, errors so far ${errors}`);
    }

    // No double booking: per engine, every host port once, memory within usable.
    const containers = await allContainers(m, { all: true, pageSize: 1000 });
    const ports = new Set<string>();
    let doubleBooked = 0;
    for (const c of containers) {
      for (const p of c.container?.portBindings ?? []) {
        const key = `${c.engine?.id}:${p.hostPort}/${p.protocol}`;
        if (ports.has(key)) doubleBooked++;
        ports.add(key);
      }
    }
    const overMemory = (await allEngines(m, { pageSize: 1000 })).filter((e) => Number(e.reservedMemoryBytes) > Number(e.usableMemoryBytes)).length;
    clients.forEach((c) => c.close());

    const rate = summarize(rates);
    const latency = summarize(latencies);
    const body = [
      '```sh',
      commandLine(),
      '```',
      '',
      machine(),
      '',
      `${args.engines} hollow engines (empty at start, agent heartbeat 1 s) in the bench process, one cluster-manager process (default flags: spread, every filter), ${args.clients} clients each on its own channel, ${args.runs} runs of ${args.seconds} s back to back. Each create asks for 64 MiB, 0.01 CPU and one of 200 shared host ports, and answers once the engine's stream shows the container. ${containers.length} containers at the end.`,
      '',
      table([
        { what: 'CreateContainer throughput per run', unit: '/s', summary: rate, digits: 0 },
        { what: 'CreateContainer latency (all runs)', unit: 'ms', summary: latency },
      ]),
      '',
      `Errors: ${errors}${firstError ? ` (first: ${firstError})` : ''}. Host ports booked twice on one engine: ${doubleBooked}. Engines with memory reserved past usable: ${overMemory}.`,
      '',
      goalTable([
        { goal: 'B6: ≥ 1,500 creates/s with 16 clients at 1,000 engines', measured: `median ${fmt(rate.median, 0)}/s, lowest run ${fmt(rate.min, 0)}/s (n=${rate.n} runs)`, met: rate.min >= 1500 },
        { goal: 'B6: no error, no double booking', measured: `${errors} errors, ${doubleBooked} ports and ${overMemory} engines double-booked`, met: errors === 0 && doubleBooked === 0 && overMemory === 0 },
      ]),
    ].join('\n');
    report(`create-throughput (B6), ${args.engines} hollow engines, ${args.clients} clients`, body);
    await manager.close();
  },
  () => stopHollowEngines(hollow),
);
