// Free TCP ports on the loopback interface, for services and engines started by tests.
import * as net from 'node:net';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = await listen(0);
  const { port } = server.address() as net.AddressInfo;
  await close(server);
  return port;
}

const RANGE_LOW = 20_000;
const RANGE_HIGH = 60_000;

/**
 * `n` consecutive ports, each verified free on 127.0.0.1 by binding it, starting at a random
 * base in 20000-60000. Returns the ports in order; the first is the base.
 */
export async function freePortRange(n: number, attempts = 200): Promise<number[]> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`freePortRange: n must be a positive integer, got ${n}`);
  if (n > RANGE_HIGH - RANGE_LOW) throw new Error(`freePortRange: ${n} ports do not fit in ${RANGE_LOW}-${RANGE_HIGH}`);
  for (let attempt = 0; attempt < attempts; attempt++) {
    const base = RANGE_LOW + Math.floor(Math.random() * (RANGE_HIGH - RANGE_LOW - n + 1));
    const held: net.Server[] = [];
    try {
      for (let i = 0; i < n; i++) held.push(await listen(base + i));
    } catch {
      continue;
    } finally {
      await Promise.all(held.map(close));
    }
    return Array.from({ length: n }, (_, i) => base + i);
  }
  throw new Error(`freePortRange: found no ${n} consecutive free ports in ${attempts} attempts`);
}
