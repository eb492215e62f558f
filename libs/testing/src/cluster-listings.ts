// Calls to a cluster-manager for tests and benchmarks: whole listings (ListEngines and ListContainers
// answer a page at a time) and how a call ended.
import { call, readAllPages, type CallSettings } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import { ListContainersRequest, ListEnginesRequest, type ClusterContainer, type ClusterEngine, type ClusterServiceClient } from '@flotilla/proto/cluster';

export type EngineQuery = Pick<Partial<ListEnginesRequest>, 'statuses' | 'labels' | 'pageSize'>;
export type ContainerQuery = Omit<Partial<ListContainersRequest>, 'pageToken'>;

/** The pages of ListEngines themselves, for benchmarks that measure them. */
export function enginePages(client: ClusterServiceClient, query: EngineQuery = {}, settings?: CallSettings) {
  return readAllPages((pageToken) => call(client, client.listEngines, ListEnginesRequest.fromPartial({ ...query, pageToken }), settings), (page) => page.engines);
}

/** Every engine that matches, by address. */
export async function allEngines(client: ClusterServiceClient, query: EngineQuery = {}, settings?: CallSettings): Promise<ClusterEngine[]> {
  return (await enginePages(client, query, settings)).items;
}

/** Every container that matches, by engine address then container ID. */
export async function allContainers(client: ClusterServiceClient, query: ContainerQuery = {}, settings?: CallSettings): Promise<ClusterContainer[]> {
  return (await readAllPages((pageToken) => call(client, client.listContainers, ListContainersRequest.fromPartial({ ...query, pageToken }), settings), (page) => page.containers)).items;
}

/** How a call ended: 'ok', or the status code and message it failed with (any other error is rethrown). */
export async function outcomeOf(promise: Promise<unknown>): Promise<'ok' | { code: number; message: string }> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (!(err instanceof FlotillaError)) throw err;
    return { code: err.code, message: err.message };
  }
}
