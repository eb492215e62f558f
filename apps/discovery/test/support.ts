import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus, ListEnginesRequest, type ClusterEngine } from '@flotilla/proto/cluster';
import { DiscoveryServiceClient, type DiscoveryState } from '@flotilla/proto/discovery';
import { startNodeService, testTls, waitFor, type RunningService, type TestEngine } from '@flotilla/testing';

/** The built cluster-manager on a given port, so a restart brings it back where discovery pushes. */
export async function startManagerOn(port: number): Promise<RunningService & { client: ClusterServiceClient; close(): Promise<void> }> {
  const service = await startNodeService({
    name: `manager:${port}`,
    script: 'apps/cluster-manager/dist/main.js',
    args: ['--listen', `127.0.0.1:${port}`, '--log-level', 'debug', '--reconnect-max', '1s', '--pending-retry-min', '200ms', '--pending-retry-max', '1s'],
  });
  const client = dial(ClusterServiceClient, service.address, { defaultDeadlineMs: 10_000, tls: testTls('operator') });
  return {
    ...service,
    client,
    async close() {
      client.close();
      await service.process.stop();
    },
  };
}

/** The built discovery service on a free port. */
export async function startDiscoveryProcess(args: string[]): Promise<RunningService & { client: DiscoveryServiceClient; close(): Promise<void> }> {
  const service = await startNodeService({
    name: 'discovery',
    script: 'apps/discovery/dist/main.js',
    args: ['--listen', '127.0.0.1:0', '--log-level', 'debug', '--retry-min', '100ms', '--retry-max', '1s', ...args],
  });
  const client = dial(DiscoveryServiceClient, service.address, { defaultDeadlineMs: 10_000, tls: testTls('operator') });
  return {
    ...service,
    client,
    async close() {
      client.close();
      await service.process.stop();
    },
  };
}

/** The built engine-agent beside a real engine, on a given port. */
export function startAgentOn(engine: TestEngine, port: number, extra: string[] = []): Promise<RunningService> {
  return startNodeService({
    name: `agent-${engine.name}`,
    script: 'apps/engine-agent/dist/main.js',
    args: ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`, '--heartbeat-interval', '200ms', ...extra],
  });
}

export async function listEntries(client: DiscoveryServiceClient): Promise<DiscoveryState> {
  const { state } = await call(client, client.listEntries, {});
  if (!state) throw new Error('ListEntries answered without a state');
  return state;
}

/** Every engine of the cluster, over as many ListEngines pages as it takes. */
export async function engines(client: ClusterServiceClient): Promise<ClusterEngine[]> {
  const all: ClusterEngine[] = [];
  let pageToken = '';
  do {
    const page = await call(client, client.listEngines, ListEnginesRequest.fromPartial({ pageToken }));
    all.push(...page.engines);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}

/** Waits until the manager holds exactly these addresses, each in `status` (any status when omitted). */
export function clusterIs(client: () => ClusterServiceClient, addresses: string[], what: string, status?: EngineStatus, timeoutMs = 60_000): Promise<ClusterEngine[]> {
  const want = [...addresses].sort().join(',');
  return waitFor(
    async () => {
      const list = await engines(client());
      const have = list.map((e) => e.address).sort().join(',');
      if (have !== want) return undefined;
      if (status !== undefined && !list.every((e) => e.status === status)) return undefined;
      return list;
    },
    { what: `${what}: the cluster to be {${want}}${status !== undefined ? ` all ${EngineStatus[status]}` : ''}`, timeoutMs },
  );
}
