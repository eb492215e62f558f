// Test-only helpers of this package's tests (never exported by index.ts): real managers in this
// process with mutual TLS, and the peers that make connections fail in the ways fail-over is for.
import * as net from 'node:net';
import { parseManagerConfig, startManager, type RunningManager } from '@flotilla/cluster-manager';
import { createLogger, type Logger } from '@flotilla/grpc';
import { tlsArgs } from '@flotilla/testing';

export type LogLine = Record<string, unknown>;

export interface TestManager {
  manager: RunningManager;
  address: string;
  lines: LogLine[];
  /** The `call` log lines of one ClusterService method (e.g. 'RemoveEngine'). */
  calls(method: string): LogLine[];
  stop(): Promise<void>;
}

function recordingLogger(lines: LogLine[]): Logger {
  return createLogger({ level: 'debug', fields: { service: 'cluster-manager' }, write: (line) => lines.push(JSON.parse(line) as LogLine) });
}

/** A real cluster-manager in this process, with the test CA's mutual TLS, on a port of its own; `args` are more flags. */
export async function startTestManager(args: string[] = []): Promise<TestManager> {
  const lines: LogLine[] = [];
  const manager = await startManager(parseManagerConfig(['--listen', '127.0.0.1:0', ...tlsArgs('manager'), '--log-level', 'debug', ...args], {}), recordingLogger(lines));
  let stopped: Promise<void> | undefined;
  return {
    manager,
    address: `127.0.0.1:${manager.port}`,
    lines,
    calls: (method) => lines.filter((l) => l.msg === 'call' && l.method === `/flotilla.cluster.v1.ClusterService/${method}`),
    stop: () => (stopped ??= manager.stop(1000)),
  };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** A peer that accepts connections and never says a word: a TLS handshake with it never ends. */
export async function startSilentPeer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy to a manager. Armed, it stops passing the manager's bytes back, so a call goes
 * through and its answer never comes; cut() then breaks every connection: the client sees its
 * connection lost after the manager did the call.
 */
export interface CutProxy {
  address: string;
  arm(): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  let armed = false;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!armed) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const proxyPort = await listen(server);
  return {
    address: `127.0.0.1:${proxyPort}`,
    arm: () => (armed = true),
    cut: () => {
      for (const s of sockets) s.destroy();
      armed = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
