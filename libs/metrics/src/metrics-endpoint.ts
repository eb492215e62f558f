import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '@flotilla/errors';
import { formatHostPort, metricsLoopbackOnly, parseLoopbackListenAddress, silentLogger, type Logger } from '@flotilla/grpc';
import type { MetricsRegistry } from './metrics-registry';

/*
 * The HTTP side of a service's metrics: GET /metrics for Prometheus, GET /healthz for a liveness
 * probe, nothing else. Plain HTTP with no authentication, so it binds loopback addresses only and
 * is meant for a scraper or sidecar on the same host. Bounded: request bodies are never read,
 * every connection closes after one answer, slow headers time out, and connections past a small
 * cap are dropped.
 */

export interface MetricsEndpointOptions {
  /** `host:port` on loopback; port 0 picks a free port. */
  address: string;
  registry: MetricsRegistry;
  logger?: Logger;
  /** Names the address in errors; default `--metrics-address`. */
  field?: string;
  /** Connections open at once; more are dropped. Default 16. */
  maxConnections?: number;
  /** How long a client may take to send its request headers (and its whole request). Default 5 s. */
  headersTimeoutMs?: number;
}

export interface MetricsEndpoint {
  /** The bound address, `host:port` (IPv6 in brackets). */
  address: string;
  port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

export const metricsPath = '/metrics';
export const healthPath = '/healthz';

/** A loopback `host:port`, or an error naming the flag and the value. */
export function parseMetricsAddress(value: string, field = '--metrics-address'): { host: string; port: number } {
  return parseLoopbackListenAddress(field, value, metricsLoopbackOnly);
}

export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const { host, port } = parseMetricsAddress(options.address, options.field);
  const logger = options.logger ?? silentLogger;
  const headersTimeoutMs = options.headersTimeoutMs ?? 5000;
  const server = createServer(
    { headersTimeout: headersTimeoutMs, requestTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, headersTimeoutMs), keepAliveTimeout: 1000, maxHeaderSize: 8192 },
    (req, res) => void answer(options.registry, logger, req, res),
  );
  server.maxConnections = options.maxConnections ?? 16;
  // A client that connects and says nothing is dropped too.
  server.setTimeout(2 * headersTimeoutMs, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.warn('metrics endpoint error', { error: err }));
  const bound = server.address() as AddressInfo;
  const address = formatHostPort({ host: bound.address, port: bound.port });
  logger.info('metrics listening', { address, port: bound.port });
  let closed: Promise<void> | undefined;
  return {
    address,
    port: bound.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function answer(registry: MetricsRegistry, logger: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // One answer per connection: the body, if any, is never read, so the socket cannot be reused.
  res.shouldKeepAlive = false;
  const path = (req.url ?? '').split('?')[0];
  const send = (code: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (path !== metricsPath && path !== healthPath) return send(404, 'not found: the paths are /metrics and /healthz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed: use GET\n', { Allow: 'GET, HEAD' });
  if (path === healthPath) return send(200, 'ok\n');
  try {
    send(200, await registry.scrape(), { 'Content-Type': registry.contentType });
  } catch (err) {
    logger.warn('metrics scrape failed', { error: err });
    if (!res.headersSent) send(500, `scrape failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
