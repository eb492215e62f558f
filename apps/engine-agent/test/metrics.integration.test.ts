import { cleanupAll, metricsAddressOf, scrapeMetrics, startEngines, waitForMetric, type TestEngines } from '@flotilla/testing';
import { startAgentProcess, WatchRecorder, type AgentProcess } from './support';

// The built engine-agent beside a real engine, serving Prometheus metrics on a loopback port.
let engines: TestEngines;
let agent: AgentProcess;
let metrics: string;
const watch = '/flotilla.agent.v1.EngineAgentService/Watch';

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgentProcess(engines.engines[0], '127.0.0.1:0', ['--metrics-address', '127.0.0.1:0', '--reconcile-interval', '1s']);
  metrics = await metricsAddressOf(agent.process);
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
});

it('serves the process series and the agent, with no watcher yet', async () => {
  const samples = await scrapeMetrics(metrics);
  expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(samples.get('flotilla_watch_streams')).toBe(0);
  expect(samples.get('flotilla_reconcile_corrections_total')).toBe(0);
  await waitForMetric(metrics, 'flotilla_docker_engine_reachable', (v) => v === 1);
  await waitForMetric(metrics, 'flotilla_docker_event_subscriptions_total', (v) => v >= 1);
  // Reconciles run every second and find nothing to correct.
  await waitForMetric(metrics, 'flotilla_reconciles_total{outcome="completed"}', (v) => v >= 1);
  expect((await scrapeMetrics(metrics)).get('flotilla_reconcile_corrections_total')).toBe(0);
});

it('shows an open Watch stream, counts the Docker events it reads, and the call once it ends', async () => {
  const stream = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  await stream.next('snapshot');
  await waitForMetric(metrics, 'flotilla_watch_streams', (v) => v === 1);
  await waitForMetric(metrics, `flotilla_grpc_active_calls{method="${watch}"}`, (v) => v === 1);
  const before = (await scrapeMetrics(metrics)).get('flotilla_docker_events_received_total') ?? 0;
  const id = await engines.docker('engine-1', ['run', '-d', '--network', 'none', 'busybox:local', 'sleep', '300']);
  // create, start (and more: attach, network connect) from Docker's event stream.
  await waitForMetric(metrics, 'flotilla_docker_events_received_total', (v) => v >= before + 2);
  await engines.docker('engine-1', ['rm', '-f', id]);
  stream.cancel();
  await waitForMetric(metrics, 'flotilla_watch_streams', (v) => v === 0);
  await waitForMetric(metrics, `flotilla_grpc_calls_total{method="${watch}",code="CANCELLED"}`, (v) => v === 1);
  expect((await scrapeMetrics(metrics)).get(`flotilla_grpc_active_calls{method="${watch}"}`)).toBe(0);
});
