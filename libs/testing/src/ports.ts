// Free TCP ports on the loopback interface, for services and engines started by tests.
import * as fs from 'node:fs';
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

/**
 * Ports are drawn below the kernel's ephemeral range (32768-60999 here), which outgoing
 * connections take their source ports from: a port picked there can be taken by any connection
 * between the check and the bind, or while a test restarts a service on it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const RANGE_LOW = 10_000;
const RANGE_HIGH = ephemeralLow();

/** A port that was free on 127.0.0.1 a moment ago, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  return (await freePortRange(1))[0];
}

/**
 * `n` consecutive ports, each verified free on 127.0.0.1 by binding it, starting at a random
 * base between 10000 and the ephemeral range. Returns the ports in order; the first is the base.
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
