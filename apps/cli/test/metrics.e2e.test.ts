import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cleanupAll,
  freePort,
  makeTempDir,
  metricsAddressOf,
  removeTempDir,
  scrapeMetrics,
  startEngines,
  startNodeService,
  waitForMetric,
  type RunningService,
} from '@flotilla/testing';
import { runCli } from './support';

// One run through every service, each serving /metrics: two engines with an agent beside each,
// discovery listing the agents in a file and pushing them to the manager, and the CLI creating
// containers through the manager. Each service's series must move as the run does.
let dir: string;
const agents: RunningService[] = [];
const agentMetrics: string[] = [];
let manager: RunningService;
let managerMetrics: string;
let discovery: RunningService;
let discoveryMetrics: string;
let source: string;

beforeAll(async () => {
  dir = makeTempDir('flotilla-metrics-e2e-');
  const engines = await startEngines({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } });
  const addresses: string[] = [];
  for (const engine of engines.engines) {
    const port = await freePort();
    const agent = await startNodeService({
      name: `agent-${engine.name}`,
      script: 'apps/engine-agent/dist/main.js',
      args: ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`, '--heartbeat-interval', '200ms', '--metrics-address', '127.0.0.1:0'],
    });
    agents.push(agent);
    agentMetrics.push(await metricsAddressOf(agent.process));
    addresses.push(`127.0.0.1:${port}`);
  }
  manager = await startNodeService({
    name: 'manager',
    script: 'apps/cluster-manager/dist/main.js',
    args: ['--listen', '127.0.0.1:0', '--metrics-address', '127.0.0.1:0', '--pending-retry-min', '200ms', '--pending-retry-max', '1s'],
  });
  managerMetrics = await metricsAddressOf(manager.process);
  const file = path.join(dir, 'engines.txt');
  fs.writeFileSync(file, `${addresses.join('\n')}\n`);
  source = `file://${file}`;
  discovery = await startNodeService({
    name: 'discovery',
    script: 'apps/discovery/dist/main.js',
    args: ['--listen', '127.0.0.1:0', '--discovery', source, '--manager', manager.address, '--metrics-address', '127.0.0.1:0'],
  });
  discoveryMetrics = await metricsAddressOf(discovery.process);
});

afterAll(async () => {
  await cleanupAll();
  if (dir) removeTempDir(dir);
});

/** The sum of a series over every sample whose name and labels start as given. */
function total(samples: Map<string, number>, prefix: string): number {
  let sum = 0;
  for (const [series, value] of samples) if (series.startsWith(prefix)) sum += value;
  return sum;
}

it('shows discovery pushing, the engines coming healthy, and a create and a refusal on every service', async () => {
  // Discovery read its file and pushed both agents; the manager validated them.
  await waitForMetric(discoveryMetrics, `flotilla_discovery_engines{source="${source}"}`, (v) => v === 2);
  await waitForMetric(discoveryMetrics, `flotilla_discovery_pushes_total{manager="${manager.address}",outcome="ok"}`, (v) => v >= 1);
  await waitForMetric(managerMetrics, 'flotilla_engines{state="healthy"}', (v) => v === 2, 60_000);
  await waitForMetric(managerMetrics, 'flotilla_engine_events_total{action="connect"}', (v) => v >= 2);
  for (const address of agentMetrics) await waitForMetric(address, 'flotilla_watch_streams', (v) => v === 1);

  const before = await scrapeMetrics(managerMetrics);
  const agentsBefore = await Promise.all(agentMetrics.map((a) => scrapeMetrics(a)));

  const created = await runCli(['--manager', manager.address, 'run', '-d', '--name', 'metrics-e2e', '--network', 'none', '--constraint', 'zone==b', 'busybox:local', 'sleep', '300']);
  expect(created).toMatchObject({ code: 0 });
  const refused = await runCli(['--manager', manager.address, 'run', '-d', '--name', 'metrics-e2e-nowhere', '--network', 'none', '--constraint', 'zone==nowhere', 'busybox:local', 'true']);
  expect(refused.code).not.toBe(0);

  // The manager: one placement made, one refused by the constraint filter, both timed; the calls
  // counted by method and status; the container's events published; the container counted.
  await waitForMetric(managerMetrics, 'flotilla_containers{state="running"}', (v) => v === (before.get('flotilla_containers{state="running"}') ?? 0) + 1);
  const after = await scrapeMetrics(managerMetrics);
  const grew = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0);
  expect(grew('flotilla_placements_total{outcome="placed"}')).toBe(1);
  expect(grew('flotilla_placements_total{outcome="refused"}')).toBe(1);
  expect(grew('flotilla_placement_refusals_by_filter_total{filter="constraint"}')).toBe(1);
  expect(grew('flotilla_placement_duration_seconds_count{outcome="placed"}')).toBe(1);
  expect(grew('flotilla_placement_duration_seconds_count{outcome="refused"}')).toBe(1);
  expect(grew('flotilla_grpc_calls_total{method="/flotilla.cluster.v1.ClusterService/CreateContainer",code="OK"}')).toBe(1);
  expect(grew('flotilla_grpc_calls_total{method="/flotilla.cluster.v1.ClusterService/CreateContainer",code="FAILED_PRECONDITION"}')).toBe(1);
  expect(grew('flotilla_cluster_events_total{type="container"}')).toBeGreaterThanOrEqual(2);
  expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);

  // The agents: the one on zone=b's engine ran the create and start, and saw Docker's events for it.
  const agentsAfter = await Promise.all(agentMetrics.map((a) => scrapeMetrics(a)));
  const agentGrew = (i: number, series: string) => (agentsAfter[i]!.get(series) ?? 0) - (agentsBefore[i]!.get(series) ?? 0);
  expect(agentGrew(1, 'flotilla_grpc_calls_total{method="/flotilla.agent.v1.EngineAgentService/CreateContainer",code="OK"}')).toBe(1);
  expect(agentGrew(1, 'flotilla_grpc_calls_total{method="/flotilla.agent.v1.EngineAgentService/StartContainer",code="OK"}')).toBe(1);
  expect(agentGrew(0, 'flotilla_grpc_calls_total{method="/flotilla.agent.v1.EngineAgentService/CreateContainer",code="OK"}')).toBe(0);
  expect(total(agentsAfter[1]!, 'flotilla_docker_events_received_total') - total(agentsBefore[1]!, 'flotilla_docker_events_received_total')).toBeGreaterThanOrEqual(2);

  // Discovery: its own API answers are counted too.
  const discoverySamples = await scrapeMetrics(discoveryMetrics);
  expect(discoverySamples.get(`flotilla_discovery_source_readable{source="${source}"}`)).toBe(1);
});

it('counts a reconnect on the manager when an agent comes back', async () => {
  const reconnects = (await scrapeMetrics(managerMetrics)).get('flotilla_engine_events_total{action="reconnect"}') ?? 0;
  const agent = agents[0]!;
  agent.process.signal('SIGSTOP');
  try {
    await waitForMetric(managerMetrics, 'flotilla_engine_events_total{action="disconnect"}', (v) => v >= 1, 60_000);
  } finally {
    agent.process.signal('SIGCONT');
  }
  await waitForMetric(managerMetrics, 'flotilla_engine_events_total{action="reconnect"}', (v) => v >= reconnects + 1, 60_000);
  await waitForMetric(managerMetrics, 'flotilla_engines{state="healthy"}', (v) => v === 2, 60_000);
});
