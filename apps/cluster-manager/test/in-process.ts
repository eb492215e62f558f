import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger, type Security } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus } from '@flotilla/proto/cluster';
import { waitFor } from '@flotilla/testing';
import { parseManagerConfig } from '../src/config';
import { startManager, type RunningManager } from '../src/manager';

const insecure: Security = { kind: 'insecure' };

export interface InProcessCluster {
  backend: HollowDockerBackend;
  agent: RunningAgent;
  manager: RunningManager;
  client: ClusterServiceClient;
  address: string;
  /** The hollow engine's address as the manager knows it. */
  engineAddress: string;
  stop(): Promise<void>;
}

/**
 * A manager and one hollow engine's real agent in this process, on ports of their own, in
 * insecure mode so certificates are not in the way of what is tested. `args` are more manager
 * flags.
 */
export async function startInProcessCluster(args: string[] = []): Promise<InProcessCluster> {
  const backend = new HollowDockerBackend({ name: 'hollow-1' });
  const agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: insecure });
  const engineAddress = `127.0.0.1:${agent.port}`;
  const config = { ...parseManagerConfig(['--listen', '127.0.0.1:0', '--insecure', '--engine', engineAddress, ...args], {}), security: insecure };
  const manager = await startManager(config, silentLogger);
  const address = `127.0.0.1:${manager.port}`;
  const client = dial(ClusterServiceClient, address);
  await waitFor(async () => (await call(client, client.getEngine, { engine: engineAddress })).engine?.status === EngineStatus.ENGINE_STATUS_HEALTHY, {
    what: 'the hollow engine to be healthy',
  });
  return {
    backend,
    agent,
    manager,
    client,
    address,
    engineAddress,
    async stop() {
      client.close();
      await manager.stop(1000);
      await agent.stop(1000);
    },
  };
}

/** What a refused call must leave as it was: the engines and the containers of the cluster. */
export function clusterState(manager: RunningManager): { engines: string[]; containers: string[] } {
  const engines = manager.cluster.listEngines().map((e) => e.address).sort();
  const containers = [...manager.cluster.all()].flatMap((e) => [...e.containers.values()].map((c) => `${e.address} ${c.id} ${c.names.join(',')} ${c.state}`)).sort();
  return { engines, containers };
}
