import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAll, freePort, makeTempDir, metricsAddressOf, removeTempDir, scrapeMetrics, waitForMetric } from '@flotilla/testing';
import { listEntries, startDiscoveryProcess, startManagerOn } from './support';

// Discovery on a file, pushing to a real manager and to an address where no manager listens,
// serving Prometheus metrics on a loopback port. No engine is needed: pushed engines stay pending.
let dir: string;
let file: string;
let manager: Awaited<ReturnType<typeof startManagerOn>>;
let absent: string;
let discovery: Awaited<ReturnType<typeof startDiscoveryProcess>>;
let metrics: string;
let source: string;

function writeEngines(lines: string[]): void {
  const tmp = path.join(dir, '.engines.tmp');
  fs.writeFileSync(tmp, `${lines.join('\n')}\n`);
  fs.renameSync(tmp, file);
}

beforeAll(async () => {
  dir = makeTempDir('flotilla-discovery-metrics-');
  file = path.join(dir, 'engines.txt');
  source = `file://${file}`;
  writeEngines(['127.0.0.1:1', '127.0.0.1:2']);
  manager = await startManagerOn(await freePort());
  absent = `127.0.0.1:${await freePort()}`;
  discovery = await startDiscoveryProcess(['--discovery', source, '--manager', `${manager.address},${absent}`, '--metrics-address', '127.0.0.1:0', '--file-reread-interval', '200ms']);
  metrics = await metricsAddressOf(discovery.process);
});

afterAll(async () => {
  await discovery?.close();
  await manager?.close();
  await cleanupAll();
  removeTempDir(dir);
});

it('counts the engines its source lists, and follows the file', async () => {
  await waitForMetric(metrics, `flotilla_discovery_engines{source="${source}"}`, (v) => v === 2);
  expect((await scrapeMetrics(metrics)).get(`flotilla_discovery_source_readable{source="${source}"}`)).toBe(1);
  writeEngines(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']);
  await waitForMetric(metrics, `flotilla_discovery_engines{source="${source}"}`, (v) => v === 3);
});

it('counts pushes by manager and outcome', async () => {
  await waitForMetric(metrics, `flotilla_discovery_pushes_total{manager="${manager.address}",outcome="ok"}`, (v) => v >= 1);
  await waitForMetric(metrics, `flotilla_discovery_pushes_total{manager="${absent}",outcome="failed"}`, (v) => v >= 1);
  const samples = await scrapeMetrics(metrics);
  expect(samples.get(`flotilla_discovery_pushes_total{manager="${absent}",outcome="ok"}`)).toBe(0);
  expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
});

it('counts the calls of its own API', async () => {
  await listEntries(discovery.client);
  await waitForMetric(metrics, 'flotilla_grpc_calls_total{method="/flotilla.discovery.v1.DiscoveryService/ListEntries",code="OK"}', (v) => v >= 1);
});
