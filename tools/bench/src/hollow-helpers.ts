// Hollow engines hosted in helper processes (hollow-agents.js), so their CPU and garbage stay out
// of the bench's own process (its clients and clocks) and out of the manager's. The Docker API
// way, each helper's agents use their real dockerode back end against hollow Docker engines
// (libs/hollow-docker's main.js) served by a process of their own beside it.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, testTls, type ServiceProcess } from '@flotilla/testing';
import { log, MiB, now, openFileLimit, spawnNode } from './common';

export interface HelperFleetOptions {
  engines: number;
  /** Agents per helper process; 0 picks the default of the way (see `defaultAgentsPerProcess`). */
  perProcess: number;
  containers: number;
  heartbeatIntervalMs: number;
  /** Non-default server keepalive timeout for the agents (0: the agent's default). */
  agentKeepaliveTimeoutMs?: number;
  /** The agents' real dockerode back end against hollow Docker engines over unix sockets. */
  dockerApi?: boolean;
}

export interface HelperFleet {
  addresses: string[];
  /** The processes that host the agents. */
  helpers: ServiceProcess[];
  /** The Docker API way: the processes that serve the hollow Docker engines. */
  dockerEngines: ServiceProcess[];
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * In memory, 1,000 agents share a helper well. The Docker API way, each agent also parses HTTP
 * and JSON for its snapshot: 1,000 in one process kept its event loop busy for seconds at start,
 * long enough for the manager to miss their heartbeats (49 and 132 false "no heartbeat" at 1,000
 * engines); 250 a process gave none.
 */
export function defaultAgentsPerProcess(dockerApi: boolean | undefined): number {
  return dockerApi ? 250 : 1000;
}

export async function startHelperFleet(options: HelperFleetOptions): Promise<HelperFleet> {
  const o = { ...options, perProcess: options.perProcess || defaultAgentsPerProcess(options.dockerApi) };
  const k = Math.ceil(o.engines / o.perProcess);
  // Each agent holds a listening socket and one accepted connection from the manager.
  const nofile = 2 * o.perProcess + 256;
  const limit = openFileLimit();
  log(`starting ${o.engines} hollow engines in ${k} helper process(es) (open-file limit here ${limit.soft}/${limit.hard}; each helper needs ~${nofile})`);
  const started = now();
  const script = path.join(repoRoot(), 'tools/bench/dist/hollow-agents.js');
  // Issued here, before the helpers start: they inherit the CA and find the agent certificate.
  testTls('agent');
  const counts = Array.from({ length: k }, (_, i) => Math.min(o.perProcess, o.engines - i * o.perProcess));
  const dockerEngines: ServiceProcess[] = [];
  const hostFiles: string[] = [];
  const dir = o.dockerApi ? mkdtempSync(path.join(os.tmpdir(), 'flotilla-hollow-docker-')) : '';
  if (o.dockerApi) {
    // Each engine: its listening socket and the agent's connections (the event stream, calls).
    const engineFiles = 6 * o.perProcess + 256;
    for (const [i, count] of counts.entries()) {
      const where = path.join(dir, String(i));
      const p = spawnNode(`hollow-docker-${i}`, 'libs/hollow-docker/dist/main.js', ['--count', String(count), '--dir', where, '--containers', String(o.containers)], { nofile: engineFiles, nodeArgs: ['--max-old-space-size=8192'] });
      dockerEngines.push(p);
      const ready = JSON.parse(await p.waitForLine(/"ready":true/, 600_000)) as { hostsFile: string; startMs: number; rssMiB: number };
      log(`${p.name} (PID ${p.pid}): ${count} hollow Docker engines in ${ready.startMs} ms, RSS ${ready.rssMiB} MiB`);
      hostFiles.push(ready.hostsFile);
    }
  }
  const helpers = counts.map((count, i) => {
    const args = ['--first', String(i * o.perProcess), '--count', String(count), '--containers', String(o.containers), '--heartbeat-interval', String(o.heartbeatIntervalMs), '--keepalive-timeout-ms', String(o.agentKeepaliveTimeoutMs ?? 0)];
    if (o.dockerApi) args.push('--docker-hosts', hostFiles[i]);
    return spawnNode(`hollow-agents-${i}`, script, args, { nofile: o.dockerApi ? nofile + 4 * o.perProcess : nofile, nodeArgs: ['--max-old-space-size=8192'] });
  });
  const addresses: string[] = [];
  for (const p of helpers) {
    const line = await p.waitForLine(/"ready":true/, 600_000);
    const ready = JSON.parse(line) as { count: number; startMs: number; rssBytes: number; addresses: string[] };
    log(`${p.name} (PID ${p.pid}): ${ready.count} agents in ${ready.startMs} ms, RSS ${(ready.rssBytes / MiB).toFixed(0)} MiB`);
    addresses.push(...ready.addresses);
  }
  log(`all ${addresses.length} hollow engines listen after ${((now() - started) / 1000).toFixed(1)} s`);
  const stop = async (timeoutMs = 10_000) => {
    await Promise.all(helpers.map((h) => h.stop(timeoutMs)));
    await Promise.all(dockerEngines.map((h) => h.stop(timeoutMs)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  return { addresses, helpers, dockerEngines, stop };
}
