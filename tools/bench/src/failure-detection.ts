#!/usr/bin/env node
// B4, failure detection on real engines: 3 real Docker engines (libs/testing startEngines), an
// engine-agent process beside each, one cluster-manager process. Repeated runs of three faults,
// each timed from just before the fault to the receipt of the manager's 'disconnect' event for
// that engine on a WatchEvents stream (types ['engine']) held by this process:
//   kill9   — the agent is killed with SIGKILL (then restarted on its port; wait healthy)
//   sigstop — the agent is frozen with SIGSTOP (then SIGCONT; wait healthy)
//   docker  — the Docker engine under a live agent is killed (libs/testing killOne; then startOne; wait healthy)
import { call } from '@flotilla/grpc';
import { EngineStatus, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { freePort, startEngines, tlsArgs, waitFor, type ServiceProcess, type TestEngines } from '@flotilla/testing';
import { fmt, goalTable, log, now, parseArgs, report, runMain, spawnNode, startManagerProcess, summarize, table, type GoalCheck, type ManagerProcess, type Row } from './common';

const flags = parseArgs(
  { runs: 20, scenarios: 'kill9,sigstop,docker', 'manager-args': '', 'agent-args': '', 'no-results': false },
  process.argv.slice(2),
  'Usage: node tools/bench/dist/failure-detection.js [--runs 20] [--scenarios kill9,sigstop,docker]',
);

interface Received {
  at: number;
  action: string;
  address: string;
  error: string;
}

/** Every engine event the manager sends, with its receive time. */
class EngineEvents {
  readonly items: Received[] = [];
  private waiters = new Set<() => void>();
  failure: Error | undefined;

  constructor(stream: NodeJS.EventEmitter) {
    stream.on('data', (r: WatchEventsResponse) => {
      const at = now();
      const e = r.event;
      if (!e) return;
      this.items.push({ at, action: e.action, address: e.engine?.address ?? '', error: e.error });
      for (const w of [...this.waiters]) w();
    });
    stream.on('error', (err: Error) => {
      this.failure = err;
      for (const w of [...this.waiters]) w();
    });
  }

  /** The first event after index `from` that matches; rejects after `timeoutMs`. */
  next(match: (e: Received) => boolean, from: number, timeoutMs: number, what: string): Promise<Received> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failure) return done(undefined, this.failure);
        const found = this.items.slice(from).find(match);
        if (found) done(found);
      };
      const timer = setTimeout(() => done(undefined, new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const done = (e?: Received, err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (e) resolve(e);
        else reject(err);
      };
      this.waiters.add(check);
      check();
    });
  }
}

interface Agent {
  port: number;
  address: string;
  process: ServiceProcess;
}

let engines: TestEngines | undefined;
let manager: ManagerProcess | undefined;
const agents: Agent[] = [];

