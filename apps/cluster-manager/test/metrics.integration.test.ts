import { call } from '@flotilla/grpc';
import { EngineStatus } from '@flotilla/proto/cluster';
import { cleanupAll, freePort, metricsAddressOf, scrapeMetrics, startEngines, startNodeService, waitForMetric, type RunningService, type TestEngines } from '@flotilla/testing';
import { engineIn, EventRecorder, startAgentProcess, startManagerProcess, type ManagerProcess } from './support';

// A real engine and agent, and the built manager serving Prometheus metrics on a loopback port.
let engines: TestEngines;
let agent: RunningService;
let agentAddress: string;
let manager: ManagerProcess;
let metrics: string;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  const port = await freePort();
  agent = await startAgentProcess(engines.engines[0], port);
  agentAddress = `127.0.0.1:${port}`;
  manager = await startManagerProcess(['--metrics-address', '127.0.0.1:0']);
  metrics = await metricsAddressOf(manager.process);
});

afterAll(async () => {
  await manager?.close();
  await agent?.process.stop();
  await cleanupAll();
});

const m = () => manager.client;

it('serves the process series and the cluster, empty at first, on a loopback port', async () => {
  expect(metrics).toMatch(/^127\.0\.0\.1:\d+$/);
  const samples = await scrapeMetrics(metrics);
  expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(samples.has('nodejs_eventloop_lag_seconds')).toBe(true);
  for (const state of ['healthy', 'flapping', 'unhealthy', 'pending', 'disconnected']) expect(samples.get(`flotilla_engines{state="${state}"}`)).toBe(0);
  expect(samples.get('flotilla_queued_dials')).toBe(0);
  expect(samples.get('flotilla_watch_events_subscribers')).toBe(0);
  expect((await fetch(`http://${metrics}/healthz`)).status).toBe(200);
});

it('counts an engine added by hand as healthy once validated, and the AddEngine call', async () => {
  await call(m(), m().addEngine, { address: agentAddress });
  await engineIn(m(), agentAddress, EngineStatus.ENGINE_STATUS_HEALTHY);
  await waitForMetric(metrics, 'flotilla_engines{state="healthy"}', (v) => v === 1);
  const samples = await scrapeMetrics(metrics);
  expect(samples.get('flotilla_grpc_calls_total{method="/flotilla.cluster.v1.ClusterService/AddEngine",code="OK"}')).toBeGreaterThanOrEqual(1);
  expect(samples.get('flotilla_grpc_call_duration_seconds_count{method="/flotilla.cluster.v1.ClusterService/AddEngine"}')).toBeGreaterThanOrEqual(1);
  expect(samples.get('flotilla_engines{state="pending"}')).toBe(0);
  expect(samples.get('flotilla_pending_engines')).toBe(0);
  expect(samples.get('flotilla_event_loop_lag_seconds{quantile="1"}')).toBeGreaterThanOrEqual(0);
});

it('counts a failed call with its status code', async () => {
  await expect(call(m(), m().getEngine, { engine: 'no-such-engine' })).rejects.toThrow();
  await waitForMetric(metrics, 'flotilla_grpc_calls_total{method="/flotilla.cluster.v1.ClusterService/GetEngine",code="NOT_FOUND"}', (v) => v >= 1);
});

it('shows an open WatchEvents stream as a subscriber and an active call until it ends', async () => {
  const events = new EventRecorder(m().watchEvents({ types: ['container'], engines: [], containers: [] }));
  await waitForMetric(metrics, 'flotilla_watch_events_subscribers', (v) => v === 1);
  await waitForMetric(metrics, 'flotilla_grpc_active_calls{method="/flotilla.cluster.v1.ClusterService/WatchEvents"}', (v) => v === 1);
  events.cancel();
  await waitForMetric(metrics, 'flotilla_watch_events_subscribers', (v) => v === 0);
  await waitForMetric(metrics, 'flotilla_grpc_active_calls{method="/flotilla.cluster.v1.ClusterService/WatchEvents"}', (v) => v === 0);
});

it('counts the containers of the engine by state', async () => {
  await engines.docker('engine-1', ['run', '-d', '--network', 'none', '--name', 'metrics-web', 'busybox:local', 'sleep', '300']);
  await waitForMetric(metrics, 'flotilla_containers{state="running"}', (v) => v === 1);
  await engines.docker('engine-1', ['rm', '-f', 'metrics-web']);
  await waitForMetric(metrics, 'flotilla_containers{state="running"}', (v) => v === 0);
});

it('counts an engine whose agent is gone as unhealthy', async () => {
  await agent.process.stop();
  await waitForMetric(metrics, 'flotilla_engines{state="unhealthy"}', (v) => v === 1);
  expect((await scrapeMetrics(metrics)).get('flotilla_engines{state="healthy"}')).toBe(0);
});

it('refuses to start with a metrics address off loopback, naming the flag and the value', async () => {
  await expect(
    startNodeService({ name: 'manager-public-metrics', script: 'apps/cluster-manager/dist/main.js', args: ['--listen', '127.0.0.1:0', '--metrics-address', '0.0.0.0:0'] }),
  ).rejects.toThrow(/--metrics-address "0\.0\.0\.0:0": the metrics endpoint is plain HTTP with no authentication: only a loopback address/);
});
