// B6: sustained CreateContainer through the gRPC API: N hollow engines (the real agent code over an
// in-memory Docker back end, in helper processes), one cluster-manager process, 16 concurrent
// clients each on its own channel in this process. Checks afterwards that no host port and no
// memory was double-booked on any engine.
//
//   node tools/bench/dist/create-throughput.js [--engines 1000] [--clients 16] [--seconds 10] [--runs 3] [--docker-api]
// --docker-api: the agents use their real dockerode back end against hollow Docker engines
// (libs/hollow-docker) served by processes of their own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@grpc/grpc-js';
import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient, ContainerSpec, EngineStatus } from '@flotilla/proto/cluster';
import { allContainers, allEngines, repoRoot, testTls, waitFor } from '@flotilla/testing';
import { bigMessages, commandLine, cpuMsOf, fmt, goalTable, log, machine, managerEnvFrom, managerEnvNote, now, parseArgs, report, runMain, startManagerProcess, summarize, table, type GoalCheck } from './common';
import { startHelperFleet, type HelperFleet } from './hollow-helpers';

const usage = 'node tools/bench/dist/create-throughput.js [--engines N] [--clients N] [--seconds S] [--runs N] [--start] [--docker-api] [--manager-args "..."] [--manager-env "NAME=value ..."] [--cpu-prof] [--no-results]';
const flags = parseArgs(
  { engines: 1000, 'per-process': 0, clients: 16, seconds: 10, runs: 3, start: false, 'docker-api': false, 'manager-args': '', 'manager-env': '', 'cpu-prof': false, 'no-results': false },
  process.argv.slice(2),
  usage,
);

let fleet: HelperFleet | undefined;