async function startAgent(i: number, port: number): Promise<Agent> {
  const engine = engines!.engines[i];
  const extra = flags['agent-args'] ? flags['agent-args'].split(' ').filter(Boolean) : [];
  // Only --docker-host and --listen differ from the agent's defaults (heartbeat 1 s).
  const proc = spawnNode(`agent-${engine.name}`, 'apps/engine-agent/dist/main.js', ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`, ...tlsArgs('agent'), ...extra]);
  await proc.waitForLine(/"msg":"listening"/, 30_000);
  return { port, address: `127.0.0.1:${port}`, process: proc };
}

async function engineStatus(address: string): Promise<EngineStatus | undefined> {
  const m = manager!.client;
  const { engine } = await call(m, m.getEngine, { engine: address });
  return engine?.status;
}

async function waitHealthy(address: string, what: string): Promise<void> {
  await waitFor(async () => (await engineStatus(address)) === EngineStatus.ENGINE_STATUS_HEALTHY, { timeoutMs: 120_000, intervalMs: 50, what: `${address} healthy (${what})` });
}

interface Sample {
  scenario: string;
  engine: number;
  detectMs: number;
  recoverMs: number;
  error: string;
}

async function main(): Promise<void> {
  const scenarios = flags.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of scenarios) if (!['kill9', 'sigstop', 'docker'].includes(s)) throw new Error(`unknown scenario ${s}`);
  log('starting 3 real Docker engines');
  engines = await startEngines({ count: 3 });
  for (let i = 0; i < 3; i++) agents.push(await startAgent(i, await freePort()));
  const extra = flags['manager-args'] ? flags['manager-args'].split(' ').filter(Boolean) : [];
  // Only --listen (a free port) and --engine differ from the manager's defaults
  // (heartbeat tolerance 3, reconnect back-off 200 ms to 10 s).
  manager = await startManagerProcess(['--engine', agents.map((a) => a.address).join(','), ...extra]);
  for (const a of agents) await waitHealthy(a.address, 'at start');
  log(`3 engines healthy behind manager ${manager.address}`);
  const m = manager.client;
  const stream = m.watchEvents({ types: ['engine'], engines: [], containers: [] });
  const events = new EngineEvents(stream);
  await call(m, m.getInfo, {}); // the subscription exists once this answers (same channel, in order)

  const samples: Sample[] = [];
  for (const scenario of scenarios) {
    for (let run = 0; run < flags.runs; run++) {
      const i = run % 3;
      const agent = agents[i];
      const name = engines.engines[i].name;
      const mark = events.items.length;
      const isDown = (e: Received) => e.action === 'disconnect' && e.address === agent.address;
      let t0: number;
      let recoverStart: number;
      if (scenario === 'kill9') {
        t0 = now();
        agent.process.signal('SIGKILL');
        const down = await events.next(isDown, mark, 30_000, `disconnect of ${agent.address} after kill -9`);
        await agent.process.exited;
        recoverStart = now();
        agents[i] = await startAgent(i, agent.port);
        await waitHealthy(agent.address, 'agent restarted');
        samples.push({ scenario, engine: i, detectMs: down.at - t0, recoverMs: now() - recoverStart, error: down.error });
      } else if (scenario === 'sigstop') {
        t0 = now();
        agent.process.signal('SIGSTOP');
        let down: Received;
        try {
          down = await events.next(isDown, mark, 30_000, `disconnect of ${agent.address} after SIGSTOP`);
        } finally {
          agent.process.signal('SIGCONT');
        }
        recoverStart = now();
        await waitHealthy(agent.address, 'agent thawed');
        samples.push({ scenario, engine: i, detectMs: down.at - t0, recoverMs: now() - recoverStart, error: down.error });
      } else {
        t0 = now();
        await engines.killOne(name);
        const killed = now() - t0;
        const down = await events.next(isDown, mark, 30_000, `disconnect of ${agent.address} after its Docker engine was killed`);
        recoverStart = now();
        await engines.startOne(name);
        await waitHealthy(agent.address, 'Docker engine restarted');
        samples.push({ scenario, engine: i, detectMs: down.at - t0, recoverMs: now() - recoverStart, error: `${down.error} (killOne returned after ${killed.toFixed(0)} ms)` });
      }
      const last = samples[samples.length - 1];
      log(`${scenario} #${run + 1} (${name}): unhealthy after ${last.detectMs.toFixed(1)} ms; healthy again ${(last.recoverMs / 1000).toFixed(2)} s later — ${last.error}`);
    }
  }
  stream.cancel();

  const label: Record<string, string> = {
    kill9: 'agent killed (-9) → disconnect event',
    sigstop: 'agent frozen (SIGSTOP) → disconnect event',
    docker: 'Docker engine killed (killOne) → disconnect event',
  };
  const goalMs: Record<string, number> = { kill9: 1000, sigstop: 5000, docker: 1000 };
  const rows: Row[] = [];
  const goals: GoalCheck[] = [];
  for (const s of scenarios) {
    const d = summarize(samples.filter((x) => x.scenario === s).map((x) => x.detectMs));
    rows.push({ what: label[s], unit: 'ms', summary: d });
    rows.push({ what: `  (recovery after ${s}: restart → healthy)`, unit: 'ms', summary: summarize(samples.filter((x) => x.scenario === s).map((x) => x.recoverMs)), digits: 0 });
    goals.push({ goal: `B4: ${label[s].split(' →')[0]}: unhealthy ≤ ${goalMs[s] / 1000} s p99`, measured: `median ${fmt(d.median)} ms, p99 ${fmt(d.p99)} ms (n=${d.n})`, met: d.p99 <= goalMs[s] });
  }
  const reasons = scenarios.map((s) => `- ${s}: ${[...new Set(samples.filter((x) => x.scenario === s).map((x) => x.error.replace(/\d+ ms/g, 'N ms').replace(/127\.0\.0\.1:\d+/g, 'ADDR').replace(/engine-\d/g, 'engine-N').replace(/\/tmp\/[^ ]+/g, 'PATH')))].slice(0, 3).join(' | ')}`).join('\n');
  const body = [
    `3 real Docker engines (${engines.engines.map((e) => e.name).join(', ')}), an engine-agent process beside each (defaults but \`--docker-host\`, \`--listen\`${flags['agent-args'] ? `, \`${flags['agent-args']}\`` : ''}: heartbeat 1 s), one cluster-manager process (defaults but \`--listen\`, \`--engine\`${flags['manager-args'] ? `, \`${flags['manager-args']}\`` : ''}: heartbeat tolerance 3). ${flags.runs} runs per fault, rotating over the 3 engines; each timed from just before the fault (before \`process.kill\`, or before calling \`killOne\`, whose bash script is included) to the receipt of the 'disconnect' engine event on a WatchEvents stream in the bench process. Percentiles are nearest-rank: with n < 100, p99 is the maximum.`,
    '',
    table(rows),
    '',
    'Reasons the manager gave (first distinct ones):',
    reasons,
    '',
    goalTable(goals),
  ].join('\n');
  report('failure-detection (B4), 3 real engines', body, !flags['no-results']);
}

runMain(main, async () => {
  await manager?.close().catch(() => undefined);
  await Promise.all(agents.map((a) => a.process.stop(5000)));
  await engines?.stop();
});
