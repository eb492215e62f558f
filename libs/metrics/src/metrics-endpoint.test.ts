import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { InvalidArgumentError } from '@flotilla/errors';
import { createLogger } from '@flotilla/grpc';
import { MetricsRegistry } from './metrics-registry';
import { startMetricsEndpoint, type MetricsEndpoint, type MetricsEndpointOptions } from './metrics-endpoint';

const endpoints: MetricsEndpoint[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const endpoint of endpoints.splice(0)) await endpoint.close();
});

async function start(options: Partial<MetricsEndpointOptions> = {}): Promise<MetricsEndpoint> {
  const endpoint = await startMetricsEndpoint({ address: '127.0.0.1:0', registry: new MetricsRegistry(), ...options });
  endpoints.push(endpoint);
  return endpoint;
}

const url = (endpoint: MetricsEndpoint, path: string) => `http://${endpoint.address}${path}`;

function rawConnection(endpoint: MetricsEndpoint): Promise<Socket> {
  const socket = connect(endpoint.port, '127.0.0.1');
  sockets.push(socket);
  return once(socket, 'connect').then(() => socket);
}

/** Resolves when the server closes the socket; fails the test past `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server kept the connection open for more than ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
  });
}

describe('the metrics endpoint', () => {
  it('serves the registry in Prometheus text format on GET /metrics, with the default process series', async () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'flotilla_test_things_total', help: 'Things, a count.' }).inc(3);
    const endpoint = await start({ registry });
    const res = await fetch(url(endpoint, '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# HELP flotilla_test_things_total Things, a count.');
    expect(text).toContain('flotilla_test_things_total 3');
    for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_active_handles_total', 'process_cpu_seconds_total']) expect(text).toContain(`# TYPE ${name} `);
  });

  it('reads scrape-time gauges and counters when scraped', async () => {
    const registry = new MetricsRegistry({ defaultMetrics: false });
    let n = 1;
    registry.gaugeFrom({ name: 'flotilla_test_items', help: 'Items, a count.', labelNames: ['state'] }, () => [[{ state: 'a' }, n], [{ state: 'b' }, 2 * n]]);
    registry.counterFrom({ name: 'flotilla_test_seen_total', help: 'Seen, a count.' }, () => 10 * n);
    const endpoint = await start({ registry });
    expect(await (await fetch(url(endpoint, '/metrics'))).text()).toMatch(/flotilla_test_items\{state="a"\} 1\n[^]*flotilla_test_seen_total 10\n/);
    n = 2;
    const text = await (await fetch(url(endpoint, '/metrics'))).text();
    expect(text).toContain('flotilla_test_items{state="b"} 4');
    expect(text).toContain('flotilla_test_seen_total 20');
  });

  it('answers GET /healthz with 200 ok', async () => {
    const endpoint = await start();
    const res = await fetch(url(endpoint, '/healthz'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('answers 404 to any other path and 405 to any other method, without reading a body', async () => {
    const endpoint = await start();
    expect((await fetch(url(endpoint, '/'))).status).toBe(404);
    expect((await fetch(url(endpoint, '/metrics/x'))).status).toBe(404);
    const post = await fetch(url(endpoint, '/metrics'), { method: 'POST', body: 'x'.repeat(1024 * 1024) });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(url(endpoint, '/healthz'), { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(url(endpoint, '/metrics'))).status).toBe(200);
  });

  it('logs the bound address, with the port picked for port 0', async () => {
    const lines: string[] = [];
    const endpoint = await start({ logger: createLogger({ write: (line) => lines.push(line) }) });
    expect(endpoint.port).toBeGreaterThan(0);
    expect(endpoint.address).toBe(`127.0.0.1:${endpoint.port}`);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ level: 'info', msg: 'metrics listening', address: `127.0.0.1:${endpoint.port}`, port: endpoint.port }));
  });

  it('accepts localhost', async () => {
    const endpoint = await start({ address: 'localhost:0' });
    expect((await fetch(url(endpoint, '/healthz'))).status).toBe(200);
  });

  it.each(['0.0.0.0:0', '192.0.2.10:9100', 'example.com:9100', '[::]:0'])('refuses the non-loopback address %s, naming the flag and the value', async (address) => {
    const refused = startMetricsEndpoint({ address, registry: new MetricsRegistry({ defaultMetrics: false }) });
    await expect(refused).rejects.toThrow(InvalidArgumentError);
    await expect(startMetricsEndpoint({ address, registry: new MetricsRegistry({ defaultMetrics: false }) })).rejects.toThrow(`--metrics-address ${JSON.stringify(address)}: the metrics endpoint is plain HTTP`);
  });

  it('refuses a malformed address naming the flag', async () => {
    await expect(startMetricsEndpoint({ address: 'nope', registry: new MetricsRegistry({ defaultMetrics: false }) })).rejects.toThrow(/^--metrics-address "nope"/);
  });

  it('fails to start when the port is taken', async () => {
    const first = await start();
    await expect(start({ address: `127.0.0.1:${first.port}` })).rejects.toThrow(/EADDRINUSE/);
  });

  it('drops a client that sends no request', async () => {
    const endpoint = await start({ headersTimeoutMs: 200 });
    const socket = await rawConnection(endpoint);
    await closedWithin(socket, 5000);
  });

  it('drops connections past its cap', async () => {
    const endpoint = await start({ maxConnections: 2 });
    await rawConnection(endpoint);
    await rawConnection(endpoint);
    const third = await rawConnection(endpoint);
    await closedWithin(third, 5000);
  });

  it('closes one connection after one answer', async () => {
    const endpoint = await start();
    const socket = await rawConnection(endpoint);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await closedWithin(socket, 5000);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.toLowerCase()).toContain('connection: close');
  });
});
