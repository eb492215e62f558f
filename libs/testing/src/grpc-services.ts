// Runs the project's gRPC services as separate processes, and records their streams, for
// integration tests.
import { spawnService, type ServiceProcess } from './processes';
import { deployedScript } from './deployed';
import { waitFor } from './wait-for';
import { tlsArgs } from './pki';
import type { Role } from '@flotilla/pki';

export interface NodeServiceOptions {
  name: string;
  /** The built app, e.g. 'apps/engine-agent/dist/main.js', relative to the repo root; its deploy output is run (deployedScript). */
  script: string;
  args: string[];
  env?: Record<string, string>;
  /**
   * The service's certificate, from the test CA: by default the role its script serves as
   * (agent, manager, discovery) with its own name; `'insecure'` starts it with --insecure, and
   * `'none'` with no security flags at all (to see it refuse to start).
   */
  identity?: { role: Role; name?: string } | 'insecure' | 'none';
}

const roleOfScript: Array<[RegExp, Role]> = [
  [/engine-agent/, 'agent'],
  [/cluster-manager/, 'manager'],
  [/discovery/, 'discovery'],
];

function securityArgs(opts: NodeServiceOptions): string[] {
  const identity = opts.identity;
  if (identity === 'none') return [];
  if (identity === 'insecure') return ['--insecure'];
  const role = identity?.role ?? roleOfScript.find(([pattern]) => pattern.test(opts.script))?.[1];
  if (!role) return [];
  return tlsArgs(role, identity?.name ?? `test-${role}`);
}

export interface RunningService {
  process: ServiceProcess;
  port: number;
  /** 127.0.0.1:PORT */
  address: string;
}

/** Starts a built service and waits for its "listening" log line, which carries the bound port. */
export async function startNodeService(opts: NodeServiceOptions): Promise<RunningService> {
  const proc = spawnService({ name: opts.name, command: process.execPath, args: [deployedScript(opts.script), ...securityArgs(opts), ...opts.args], env: opts.env });
  const line = await proc.waitForLine(/"msg":"listening"/, 30_000);
  const port = (JSON.parse(line) as { port: number }).port;
  return { process: proc, port, address: `127.0.0.1:${port}` };
}

/** The parts of a grpc-js client stream a recorder uses. */
export interface ReadableCall<T> {
  on(event: 'data', listener: (item: T) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'metadata', listener: () => void): unknown;
  cancel(): void;
}

/** Reads a server stream into memory so tests can wait for what they expect. */
export class StreamRecorder<T> {
  readonly items: T[] = [];
  error: Error | undefined;
  ended = false;
  private headers = false;

  constructor(readonly call: ReadableCall<T>) {
    call.on('metadata', () => (this.headers = true));
    call.on('data', (item: T) => this.items.push(item));
    call.on('error', (err: Error) => (this.error = err));
    call.on('end', () => (this.ended = true));
  }

  /** Waits for an item that matches, among those after index `from`; fails early if the stream fails. */
  nextMatching(match: (item: T) => boolean, what: string, from = 0, timeoutMs = 30_000): Promise<T> {
    return waitFor(
      () => {
        const found = this.items.slice(from).find(match);
        if (found) return found;
        if (this.error) throw this.error;
        return undefined;
      },
      { timeoutMs, what },
    );
  }

  /**
   * Waits for the server's headers: a WatchEvents subscription is live once they arrive, so what
   * the test does next is seen (without this, a fast failure can come before the subscription).
   */
  async live(timeoutMs = 30_000): Promise<this> {
    await waitFor(
      () => {
        if (this.error) throw this.error;
        return this.headers || this.items.length > 0 || undefined;
      },
      { timeoutMs, what: 'the stream to be live (its headers)' },
    );
    return this;
  }

  /** Waits for the stream to end with an error, and returns it. */
  failure(timeoutMs = 30_000): Promise<Error> {
    return waitFor(() => this.error, { timeoutMs, what: 'the stream to fail' });
  }

  cancel(): void {
    this.call.cancel();
  }
}
