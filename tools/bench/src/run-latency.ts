// B1: `run` (create + start) through the cluster-manager vs straight to the same real Docker
// engine with dockerode. Both paths run the same container on the same engine, interleaved so
// that load on the machine falls on both alike.
//
// Each run is a pair (one direct run, one through the manager, back to back); the added latency is
// taken per pair (manager − direct), so its median and p99 are those of the differences, not the
// difference of two separate percentiles. Each run also has a second direct run: the difference of
// the two direct runs is the engine's own run-to-run noise, the floor any per-pair figure stands on.
//
//   node tools/bench/dist/run-latency.js [--runs 60] [--no-results]
import Docker from 'dockerode';
import { call } from '@flotilla/grpc';
import { ContainerSpec, EngineStatus } from '@flotilla/proto/cluster';
import { freePort, startEngines, startNodeService, waitFor } from '@flotilla/testing';
import { fmt, goalTable, log, now, parseArgs, report, runMain, startManagerProcess, summarize, table } from './common';
import { allEngines } from '@flotilla/testing';

runMain(async () => {
  const args = parseArgs({ runs: 60, 'no-results': false }, undefined, 'node tools/bench/dist/run-latency.js [--runs N] [--no-results]');
  const engines = await startEngines({ count: 1 });
  const engine = engines.engines[0];
  const port = await freePort();
  await startNodeService({ name: 'agent', script: 'apps/engine-agent/dist/main.js', args: ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`] });
  const manager = await startManagerProcess(['--engine', `127.0.0.1:${port}`]);
  const m = manager.client;
  await waitFor(async () => (await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === 1, { what: 'the engine to be healthy' });
  const docker = new Docker({ socketPath: engine.socket });

  // Indexed by run: direct[i] and managed[i] are the two halves of pair i; again[i] is run i's
  // second direct run.
  const direct: number[] = [];
  const managed: number[] = [];
  const again: number[] = [];
  const runDirect = async (name: string): Promise<number> => {
    const t = now();
    const c = await docker.createContainer({ name, Image: 'busybox:local', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    return now() - t;
  };
  const runManaged = async (name: string): Promise<number> => {
    const t = now();
    await call(m, m.createContainer, { spec: ContainerSpec.fromPartial({ name, image: 'busybox:local', command: ['sleep', '300'], networkMode: 'none' }), start: true, requestId: '' });
    return now() - t;
  };
  // One warm-up run each, not counted.
  await runDirect('warm-d1');
  await runManaged('warm-m1');
  for (let i = 0; i < args.runs; i++) {
    // Rotate which of the three goes first, so none always runs on a freshly removed engine.
    const order = [
      async () => (direct[i] = await runDirect(`direct-${i}`)),
      async () => (managed[i] = await runManaged(`managed-${i}`)),
      async () => (again[i] = await runDirect(`again-${i}`)),
    ];
    for (let k = 0; k < 3; k++) await order[(i + k) % 3]();
    // Keep the engine's container count steady: remove all three (not timed).
    for (const name of [`direct-${i}`, `managed-${i}`, `again-${i}`]) await docker.getContainer(name).remove({ force: true });
    if (i % 10 === 9) log(`${i + 1}/${args.runs} runs`);
  }
  const d = summarize(direct);
  const mm = summarize(managed);
  const ratio = mm.median / d.median;
  // The added latency of each pair: manager − direct, measured back to back.
  const added = summarize(managed.map((ms, i) => ms - direct[i]));
  // The same difference between the two direct runs: what the engine alone varies by.
  const noise = summarize(again.map((ms, i) => ms - direct[i]));
  const body = [
    `One real Docker engine, its engine-agent and a cluster-manager (separate processes, default flags). ${args.runs} interleaved runs of create + start of a \`sleep 300\` busybox container (network none): straight to the engine with dockerode, and through the manager's CreateContainer with start (placement, reservation, agent create, start, and waiting until the engine's stream shows the container running). The added latency is taken per pair (the manager's run minus the direct run next to it); its p99 is nearest-rank, so below 100 pairs it is the largest difference. Each run has a second direct run too (the three in a rotating order): the difference of the two direct runs is the engine's own noise, measured the same way.`,
    '',
    table([
      { what: 'run straight to the engine (dockerode)', unit: 'ms', summary: d },
      { what: 'run through the manager (CreateContainer, start)', unit: 'ms', summary: mm },
      { what: 'added by the manager, per pair (manager − direct)', unit: 'ms', summary: added },
      { what: 'the engine alone, per pair (second direct − direct)', unit: 'ms', summary: noise },
    ]),
    '',
    goalTable([
      { goal: 'B1: p50 ratio manager / direct ≤ 1.05', measured: `${fmt(mm.median)} / ${fmt(d.median)} ms = ${ratio.toFixed(3)}`, met: ratio <= 1.05 },
      { goal: 'B1: added p99 ≤ 25 ms', measured: `per pair (manager − direct): median ${fmt(added.median)} ms, p99 ${fmt(added.p99)} ms (n=${added.n} pairs); the engine alone (direct − direct): median ${fmt(noise.median)} ms, p99 ${fmt(noise.p99)} ms`, met: added.p99 <= 25 },
    ]),
  ].join('\n');
  report(`run-latency (B1), 1 real engine, ${args.runs} runs`, body, !args['no-results']);
});
