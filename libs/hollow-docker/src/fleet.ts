import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { HollowDockerServer, type HollowDockerOptions } from './server';

export interface HollowDockerFleetOptions {
  /** `unix` (default): one socket per engine in `dir`; `tcp`: one 127.0.0.1 port each. */
  listen?: 'unix' | 'tcp';
  /** Options for engine `index` (0-based); the fleet sets name and socketPath unless given. */
  engine?: (index: number) => HollowDockerOptions;
  /** Engines started at once. Default 100. */
  concurrency?: number;
}

export interface HollowDockerFleet {
  readonly dir: string;
  readonly servers: HollowDockerServer[];
  /** Every engine's `unix:///...` or `tcp://...`, in order. */
  readonly dockerHosts: string[];
  /** Closes every engine. Idempotent. */
  close(): Promise<void>;
}

/** `hollow-00042` for index 42. */
export function fleetEngineName(index: number): string {
  return `hollow-${String(index).padStart(5, '0')}`;
}

/**
 * Starts `count` hollow Docker engines in this process, each on its own unix socket in `dir`
 * (`hollow-00000.sock`, ...) or loopback port. On a failure the ones started are closed again.
 */
export async function startHollowDockerFleet(count: number, dir: string, options: HollowDockerFleetOptions = {}): Promise<HollowDockerFleet> {
  mkdirSync(dir, { recursive: true });
  const servers: HollowDockerServer[] = new Array(count);
  const concurrency = options.concurrency ?? 100;
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < count) {
      const i = next++;
      const name = fleetEngineName(i);
      const own = options.engine?.(i) ?? {};
      const where = options.listen === 'tcp' ? { host: own.host ?? '127.0.0.1', port: own.port ?? 0 } : { socketPath: own.socketPath ?? path.join(dir, `${name}.sock`) };
      try {
        servers[i] = await HollowDockerServer.start({ name, ...own, ...where });
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(servers.filter(Boolean).map((s) => s.close()));
  };
  if (failure !== undefined) {
    await close();
    throw failure;
  }
  return { dir, servers, dockerHosts: servers.map((s) => s.dockerHost), close };
}
