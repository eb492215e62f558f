import { Cluster, ClusterContainers, engineViewBuilds } from '@flotilla/cluster';
import { engineSnapshot, FakeAgents } from '@flotilla/cluster/testing';
import type { Container } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';
import { ClusterEngine } from '@flotilla/proto/cluster';
import { allFilters, Scheduler, spreadStrategy } from '@flotilla/scheduler';
import { FakeClock } from '@flotilla/time';
import { containerListing, engineListing } from './listings';
import { compareKeys, encodePageToken, readPage, type Listing } from './paging';

type Message = NonNullable<WatchResponse['message']>;

const heartbeat: Message = { $case: 'heartbeat', value: { time: undefined, intervalMs: 1000 } };
const address = (n: number) => `10.0.${n >> 8}.${n & 255}:4250`;
const codeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function container(id: string, state = 'running'): Container {
  return { id, names: [`c-${id}`], image: 'busybox', imageId: 'sha256:busybox', command: [], state, status: 'Up', labels: {}, nanoCpus: '0', cpuShares: '0', memoryBytes: '0', portBindings: [], networkMode: 'default', exitCode: 0, restartPolicy: 'no' };
}

function harness(engines: number, perEngine = 2) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5 });
  const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
  const containers = new ClusterContainers({ cluster, connector: agents, scheduler, clock });
  const add = (n: number) => {
    cluster.addEngine(address(n));
    agents.snapshot(address(n), engineSnapshot(`E${n}`, { name: `node-${n}`, labels: { zone: 'abc'[n % 3] }, containers: Array.from({ length: perEngine }, (_, j) => container(`${n}-${j}`)) }));
  };
  // Joined out of address order.
  for (let k = 0; k < engines; k++) add((k * 7) % engines);
  return { clock, agents, cluster, containers, add };
}

/** Every page of a listing; `between` runs after each page but the last. */
function pages<T>(listing: () => Listing<T>, pageSize: number, between: (page: number) => void = () => undefined): T[][] {
  const out: T[][] = [];
  let pageToken = '';
  do {
    const page = readPage({ pageSize, pageToken }, listing());
    out.push(page.items);
    pageToken = page.nextPageToken;
    if (pageToken) between(out.length);
    if (out.length > 1000) throw new Error('the listing does not end');
  } while (pageToken);
  return out;
}

describe('engineListing', () => {
  it('pages every engine once, by address, with the filters, and sizes each as it encodes', () => {
    const { cluster } = harness(50);
    const all = pages(() => engineListing(cluster, {}), 7);
    expect(all.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    const listed = all.flat().map((e) => e.address);
    expect(listed).toEqual(Array.from({ length: 50 }, (_, n) => address(n)).sort(codeUnits));
    const zoneA = pages(() => engineListing(cluster, { labels: { zone: 'a' }, statuses: ['healthy'] }), 4).flat();
    expect(zoneA.map((e) => e.address)).toEqual(cluster.listEngines({ labels: { zone: 'a' } }).map((e) => e.address).sort(codeUnits));
    const listing = engineListing(cluster, {});
    for (const e of all.flat()) expect(listing.bytes(e)).toBe(ClusterEngine.encode(e).finish().length);
  });

  it('continues from a token that names an address no engine has any more, as tokens always did', () => {
    const { cluster } = harness(20);
    const gone = address(5);
    cluster.removeEngine(gone);
    const page = readPage({ pageSize: 3, pageToken: encodePageToken('ListEngines', [gone]) }, engineListing(cluster, {}));
    expect(page.items.map((e) => e.address)).toEqual(Array.from({ length: 20 }, (_, n) => address(n)).sort(codeUnits).filter((a) => a > gone).slice(0, 3));
    expect(page.nextPageToken).toBe(encodePageToken('ListEngines', [page.items[2].address]));
  });

  it('builds no view again for heartbeats between pages, and shows a container change on the next page', () => {
    const { agents, clock, cluster } = harness(30);
    // Every view built once.
    pages(() => engineListing(cluster, {}), 10);
    const before = engineViewBuilds();
    const seen = pages(() => engineListing(cluster, {}), 10, () => {
      clock.advance(1000);
      for (let n = 0; n < 30; n++) agents.send(address(n), heartbeat);
    });
    expect(engineViewBuilds()).toBe(before);
    // The heartbeats show, as updatedAt.
    expect(seen.at(-1)![0].updatedAt!.getTime()).toBe(clock.now());
    const last = seen.at(-1)![0].address;
    agents.send(last, { $case: 'container', value: { event: undefined, container: container('new', 'paused'), removed: false } });
    const again = pages(() => engineListing(cluster, {}), 10).flat();
    expect(engineViewBuilds()).toBe(before + 1);
    expect(again.find((e) => e.address === last)!.containers).toEqual({ running: 2, paused: 1, stopped: 0, total: 3 });
  });

  it('neither skips nor repeats an engine present throughout while engines join and leave between pages', () => {
    const { cluster, add } = harness(40);
    const initial = Array.from({ length: 40 }, (_, n) => address(n));
    const touched = new Set<string>();
    let next = 40;
    const seen = pages(() => engineListing(cluster, {}), 6, (page) => {
      const victim = initial[(page * 13) % 40];
      if (cluster.findEngine(victim)) {
        cluster.removeEngine(victim);
        touched.add(victim);
      }
      add(next);
      touched.add(address(next++));
    })
      .flat()
      .map((e) => e.address);
    for (let i = 1; i < seen.length; i++) expect(seen[i - 1] < seen[i]).toBe(true);
    expect(initial.filter((a) => !touched.has(a) && !seen.includes(a))).toEqual([]);
  });
});

describe('containerListing', () => {
  const all = { all: true, engines: [], states: [], labels: {}, names: [] };

  it('pages every container of the validated engines once, by engine address then ID, across engines that join and leave', () => {
    const { cluster, containers, add } = harness(25, 3);
    cluster.addEngine('10.9.9.9:4250'); // pending: no containers listed
    const expected = Array.from({ length: 25 }, (_, n) => n)
      .sort((a, b) => codeUnits(address(a), address(b)))
      .flatMap((n) => [0, 1, 2].map((j) => `${address(n)} ${n}-${j}`));
    const key = (c: { engine?: { address: string }; container?: { id: string } }) => `${c.engine?.address} ${c.container?.id}`;
    expect(pages(() => containerListing(cluster, containers, all), 4).flat().map(key)).toEqual(expected);
    // Engines come and go between pages.
    const touched = new Set<string>();
    let next = 25;
    const seen = pages(
      () => containerListing(cluster, containers, all),
      5,
      (page) => {
        const victim = address((page * 11) % 25);
        if (cluster.findEngine(victim)) {
          cluster.removeEngine(victim);
          touched.add(victim);
        }
        add(next);
        touched.add(address(next++));
      },
    )
      .flat()
      .map(key);
    // Strictly increasing by (engine address, container ID), as page keys compare.
    for (let i = 1; i < seen.length; i++) expect(compareKeys(seen[i - 1].split(' '), seen[i].split(' '))).toBeLessThan(0);
    expect(expected.filter((k) => !touched.has(k.split(' ')[0]) && !seen.includes(k))).toEqual([]);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