runMain(
  async () => {
    fleet = await startHelperFleet({ engines: flags.engines, perProcess: flags['per-process'], containers: 0, heartbeatIntervalMs: 1000, dockerApi: flags['docker-api'] });
    const hollowProcesses = [...fleet.helpers, ...fleet.dockerEngines];
    const extra = flags['manager-args'] ? flags['manager-args'].split(' ').filter(Boolean) : [];
    const profDir = path.join(repoRoot(), 'tools/bench/profiles');
    if (flags['cpu-prof']) fs.mkdirSync(profDir, { recursive: true });
    const manager = await startManagerProcess(extra, { nofile: flags.engines + 512, env: managerEnvFrom(flags['manager-env']), nodeArgs: flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] });
    const m = manager.client;
    await call(manager.pusher, manager.pusher.syncEngines, { source: 'bench', generation: '1', addresses: fleet.addresses });
    await waitFor(async () => (await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === flags.engines, { timeoutMs: 300_000, intervalMs: 1000, what: 'every engine healthy' });
    log('all engines healthy');

    const clients = Array.from({ length: flags.clients }, () => dial(ClusterServiceClient, manager.address, { tls: testTls('operator'), channelOptions: bigMessages, keepalive: { timeMs: 60_000, timeoutMs: 60_000 } }));
    const rates: number[] = [];
    const managerCpu: number[] = [];
    const managerMsPerCreate: number[] = [];
    const agentsMsPerCreate: number[] = [];
    const clientsMsPerCreate: number[] = [];
    const latencies: number[] = [];
    let errors = 0;
    let firstError = '';
    let serial = 0;
    for (let run = 0; run < flags.runs; run++) {
      const until = now() + flags.seconds * 1000;
      let done = 0;
      const start = now();
      const cpuBefore = cpuMsOf(manager.pid);
      const agentsBefore = hollowProcesses.reduce((sum, h) => sum + cpuMsOf(h.pid), 0);
      const clientsBefore = process.cpuUsage();
      await Promise.all(
        clients.map(async (client) => {
          while (now() < until) {
            const n = serial++;
            const spec = ContainerSpec.fromPartial({
              name: `load-${n}`,
              image: 'busybox:local',
              command: ['sleep', '3600'],
              memoryBytes: String(64 * 1024 ** 2),
              nanoCpus: '10000000',
              // 200 host ports shared by every create: a port may be taken on an engine already.
              portBindings: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 20_000 + (n % 200) }],
            });
            const t = now();
            try {
              await call(client, client.createContainer, { spec, start: flags.start, requestId: '' });
              latencies.push(now() - t);
              done++;
            } catch (err) {
              errors++;
              firstError ||= err instanceof Error ? err.message : String(err);
            }
          }
        }),
      );
      const seconds = (now() - start) / 1000;
      rates.push(done / seconds);
      const managerMs = cpuMsOf(manager.pid) - cpuBefore;
      const clientsUsed = process.cpuUsage(clientsBefore);
      managerCpu.push(managerMs / 10 / seconds);
      managerMsPerCreate.push(managerMs / done);
      agentsMsPerCreate.push((hollowProcesses.reduce((sum, h) => sum + cpuMsOf(h.pid), 0) - agentsBefore) / done);
      clientsMsPerCreate.push((clientsUsed.user + clientsUsed.system) / 1000 / done);
      log(`run ${run + 1}: ${done} creates, ${fmt(rates[run], 0)}/s, manager CPU ${fmt(managerCpu[run], 0)} % of a core (${fmt(managerMsPerCreate[run], 2)} ms a create; agents ${fmt(agentsMsPerCreate[run], 2)} ms, clients ${fmt(clientsMsPerCreate[run], 2)} ms), errors so far ${errors}`);
    }

    // The floor: the same clients, the same manager, a call that does nothing (the standard health
    // check): what grpc-js and TLS cost the manager per call, next to what a create costs it.
    const floorUntil = now() + flags.seconds * 1000;
    const floorStart = now();
    const floorCpuBefore = cpuMsOf(manager.pid);
    let floorCalls = 0;
    const health = clients.map(() => dial(Client, manager.address, { tls: testTls('operator'), keepalive: { timeMs: 60_000, timeoutMs: 60_000 } }));
    await Promise.all(
      health.map(async (client) => {
        while (now() < floorUntil) {
          await new Promise<void>((resolve, reject) =>
            client.makeUnaryRequest('/grpc.health.v1.Health/Check', () => Buffer.alloc(0), (b: Buffer) => b, {}, (err) => (err ? reject(err) : resolve())),
          );
          floorCalls++;
        }
      }),
    );
    const floorSeconds = (now() - floorStart) / 1000;
    const floorMsPerCall = (cpuMsOf(manager.pid) - floorCpuBefore) / floorCalls;
    health.forEach((c) => c.close());
    log(`floor: ${floorCalls} health checks, ${fmt(floorCalls / floorSeconds, 0)}/s, manager ${fmt(floorMsPerCall, 2)} ms CPU a call`);

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
    const goalRate = flags.engines >= 10_000 ? 1000 : 1500;
    const goals: GoalCheck[] = [
      { goal: `B6: ≥ ${goalRate.toLocaleString('en')} creates/s with ${flags.clients} clients at ${flags.engines.toLocaleString('en')} engines`, measured: `median ${fmt(rate.median, 0)}/s, lowest run ${fmt(rate.min, 0)}/s (n=${rate.n} runs)`, met: rate.min >= goalRate },
      { goal: 'B6: create p99 ≤ 50 ms', measured: `median ${fmt(latency.median)} ms, p99 ${fmt(latency.p99)} ms (n=${latency.n})`, met: latency.p99 <= 50 },
      { goal: 'B6: no error, no double booking', measured: `${errors} errors, ${doubleBooked} ports and ${overMemory} engines double-booked`, met: errors === 0 && doubleBooked === 0 && overMemory === 0 },
    ];
    const body = [
      '```sh',
      commandLine(),
      '```',
      '',
      machine(),
      '',
      `${flags.engines} hollow engines (empty at start, agent heartbeat 1 s) in ${fleet.helpers.length} helper process(es)${flags['docker-api'] ? `, **the Docker API way**: each agent's real dockerode back end talks over a unix socket to a hollow Docker engine (libs/hollow-docker) served by ${fleet.dockerEngines.length} process(es) of their own` : ' (the agents over the in-memory HollowDockerBackend)'}, one cluster-manager process (default flags${extra.length ? ` plus \`${extra.join(' ')}\`` : ''}: spread, every filter${managerEnvNote(flags['manager-env'])}), ${flags.clients} clients each on its own channel in the bench process, ${flags.runs} runs of ${flags.seconds} s back to back. Each create asks for 64 MiB, 0.01 CPU and one of 200 shared host ports${flags.start ? ' and starts the container' : ''}, and is answered once the cluster shows the container. ${containers.length} containers at the end.`,
      '',
      table([
        { what: 'CreateContainer throughput per run', unit: '/s', summary: rate, digits: 0 },
        { what: 'CreateContainer latency (all runs)', unit: 'ms', summary: latency },
        { what: 'manager CPU during a run', unit: '% core', summary: summarize(managerCpu), digits: 0 },
        { what: 'CPU per create: manager', unit: 'ms', summary: summarize(managerMsPerCreate), digits: 2 },
        { what: flags['docker-api'] ? 'CPU per create: agents and hollow Docker engines (helper processes)' : 'CPU per create: hollow agents (helper processes)', unit: 'ms', summary: summarize(agentsMsPerCreate), digits: 2 },
        { what: 'CPU per create: the clients (bench process)', unit: 'ms', summary: summarize(clientsMsPerCreate), digits: 2 },
      ]),
      '',
      `The floor, with the same ${flags.clients} clients for ${flags.seconds} s on the same manager: the standard health check (a unary call that does nothing), ${fmt(floorCalls / floorSeconds, 0)} calls/s, **${fmt(floorMsPerCall, 2)} ms of manager CPU a call** (grpc-js, HTTP/2 and TLS, and the call log; the health service has no access check, which reads the client certificate). A create costs the manager one such call from its client, one call of its own to the agent, and the container's delta on the agent's stream.`,
      '',
      `Errors: ${errors}${firstError ? ` (first: ${firstError})` : ''}. Host ports booked twice on one engine: ${doubleBooked}. Engines with memory reserved past usable: ${overMemory}.`,
      '',
      goalTable(goals),
    ].join('\n');
    report(`create-throughput (B6), ${flags.engines} hollow engines, ${flags.clients} clients`, body, !flags['no-results']);
    await manager.close();
  },
  async () => void (await fleet?.stop()),
);
