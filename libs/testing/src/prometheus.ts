// Reads a service's Prometheus endpoint (--metrics-address) in integration tests.
import type { ServiceProcess } from './processes';
import { waitFor } from './wait-for';

/** The bound `host:port` of a service's metrics endpoint, from its "metrics listening" log line. */
export async function metricsAddressOf(process: ServiceProcess, timeoutMs = 30_000): Promise<string> {
  const line = await process.waitForLine(/"msg":"metrics listening"/, timeoutMs);
  return (JSON.parse(line) as { address: string }).address;
}

/** Every sample of a scrape, keyed by the series as written (`name{label="value",...}`). */
export async function scrapeMetrics(address: string, timeoutMs = 10_000): Promise<Map<string, number>> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`GET http://${address}/metrics answered ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Waits until the series exists and its value passes `holds`; returns the value. */
export function waitForMetric(address: string, series: string, holds: (value: number) => boolean, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    async () => {
      const value = (await scrapeMetrics(address)).get(series);
      return value !== undefined && holds(value) ? { value } : undefined;
    },
    { what: `metric ${series} at ${address}`, timeoutMs, intervalMs: 100 },
  ).then(({ value }) => value);
}
