import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { waitFor } from '@flotilla/testing';
import { startHollowDockerFleet } from './fleet';

it('starts 200 hollow engines on unix sockets in one process, each its own engine, and stops them cleanly', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hollow-fleet-'));
  // Other test files in this worker may still be closing their own pipes: compare with before, at most.
  const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
  const [serversBefore, pipesBefore] = [count('PipeServerWrap'), count('PipeWrap')];
  try {
    const fleet = await startHollowDockerFleet(200, dir, { engine: (i) => ({ labels: { zone: 'abc'[i % 3] } }) });
    expect(fleet.dockerHosts).toHaveLength(200);
    expect(fleet.dockerHosts[42]).toBe(`unix://${path.join(dir, 'hollow-00042.sock')}`);
    const infos = await Promise.all(fleet.servers.map((s) => new Docker({ socketPath: s.socketPath }).info()));
    expect(new Set(infos.map((i) => i.ID)).size).toBe(200);
    expect(infos[42]).toMatchObject({ Name: 'hollow-00042', Labels: ['zone=a'] });
    // Engines are independent: a container on one is not on another.
    await new Docker({ socketPath: fleet.servers[0].socketPath }).createContainer({ name: 'only-here', Image: 'busybox:local', Cmd: ['true'] });
    expect(fleet.servers[1].engine.containerCount).toBe(0);
    await fleet.close();
    await fleet.close();
    expect(fleet.servers.some((s) => existsSync(s.socketPath!))).toBe(false);
    // Every listener is gone (client keep-alive sockets closed with them).
    await waitFor(() => count('PipeServerWrap') <= serversBefore && count('PipeWrap') <= pipesBefore, { what: 'every listener and socket of the fleet closed' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('serves a fleet on loopback ports too', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hollow-fleet-'));
  try {
    const fleet = await startHollowDockerFleet(5, dir, { listen: 'tcp' });
    expect(fleet.dockerHosts.every((h) => /^tcp:\/\/127\.0\.0\.1:\d+$/.test(h))).toBe(true);
    expect(String(await new Docker({ host: '127.0.0.1', port: fleet.servers[3].port, protocol: 'http' }).ping())).toBe('OK');
    await fleet.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
