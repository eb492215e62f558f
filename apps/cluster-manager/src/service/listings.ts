import { engineViewBytes, type Cluster, type ClusterContainers, type ClusterImages, type ClusterVolumes, type ClusterNetworks, type NetworkFilter, type ContainerFilter, type Engine, type EngineFilter, type ImageFilter, type VolumeFilter } from '@flotilla/cluster';
import { ClusterContainer, ClusterImage, ClusterNetwork, ClusterVolume, type ClusterEngine } from '@flotilla/proto/cluster';
import type { Listing } from './paging';

// Code-unit order, as page keys compare (paging.ts).
const byAddress = (a: Engine, b: Engine) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
const idOf = (c: ClusterContainer) => c.container?.id ?? '';
const byId = (a: ClusterContainer, b: ClusterContainer) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0);

/**
 * The engines that pass `filter`, in address order from `start` (from the first when undefined),
 * read from the cluster's address index a batch at a time: a page reads only as far as it returns
 * (plus one), in O(log n + engines read), with no sort.
 */
function* enginesInOrder(cluster: Cluster, filter: EngineFilter, start: { after?: string; from?: string } | undefined): Generator<Engine> {
  let next: EngineFilter = start?.from !== undefined ? { fromAddress: start.from } : { afterAddress: start?.after ?? '' };
  // 128, then 512, ...: a page of 500 (the default) takes two batches.
  for (let batch = 128; ; batch = Math.min(batch * 4, 8192)) {
    const engines = cluster.listEngines({ ...filter, ...next, limit: batch });
    yield* engines;
    if (engines.length < batch) return;
    next = { afterAddress: engines[engines.length - 1].address };
  }
}

/**
 * Engines by address (unique, and fixed for an engine's life), from the cluster's address index;
 * only the engines on the page are viewed, and each view and its encoded size come from the
 * engine's cached view (rebuilt only when the engine changed, not on its heartbeats).
 */
export function engineListing(cluster: Cluster, filter: EngineFilter): Listing<ClusterEngine> {
  return {
    name: 'ListEngines',
    arity: 1,
    *items(after) {
      for (const engine of enginesInOrder(cluster, filter, after && { after: after[0] })) yield cluster.view(engine);
    },
    key: (e) => [e.address],
    bytes: (e) => engineViewBytes(e),
  };
}

/**
 * Containers by engine address, then container ID. Each page reads the validated engines from the
 * cluster's address index (or sorts the few engines the filter names), from the token's engine on,
 * and then only the containers of the engines it reads (30 each at the benchmark's 10,000 × 30),
 * never all of the cluster's containers. The filter is the domain's own (ClusterContainers.list), applied
 * one engine at a time.
 */
export function containerListing(cluster: Cluster, containers: ClusterContainers, filter: ContainerFilter): Listing<ClusterContainer> {
  // Resolved before any page is read, so an unknown engine fails the call as it always did.
  const named = filter.engines.length ? new Set(filter.engines.map((ref, i) => cluster.getEngine(ref, `engines[${i}]`))) : undefined;
  return {
    name: 'ListContainers',
    arity: 2,
    *items(after) {
      // From the token's engine itself: it may have containers left after the token's.
      const engines = named ? [...named].sort(byAddress) : enginesInOrder(cluster, { validated: true }, after && { from: after[0] });
      for (const engine of engines) {
        if (after && engine.address < after[0]) continue;
        const listed = containers.list({ ...filter, engines: [engine.address] });
        yield* listed.sort(byId);
      }
    },
    key: (c) => [c.engine?.address ?? '', idOf(c)],
    bytes: (c) => ClusterContainer.encode(c).finish().length,
  };
}

/**
 * Items kept per engine (volumes, images), by engine address and then the engine's own order,
 * read as containerListing reads containers: from the token's engine on, one engine at a time,
 * through the domain's own filter.
 */
function perEngineListing<T>(cluster: Cluster, engineRefs: readonly string[], name: string, listOn: (address: string) => Iterable<T>, key: (item: T) => string[], bytes: (item: T) => number): Listing<T> {
  const named = engineRefs.length ? new Set(engineRefs.map((ref, i) => cluster.getEngine(ref, `engines[${i}]`))) : undefined;
  return {
    name,
    arity: 2,
    *items(after) {
      const engines = named ? [...named].sort(byAddress) : enginesInOrder(cluster, { validated: true }, after && { from: after[0] });
      for (const engine of engines) {
        if (after && engine.address < after[0]) continue;
        yield* listOn(engine.address);
      }
    },
    key,
    bytes,
  };
}

/** Volumes by engine address, then volume name (ClusterVolumes.list). */
export function volumeListing(cluster: Cluster, volumes: ClusterVolumes, filter: VolumeFilter): Listing<ClusterVolume> {
  return perEngineListing(
    cluster,
    filter.engines,
    'ListVolumes',
    (address) => volumes.list({ ...filter, engines: [address] }),
    (v) => [v.engine?.address ?? '', v.volume?.name ?? ''],
    (v) => ClusterVolume.encode(v).finish().length,
  );
}

/** Networks by engine address, then network name (ClusterNetworks.list). */
export function networkListing(cluster: Cluster, networks: ClusterNetworks, filter: NetworkFilter): Listing<ClusterNetwork> {
  return perEngineListing(
    cluster,
    filter.engines,
    'ListNetworks',
    (address) => networks.list({ ...filter, engines: [address] }),
    (n) => [n.engine?.address ?? '', `${n.network?.name ?? ''}\0${n.network?.id ?? ''}`],
    (n) => ClusterNetwork.encode(n).finish().length,
  );
}

/** Images by engine address, then image ID (ClusterImages.list). */
export function imageListing(cluster: Cluster, images: ClusterImages, filter: ImageFilter): Listing<ClusterImage> {
  return perEngineListing(
    cluster,
    filter.engines,
    'ListImages',
    (address) => images.list({ ...filter, engines: [address] }),
    (i) => [i.engine?.address ?? '', i.image?.id ?? ''],
    (i) => ClusterImage.encode(i).finish().length,
  );
}
