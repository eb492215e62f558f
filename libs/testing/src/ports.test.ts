import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort, freePortRange } from './ports';
import { makeTempDir, removeTempDir } from './temp-dir';

function bind(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

const close = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

describe('ports', () => {
  it('freePort gives a bindable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await close(await bind(port));
  });

  it('freePortRange gives n consecutive ports that can all be bound at once', async () => {
    const ports = await freePortRange(5);
    expect(ports).toHaveLength(5);
    expect(ports[0]).toBeGreaterThanOrEqual(10000);
    // Below the ephemeral range, so outgoing connections never take them.
    expect(ports[4]).toBeLessThan(32768);
    ports.forEach((p, i) => expect(p).toBe(ports[0] + i));
    const servers = await Promise.all(ports.map(bind));
    await Promise.all(servers.map(close));
  });

  it('freePortRange skips a range that is partly taken', async () => {
    const [base] = await freePortRange(1);
    const blocker = await bind(base);
    try {
      for (let i = 0; i < 20; i++) {
        const ports = await freePortRange(3);
        expect(ports).not.toContain(base);
      }
    } finally {
      await close(blocker);
    }
  });

  it('rejects a bad count', async () => {
    await expect(freePortRange(0)).rejects.toThrow(/positive integer/);
  });
});

describe('temp dirs', () => {
  it('makes and removes a directory tree, tolerating a missing one', () => {
    const dir = makeTempDir('flotilla-testing-');
    expect(path.basename(dir)).toMatch(/^flotilla-testing-/);
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a', 'b', 'f'), 'x');
    removeTempDir(dir);
    expect(fs.existsSync(dir)).toBe(false);
    expect(() => removeTempDir(dir)).not.toThrow();
  });
});
