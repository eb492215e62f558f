import { Cluster, ClusterContainers, ClusterImages, ClusterNetworks, ClusterVolumes } from '@flotilla/cluster';
import { engineSnapshot, FakeAgents } from '@flotilla/cluster/testing';
import { ListEnginesResponse } from '@flotilla/proto/cluster';
import { silentLogger } from '@flotilla/grpc';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { createClusterService } from './cluster-service';
import { clusterServiceDefinition, encodeListEnginesResponse } from './engine-page-encoding';
import { engineListing } from './listings';
import { readPage } from './paging';

const address = (n: number) => `10.0.0.${n}:4250`;

describe('encodeListEnginesResponse', () => {
  it('writes what ListEnginesResponse.encode writes, for every page, as the engines change', async () => {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    const cluster = new Cluster({ connector: agents, clock, random: () => 0.5 });
    for (let n = 1; n <= 7; n++) {
      cluster.addEngine(address(n));
      // Engine 7 stays pending: a view without info.
      if (n < 7) agents.snapshot(address(n), engineSnapshot(`E${n}`, { name: `node-${n}`, labels: { zone: 'abc'[n % 3] } }));
    }
    cluster.syncEngines('file:///engines', 1n, [address(2), address(3)], 'discovery-1');
    const check = () => {
      let pageToken = '';
      let pages = 0;
      do {
        const page = readPage({ pageSize: 3, pageToken }, engineListing(cluster, { statuses: [], labels: {} }));
        const response: ListEnginesResponse = { engines: page.items, nextPageToken: page.nextPageToken };
        expect(encodeListEnginesResponse(response)).toEqual(Buffer.from(ListEnginesResponse.encode(response).finish()));
        expect(ListEnginesResponse.decode(encodeListEnginesResponse(response))).toEqual(response);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      expect(pages).toBe(3);
    };
    check();
    // Heartbeats move `updated_at` only; a broken stream changes the engine's status and failures.
    await clock.advance(1500);
    agents.end(address(4));
    check();
    expect(encodeListEnginesResponse({ engines: [], nextPageToken: '' })).toHaveLength(0);
  });

  it('is the serializer the cluster service answers ListEngines with', () => {
    const clock = new FakeClock();
    const connector = new FakeAgents();
    const cluster = new Cluster({ connector, clock, random: () => 0.5 });
    const logger = silentLogger;
    const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
    const service = createClusterService({
      cluster,
      containers: new ClusterContainers({ cluster, connector, scheduler, clock }),
      volumes: new ClusterVolumes({ cluster, connector, clock, logger }),
      images: new ClusterImages({ cluster, connector, clock, logger }),
      networks: new ClusterNetworks({ cluster, connector, clock, logger }),
      logger,
    });
    expect(service.definition).toBe(clusterServiceDefinition);
    expect(clusterServiceDefinition.listEngines.responseSerialize).toBe(encodeListEnginesResponse);
    expect(clusterServiceDefinition.listEngines.path).toBe('/flotilla.cluster.v1.ClusterService/ListEngines');
  });
});
