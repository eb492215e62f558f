import { dial } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus, type ClusterEngine, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { freePort, startEngines, startNodeService, StreamRecorder, testTls, waitFor, type RunningService, type TestEngine, type TestEngines } from '@flotilla/testing';
import { call } from '@flotilla/grpc';

export interface ManagerProcess extends RunningService {
  client: ClusterServiceClient;
  close(): Promise<void>;
}

/** The built cluster-manager as its own process, on a free port. */
export async function startManagerProcess(args: string[] = []): Promise<ManagerProcess> {
  const service = await startNodeService({ name: 'manager', script: 'apps/cluster-manager/dist/main.js', args: ['--listen', '127.0.0.1:0', '--log-level', 'debug', '--reconnect-max', '1s', '--pending-retry-min', '200ms', '--pending-retry-max', '1s', ...args] });
  const client = dial(ClusterServiceClient, service.address, { defaultDeadlineMs: 30_000, tls: testTls('operator') });
  return {
    ...service,
    client,
    async close() {
      client.close();
      await service.process.stop();
    },
  };
}

/** The built engine-agent beside a real engine, on a given port (so it can come back on it). */
export function startAgentProcess(engine: TestEngine, port: number, extra: string[] = []): Promise<RunningService> {
  return startNodeService({
    name: `agent-${engine.name}`,
    script: 'apps/engine-agent/dist/main.js',
    args: ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`, '--heartbeat-interval', '200ms', ...extra],
  });
}

/** Waits until the engine at `address` is in `status`, and returns it. */
export function engineIn(client: ClusterServiceClient, address: string, status: EngineStatus, what = ''): Promise<ClusterEngine> {
  return waitFor(
    async () => {
      const { engine } = await call(client, client.getEngine, { engine: address });
      return engine?.status === status ? engine : undefined;
    },
    { what: `engine ${address} to be ${EngineStatus[status]}${what ? ` (${what})` : ''}` },
  );
}

export class EventRecorder extends StreamRecorder<WatchEventsResponse> {}

export { allContainers, allEngines } from '@flotilla/testing';

export interface RealCluster {
  engines: TestEngines;
  agents: RunningService[];
  /** Each engine's agent address, by engine index. */
  addresses: string[];
  /** Each engine's Docker engine ID, by engine index. */
  ids: string[];
  manager: ManagerProcess;
}

/**
 * Real engines, an engine-agent process beside each and a manager process that has them all
 * healthy: the set-up most integration tests share.
 */
export async function startRealCluster(options: { count: number; engineLabels?: Record<number, Record<string, string>>; agentArgs?: string[]; managerArgs?: string[]; netns?: boolean }): Promise<RealCluster> {
  const engines = await startEngines({ count: options.count, engineLabels: options.engineLabels, netns: options.netns });
  const agents: RunningService[] = [];
  const addresses: string[] = [];
  const ids: string[] = [];
  for (const [i, engine] of engines.engines.entries()) {
    const port = await freePort();
    agents[i] = await startAgentProcess(engine, port, options.agentArgs);
    addresses[i] = `127.0.0.1:${port}`;
    ids[i] = await engines.docker(engine.name, ['info', '--format', '{{.ID}}']);
  }
  const manager = await startManagerProcess(['--engine', addresses.join(','), ...(options.managerArgs ?? [])]);
  for (const address of addresses) await engineIn(manager.client, address, EngineStatus.ENGINE_STATUS_HEALTHY);
  return { engines, agents, addresses, ids, manager };
}
