import { startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { call, dial, silentLogger, type Security } from '@flotilla/grpc';
import { ClusterServiceClient, ListContainersRequest, ListContainersResponse, ListEnginesRequest, type ClusterContainer } from '@flotilla/proto/cluster';
import { waitFor, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { parseManagerConfig } from '../src/config';
import { startManager, type RunningManager } from '../src/manager';
import { readAllPages } from '@flotilla/grpc';
import { allEngines } from './support';

// ListEngines and ListContainers a page at a time, against the real manager and three real agents
// over hollow engines, all in this process: 1,200 containers per engine, so a listing takes pages.
const perEngine = 1200;
const MiB = 1024 * 1024;
const insecure: Security = { kind: 'insecure' };

interface Hollow {
  backend: HollowDockerBackend;
  agent: RunningAgent;
  address: string;
  ids: string[];
}

let engines: Hollow[] = [];
let manager: RunningManager;
let client: ClusterServiceClient;

const key = (c: ClusterContainer) => `${c.engine?.address} ${c.container?.id}`;
/** What the engines hold, in the listing's order: engine address, then container ID (code units). */
const expectedKeys = () => [...engines].sort((a, b) => (a.address < b.address ? -1 : 1)).flatMap((e) => [...e.ids].sort().map((id) => `${e.address} ${id}`));

/** Every page of a listing, as the manager answered them. */
async function pagesOf<Page extends { nextPageToken: string }>(read: (pageToken: string) => Promise<Page>): Promise<Page[]> {
  return (await readAllPages(read, () => [])).pages;
}

const containerPages = (query: Omit<Partial<ListContainersRequest>, 'pageToken'>) =>
  pagesOf((pageToken) => call(client, client.listContainers, ListContainersRequest.fromPartial({ ...query, pageToken })));


beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const backend = new HollowDockerBackend({ name: `paged-${i}` });
    const ids: string[] = [];
    for (let j = 0; j < perEngine; j++) ids.push((await backend.createContainer({ Image: 'busybox:local', Labels: { app: `app-${j % 5}` }, HostConfig: {} })).id);
    const agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: insecure });
    engines.push({ backend, agent, address: `127.0.0.1:${agent.port}`, ids });
  }
  const config = parseManagerConfig(['--listen', '127.0.0.1:0', '--insecure', '--engine', engines.map((e) => e.address).join(',')], {});
  manager = await startManager({ ...config, security: insecure }, silentLogger);
  client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`);
  await waitFor(
    async () => {
      const info = await call(client, client.getInfo, {});
      return info.engineCounts?.healthy === 3 && info.containers?.total === 3 * perEngine;
    },
    { what: `3 healthy engines with ${3 * perEngine} containers` },
  );
});

afterAll(async () => {
  client?.close();
  await manager?.stop(1000);
  await Promise.all(engines.map((e) => e.agent.stop(1000)));
  engines = [];
});

it('pages 3 engines × 1,200 containers 500 at a time, by engine address then container ID', async () => {
  const pages = await containerPages({ all: true });
  expect(pages.map((p) => p.containers.length)).toEqual([500, 500, 500, 500, 500, 500, 500, 100]);
  expect(pages.map((p) => Boolean(p.nextPageToken))).toEqual([true, true, true, true, true, true, true, false]);
  expect(pages.flatMap((p) => p.containers.map(key))).toEqual(expectedKeys());
});

it('pages within the filters, up to 1000 a page', async () => {
  const one = engines[1];
  const pages = await containerPages({ all: true, engines: [one.address], pageSize: 1000 });
  expect(pages.map((p) => p.containers.length)).toEqual([1000, 200]);
  expect(pages.flatMap((p) => p.containers.map((c) => c.container?.id))).toEqual([...one.ids].sort());
  const labelled = (await containerPages({ all: true, labels: { app: 'app-0' }, pageSize: 1000 })).flatMap((p) => p.containers);
  expect(labelled).toHaveLength(3 * (perEngine / 5));
  expect(labelled.every((c) => c.container?.labels.app === 'app-0')).toBe(true);
});

it('pages ListEngines by address, and GetInfo lists no engine', async () => {
  const addresses = engines.map((e) => e.address).sort();
  const pages = await pagesOf((pageToken) => call(client, client.listEngines, ListEnginesRequest.fromPartial({ pageSize: 2, pageToken })));
  expect(pages.map((p) => p.engines.map((e) => e.address))).toEqual([addresses.slice(0, 2), addresses.slice(2)]);
  expect((await allEngines(client)).map((e) => e.address)).toEqual(addresses);
  const info = await call(client, client.getInfo, {});
  expect(info.engines).toEqual([]);
  // The count, not the list: all three engines (healthy again should a loaded machine have delayed a heartbeat).
  await waitFor(async () => ((await call(client, client.getInfo, {})).engineCounts?.healthy === 3 ? true : undefined), { what: 'GetInfo counting 3 healthy engines' });
});

it('answers a bad page size or token with INVALID_ARGUMENT naming the field', async () => {
  const tooBig = await failureOf(call(client, client.listContainers, ListContainersRequest.fromPartial({ pageSize: 1001 })));
  expect(tooBig.code).toBe(status.INVALID_ARGUMENT);
  expect(tooBig.message).toMatch(/^page_size 1001: /);
  const garbage = await failureOf(call(client, client.listContainers, ListContainersRequest.fromPartial({ pageToken: 'bm90LWEtdG9rZW4' })));
  expect(garbage.code).toBe(status.INVALID_ARGUMENT);
  expect(garbage.message).toMatch(/^page_token "bm90LWEtdG9rZW4": /);
  // A ListEngines token is not a ListContainers token.
  const { nextPageToken } = await call(client, client.listEngines, ListEnginesRequest.fromPartial({ pageSize: 1 }));
  const crossed = await failureOf(call(client, client.listContainers, ListContainersRequest.fromPartial({ pageToken: nextPageToken })));
  expect(crossed.code).toBe(status.INVALID_ARGUMENT);
  expect(crossed.message).toMatch(/^page_token /);
  expect((await failureOf(call(client, client.listEngines, ListEnginesRequest.fromPartial({ pageSize: 5000 })))).message).toMatch(/^page_size 5000: /);
});

it('stops a page of containers with big labels before 2 MiB, so ps -a works however big they are', async () => {
  // Just under the 64 KiB of labels an agent passes on for one container: 40 of them pass 2 MiB.
  const big = { huge: 'x'.repeat(60_000) };
  const made: string[] = [];
  for (let i = 0; i < 40; i++) {
    const e = engines[i % 3];
    const { id } = await e.backend.createContainer({ name: `big-${i}`, Image: 'busybox:local', Labels: big, HostConfig: {} });
    e.ids.push(id);
    made.push(id);
  }
  await waitFor(async () => (await call(client, client.getInfo, {})).containers?.total === 3 * perEngine + made.length, { what: 'the manager to hold the big containers' });
  const bigPages = await containerPages({ all: true, names: ['big-'], pageSize: 1000 });
  expect(bigPages.flatMap((p) => p.containers.map((c) => c.container?.labels.huge.length))).toEqual(made.map(() => 60_000));
  expect(bigPages.flatMap((p) => p.containers.map((c) => c.container?.id)).sort()).toEqual([...made].sort());
  expect(bigPages.length).toBeGreaterThan(1);
  const itemBytes = ListContainersResponse.encode({ containers: bigPages[0].containers.slice(0, 1), nextPageToken: '' }).finish().length;
  for (const [i, p] of bigPages.entries()) {
    const bytes = ListContainersResponse.encode(p).finish().length;
    expect(bytes).toBeLessThanOrEqual(2 * MiB);
    // Each page but the last is as full as the limit allows.
    if (i < bigPages.length - 1) expect(bytes + itemBytes).toBeGreaterThan(2 * MiB);
  }
  // Every container, big ones among them: every page stays under 2 MiB, nothing is lost.
  const pages = await containerPages({ all: true });
  for (const p of pages) expect(ListContainersResponse.encode(p).finish().length).toBeLessThanOrEqual(2 * MiB);
  expect(pages.flatMap((p) => p.containers.map(key))).toEqual(expectedKeys());
});

it('neither skips nor repeats a container while others come and go between pages', async () => {
  const before = new Set(expectedKeys());
  const touched = new Set<string>();
  const seen: string[] = [];
  let pageToken = '';
  for (let page = 0; ; page++) {
    const answer = await call(client, client.listContainers, ListContainersRequest.fromPartial({ all: true, pageSize: 300, pageToken }));
    seen.push(...answer.containers.map(key));
    pageToken = answer.nextPageToken;
    if (!pageToken) break;
    // Between pages, on every engine two containers go (anywhere in the order) and one comes.
    for (const e of engines) {
      for (const victim of [e.ids[page], e.ids[e.ids.length - 1 - page]]) {
        await e.backend.removeContainer(victim, true);
        e.ids.splice(e.ids.indexOf(victim), 1);
        touched.add(`${e.address} ${victim}`);
      }
      const { id } = await e.backend.createContainer({ Image: 'busybox:local', HostConfig: {} });
      e.ids.push(id);
      touched.add(`${e.address} ${id}`);
    }
  }
  // In strict order (so nothing twice), and every container present throughout is there.
  for (let i = 1; i < seen.length; i++) expect(seen[i - 1] < seen[i]).toBe(true);
  const listed = new Set(seen);
  const throughout = [...before].filter((k) => !touched.has(k));
  expect(throughout.length).toBeGreaterThan(3 * perEngine - 200);
  expect(throughout.filter((k) => !listed.has(k))).toEqual([]);
});
