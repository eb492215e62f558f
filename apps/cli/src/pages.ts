import type { ClusterContainer, ClusterEngine, ClusterImage, ClusterNetwork, ClusterVolume, ListContainersRequest, ListEnginesRequest, ListImagesRequest, ListNetworksRequest, ListVolumesRequest } from '@flotilla/proto/cluster';
import type { Cluster } from './client';
import { readAllPages } from '@flotilla/grpc';

/** The most the manager returns per page; fewer round trips (a page also stops at 2 MiB). */
const pageSize = 1000;

export type EngineQuery = Pick<ListEnginesRequest, 'statuses' | 'labels'>;
export type ContainerQuery = Omit<ListContainersRequest, 'pageSize' | 'pageToken'>;
export type VolumeQuery = Omit<ListVolumesRequest, 'pageSize' | 'pageToken'>;
export type NetworkQuery = Omit<ListNetworksRequest, 'pageSize' | 'pageToken'>;
export type ImageQuery = Omit<ListImagesRequest, 'pageSize' | 'pageToken'>;

/** Every item of a paged listing, over as many pages as it takes. */
async function allPages<Page extends { nextPageToken: string }, T>(read: (pageToken: string) => Promise<Page>, itemsOf: (page: Page) => T[]): Promise<T[]> {
  return (await readAllPages(read, itemsOf)).items;
}

/** Engines in the order the CLI has always shown them: by name (the address when unnamed), then address. */
export function inNameOrder(engines: ClusterEngine[]): ClusterEngine[] {
  return [...engines].sort((a, b) => (a.name || a.address).localeCompare(b.name || b.address) || a.address.localeCompare(b.address));
}

/** Every engine that matches, over as many pages as it takes, in name order. */
export async function allEngines(cluster: Cluster, query: EngineQuery = { statuses: [], labels: {} }): Promise<ClusterEngine[]> {
  const engines = await allPages((pageToken) => cluster.call((c, o) => c.listEngines({ ...query, pageSize, pageToken }, o)), (page) => page.engines);
  return inNameOrder(engines);
}

/** Every container that matches, over as many pages as it takes (by engine address, then ID). */
export function allContainers(cluster: Cluster, query: ContainerQuery): Promise<ClusterContainer[]> {
  return allPages((pageToken) => cluster.call((c, o) => c.listContainers({ ...query, pageSize, pageToken }, o)), (page) => page.containers);
}

/** Every volume that matches, over as many pages as it takes (by engine address, then name). */
export function allVolumes(cluster: Cluster, query: VolumeQuery): Promise<ClusterVolume[]> {
  return allPages((pageToken) => cluster.call((c, o) => c.listVolumes({ ...query, pageSize, pageToken }, o)), (page) => page.volumes);
}

/** Every network that matches, one entry per engine holding it, over as many pages as it takes (by engine address, then name). */
export function allNetworks(cluster: Cluster, query: NetworkQuery): Promise<ClusterNetwork[]> {
  return allPages((pageToken) => cluster.call((c, o) => c.listNetworks({ ...query, pageSize, pageToken }, o)), (page) => page.networks);
}

/** Every image that matches, one entry per engine holding it, over as many pages as it takes (by engine address, then ID). */
export function allImages(cluster: Cluster, query: ImageQuery): Promise<ClusterImage[]> {
  return allPages((pageToken) => cluster.call((c, o) => c.listImages({ ...query, pageSize, pageToken }, o)), (page) => page.images);
}
