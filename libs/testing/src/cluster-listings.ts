// Whole listings of a cluster-manager for tests and benchmarks: ListEngines and ListContainers
// answer a page at a time.
import { call, readAllPages, type CallSettings } from '@flotilla/grpc';
import { ListContainersRequest, ListEnginesRequest, type ClusterContainer, type ClusterEngine, type ClusterServiceClient } from '@flotilla/proto';

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
