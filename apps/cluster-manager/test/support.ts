import { dial } from '@flotilla/grpc';
import { ClusterServiceClient, EngineStatus, ListContainersRequest, ListEnginesRequest, type ClusterContainer, type ClusterEngine, type WatchEventsResponse } from '@flotilla/proto';
import { startNodeService, StreamRecorder, testTls, waitFor, type RunningService, type TestEngine } from '@flotilla/testing';
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

/** Every item of a paged listing: pages until one comes without a token (and fails on a token seen before). */
export async function allPages<Page extends { nextPageToken: string }, T>(read: (pageToken: string) => Promise<Page>, itemsOf: (page: Page) => T[]): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let pageToken = '';
  do {
    const page = await read(pageToken);
    items.push(...itemsOf(page));
    pageToken = page.nextPageToken;
    if (seen.has(pageToken)) throw new Error(`the manager sent page token ${pageToken} twice`);
    seen.add(pageToken);
  } while (pageToken);
  return items;
}

/** Every engine that matches, by address, over as many ListEngines pages as it takes. */
export function allEngines(client: ClusterServiceClient, query: Pick<Partial<ListEnginesRequest>, 'statuses' | 'labels' | 'pageSize'> = {}): Promise<ClusterEngine[]> {
  return allPages((pageToken) => call(client, client.listEngines, ListEnginesRequest.fromPartial({ ...query, pageToken })), (page) => page.engines);
}

/** Every container that matches, by engine address then ID, over as many ListContainers pages as it takes. */
export function allContainers(client: ClusterServiceClient, query: Omit<Partial<ListContainersRequest>, 'pageToken'> = {}): Promise<ClusterContainer[]> {
  return allPages((pageToken) => call(client, client.listContainers, ListContainersRequest.fromPartial({ ...query, pageToken })), (page) => page.containers);
}
