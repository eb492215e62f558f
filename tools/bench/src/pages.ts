// Whole listings for the benchmarks: ListEngines and ListContainers answer a page at a time.
import { call, type CallSettings } from '@flotilla/grpc';
import { ListContainersRequest, ListEnginesRequest, type ClusterContainer, type ClusterEngine, type ClusterServiceClient } from '@flotilla/proto';

/** Every item of a paged listing: pages until one comes without a token (and fails on a token seen before). */
export async function allPages<Page extends { nextPageToken: string }, T>(read: (pageToken: string) => Promise<Page>, itemsOf: (page: Page) => T[]): Promise<{ items: T[]; pages: Page[] }> {
  const items: T[] = [];
  const pages: Page[] = [];
  const seen = new Set<string>();
  let pageToken = '';
  do {
    const page = await read(pageToken);
    pages.push(page);
    for (const item of itemsOf(page)) items.push(item);
    pageToken = page.nextPageToken;
    if (seen.has(pageToken)) throw new Error(`the manager sent page token ${pageToken} twice`);
    seen.add(pageToken);
  } while (pageToken);
  return { items, pages };
}

export type EngineQuery = Pick<Partial<ListEnginesRequest>, 'statuses' | 'labels' | 'pageSize'>;
export type ContainerQuery = Omit<Partial<ListContainersRequest>, 'pageToken'>;

/** Every engine that matches, by address; `settings` applies to each page's call. */
export async function allEngines(client: ClusterServiceClient, query: EngineQuery = {}, settings?: CallSettings): Promise<ClusterEngine[]> {
  return (await enginePages(client, query, settings)).items;
}

/** The pages of ListEngines themselves, for benchmarks that measure them. */
export function enginePages(client: ClusterServiceClient, query: EngineQuery = {}, settings?: CallSettings) {
  return allPages((pageToken) => call(client, client.listEngines, ListEnginesRequest.fromPartial({ ...query, pageToken }), settings), (page) => page.engines);
}

/** Every container that matches, by engine address then container ID. */
export async function allContainers(client: ClusterServiceClient, query: ContainerQuery = {}, settings?: CallSettings): Promise<ClusterContainer[]> {
  return (await allPages((pageToken) => call(client, client.listContainers, ListContainersRequest.fromPartial({ ...query, pageToken }), settings), (page) => page.containers)).items;
}
