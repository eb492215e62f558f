// Micro-benchmark of ListEngines / ListContainers page building (readPage over the service's
// listings), in process, on fake agents; outside testMatch, so no test run picks it up:
//   source tools/node.sh && BENCH_ENGINES=5000 npx jest -c apps/cluster-manager/jest.config.js \
//     --rootDir apps/cluster-manager --testMatch '**/bench/listings.bench.ts'
// It prints median and p99 per page (the response's own encoding, done by gRPC, is not in it).
// Every engine heartbeats between pages, as they do live. BENCH_PARTS=1 times the parts of a page.
import { Cluster, ClusterContainers, engineViewBuilds, engineViewBytes, type EngineFilter } from '@flotilla/cluster';
import { engineSnapshot, FakeAgents } from '@flotilla/cluster/testing';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import type { Container } from '@flotilla/proto';
import { ClusterEngine, ListEnginesResponse } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { containerListing, engineListing } from '../src/service/listings';
import { readPage, type Listing } from '../src/service/paging';

const engines = Number(process.env.BENCH_ENGINES ?? 5000);
const perEngine = Number(process.env.BENCH_CONTAINERS ?? 30);
let listingsOf = Number(process.env.BENCH_LISTINGS ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 0);

function container(id: string, i: number): Container {
  return {
    id,
    names: [`c-${id.slice(0, 12)}`],
    image: 'busybox:local',
    imageId: 'sha256:busybox',
    command: ['sleep', '3600'],
    state: i % 3 === 0 ? 'exited' : 'running',
    status: 'Up',
    labels: { app: `app-${i % 5}`, team: 'bench' },
    nanoCpus: '100000000',
    cpuShares: '0',
    memoryBytes: String(64 * 1024 * 1024),
    portBindings: [],
    networkMode: 'default',
    exitCode: 0,
    restartPolicy: 'no',
  };
}

/** The listing as it was before the address index and the cached views: both sorts and an encode per item, every page. */
function legacyEngineListing(cluster: Cluster, filter: EngineFilter): Listing<ClusterEngine> {
  return {
    name: 'ListEngines',
    arity: 1,
    *items(after) {
      const engines = cluster.listEngines(filter).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
      for (const engine of engines) {
        if (after && engine.address <= after[0]) continue;
        yield cluster.view(engine);
      }
    },
    key: (e) => [e.address],
    bytes: (e) => ClusterEngine.encode(e).finish().length,
  };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return `n=${s.length} median ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms`;
};

it(`pages of ${engines} engines × ${perEngine} containers`, () => {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, maxEngines: engines + 10, maxPendingEngines: engines + 10 });
  const addresses: string[] = [];
  // Addresses added out of order, as a discovery push lists them.
  for (let k = 0; k < engines; k++) {
    const i = (k * 7919) % engines;
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:4250`;
    addresses.push(address);
    cluster.addEngine(address);
    const containers = Array.from({ length: perEngine }, (_, j) => container(hex(i, 8) + hex(j, 56), j));
    agents.streams[agents.streams.length - 1].listener.message({ sequence: String(++agents.streams[agents.streams.length - 1].sequence), message: { $case: 'snapshot', value: engineSnapshot(`E${hex(i, 8)}`, { name: `node-${i}`, labels: { zone: 'abc'[i % 3], rack: `r${i % 40}` }, containers }) } });
  }
  expect(cluster.engines.size).toBe(engines);
  // FakeAgents.send looks its stream up among all of them; straight to each stream here.
  const streams = agents.open();
  expect(streams).toHaveLength(engines);
  const heartbeats = () => {
    for (const s of streams) s.listener.message({ sequence: String(++s.sequence), message: { $case: 'heartbeat', value: { time: undefined, intervalMs: 1000 } } });
  };

  const run = <T>(what: string, listing: () => Listing<T>, expectItems: number, encode?: (items: T[], nextPageToken: string) => unknown) => {
    const times: number[] = [];
    const encoded: number[] = [];
    let builds = 0;
    let items = 0;
    // BENCH_WARMUP listings first, untimed (views cached, code optimised).
    for (let l = -warmup; l < listingsOf; l++) {
      let pageToken = '';
      items = 0;
      do {
        const b = engineViewBuilds();
        const t = performance.now();
        const page = readPage({ pageSize: 500, pageToken }, listing());
        if (l >= 0) builds += engineViewBuilds() - b;
        if (l >= 0) times.push(performance.now() - t);
        if (encode) {
          encode(page.items, page.nextPageToken);
          if (l >= 0) encoded.push(performance.now() - t);
        }
        items += page.items.length;
        pageToken = page.nextPageToken;
        clock.advance(1000);
        heartbeats();
      } while (pageToken);
    }
    expect(items).toBe(expectItems);
    console.log(`${what}: ${stats(times)}; ${builds} engine views built${encode ? `\n  with the response encoded, as gRPC does: ${stats(encoded)}` : ''}`);
  };
  const response = (engines: ClusterEngine[], nextPageToken: string) => ListEnginesResponse.encode({ engines, nextPageToken }).finish();
  if (process.env.BENCH_PARTS) {
    const time = (what: string, fn: () => void) => {
      const ts: number[] = [];
      for (let k = 0; k < 50; k++) {
        const t = performance.now();
        fn();
        ts.push(performance.now() - t);
      }
      console.log(`${what}: ${stats(ts)}`);
    };
    const page = cluster.listEngines({ afterAddress: '', limit: 500 });
    time('listEngines 500', () => cluster.listEngines({ afterAddress: '', limit: 500 }));
    time('view 500', () => page.forEach((e) => cluster.view(e)));
    const views = page.map((e) => cluster.view(e));
    time('bytes 500', () => views.forEach((v) => engineViewBytes(v)));
    time('encode 500 (before)', () => views.forEach((v) => ClusterEngine.encode(v).finish().length));
    time('healthScore 500', () => page.forEach((e) => cluster.health(e)));
  }
  if (process.env.BENCH_LEGACY) run('ListEngines, 500-engine pages, as pages were read before the index (sorts, encodes every item)', () => legacyEngineListing(cluster, {}), engines, response);
  run('ListEngines, 500-engine pages', () => engineListing(cluster, {}), engines, response);
  run('ListEngines zone=a, 500-engine pages', () => engineListing(cluster, { labels: { zone: 'a' } }), Math.ceil(engines / 3));
  run('ListEngines healthy, 500-engine pages', () => engineListing(cluster, { statuses: ['healthy'] }), engines);
  const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler, clock });
  const all = { all: true, engines: [], states: [], labels: {}, names: [] };

  listingsOf = 1;
  run('ListContainers (all), 500-container pages, 1 listing', () => containerListing(cluster, containers, all), engines * perEngine);
});
