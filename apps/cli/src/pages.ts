import type { ClusterContainer, ClusterEngine, ListContainersRequest, ListEnginesRequest } from '@flotilla/proto';
import type { Cluster } from './client';
import { CliError, ExitCode } from './errors';

/** The most the manager returns per page; fewer round trips (a page also stops at 2 MiB). */
const pageSize = 1000;

export type EngineQuery = Pick<ListEnginesRequest, 'statuses' | 'labels'>;
export type ContainerQuery = Omit<ListContainersRequest, 'pageSize' | 'pageToken'>;

/**
 * Every item of a paged listing: reads pages until one comes without a token. A token the
 * manager already sent would read the same pages forever, so it ends the command instead.
 */
export async function allPages<Page extends { nextPageToken: string }, T>(read: (pageToken: string) => Promise<Page>, itemsOf: (page: Page) => T[]): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let pageToken = '';
  do {
    const page = await read(pageToken);
    for (const item of itemsOf(page)) items.push(item);
    pageToken = page.nextPageToken;
    if (seen.has(pageToken)) throw new CliError('the cluster-manager sent a page token it had sent before; the listing is not moving on (a manager bug)', ExitCode.error);
    seen.add(pageToken);
  } while (pageToken);
  return items;
}

/** Engines in the order the CLI has always shown them: by name (the address when unnamed), then address. */
export function inNameOrder(engines: ClusterEngine[]): ClusterEngine[] {
  return [...engines].sort((a, b) => (a.name || a.address).localeCompare(b.name || b.address) || a.address.localeCompare(b.address));
}

/** Every engine that matches, over as many pages as it takes, in name order. */
export async function allEngines(cluster: Cluster, query: EngineQuery = { statuses: [], labels: {} }): Promise<ClusterEngine[]> {
  const engines = await allPages((pageToken) => cluster.call((c) => c.listEngines, { ...query, pageSize, pageToken }), (page) => page.engines);
  return inNameOrder(engines);
}

/** Every container that matches, over as many pages as it takes (by engine address, then ID). */
export function allContainers(cluster: Cluster, query: ContainerQuery): Promise<ClusterContainer[]> {
  return allPages((pageToken) => cluster.call((c) => c.listContainers, { ...query, pageSize, pageToken }), (page) => page.containers);
}
