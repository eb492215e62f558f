import { call, dial } from '@flotilla/grpc';
import { ClusterServiceClient, ContainerSpec, type ClusterServiceClient as Client } from '@flotilla/proto/cluster';
import { cleanupAll, failureOf, testTls, waitFor } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { EventRecorder, startRealCluster, type RealCluster } from './support';

// Images through the cluster API: two real engines (each imported busybox:local), an agent
// process beside each and a manager process. Tags and removals are made through the manager and
// checked on the engines themselves.
let cluster: RealCluster;
let reader: Client | undefined;

beforeAll(async () => {
  cluster = await startRealCluster({ count: 2, engineLabels: { 1: { zone: 'a' }, 2: { zone: 'b' } } });
});

afterAll(async () => {
  reader?.close();
  await cluster?.manager.close();
  await cleanupAll();
});

const m = (): Client => cluster.manager.client;
const list = async (references: string[], engines: string[] = []) => (await call(m(), m().listImages, { references, engines, labels: {}, pageSize: 0, pageToken: '' })).images;
const dockerTags = async (engine: string) => (await cluster.engines.docker(engine, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter(Boolean).sort();

it('lists which engines have which image, one entry per engine, as docker images shows them', async () => {
  const busybox = await list(['busybox']);
  expect(busybox.map((i) => i.engine?.address).sort()).toEqual([...cluster.addresses].sort());
  // The engines' script loads one saved image into each engine: one ID everywhere, as after a pull.
  const id = await cluster.engines.docker('engine-1', ['image', 'inspect', '--format', '{{.Id}}', 'busybox:local']);
  for (const entry of busybox) expect(entry.image).toMatchObject({ id, repoTags: ['busybox:local'] });
  expect(await list(['busybox'], [cluster.ids[1]])).toHaveLength(1);
  expect(await list(['busybox:nope'])).toEqual([]);
  const inspected = await call(m(), m().inspectImage, { image: id.slice(7, 19), engine: cluster.addresses[1] });
  expect(inspected.image?.engine?.address).toBe(cluster.addresses[1]);
  expect(JSON.parse(inspected.rawJson)).toMatchObject({ Id: id, RepoTags: ['busybox:local'] });
});

it('tags on every engine holding the image, then removes the tag from one engine only; the Docker events reach WatchEvents with the engine', async () => {
  const seen = cluster.manager.process.totalLines;
  const events = new EventRecorder(m().watchEvents({ types: ['image'], engines: [], containers: [] }));
  await cluster.manager.process.waitForLine(/event subscriber connected/, 30_000, seen);
  const tagged = await call(m(), m().tagImage, { image: 'busybox:local', tag: 'flotilla-test/base:1', engine: '' });
  expect(tagged.results.map((r) => [r.engine?.address, r.error, r.unsettled])).toEqual([...cluster.addresses].sort().map((a) => [a, '', false]));
  // Answered once the streams showed it: listed at once, and on the engines themselves.
  expect(await list(['flotilla-test/base:1'])).toHaveLength(2);
  for (const engine of ['engine-1', 'engine-2']) expect(await dockerTags(engine)).toContain('flotilla-test/base:1');

  const removed = await call(m(), m().removeImage, { image: 'flotilla-test/base:1', engine: cluster.addresses[0], force: false, noPrune: false });
  expect(removed.results).toEqual([expect.objectContaining({ untagged: ['flotilla-test/base:1'], deleted: [], error: '', unsettled: false })]);
  expect(await dockerTags('engine-1')).not.toContain('flotilla-test/base:1');
  expect(await dockerTags('engine-2')).toContain('flotilla-test/base:1');
  expect((await list(['flotilla-test/base'])).map((i) => i.engine?.address)).toEqual([cluster.addresses[1]]);
  // Each engine's "tag", and the one engine's "untag", each annotated with its engine.
  for (const address of cluster.addresses) await events.nextMatching((r) => r.event?.docker?.action === 'tag' && r.event.engine?.address === address, `the tag event of ${address}`);
  const untag = await events.nextMatching((r) => r.event?.docker?.action === 'untag', 'the untag event');
  expect(untag.event?.engine?.address).toBe(cluster.addresses[0]);
  events.cancel();

  // Without an engine: every engine that still has it.
  const rest = await call(m(), m().removeImage, { image: 'flotilla-test/base:1', engine: '', force: false, noPrune: false });
  expect(rest.results.map((r) => r.engine?.address)).toEqual([cluster.addresses[1]]);
  expect(await list(['flotilla-test/base'])).toEqual([]);
  expect(await dockerTags('engine-2')).toEqual(['busybox:local']);
});

it('reports an engine whose Docker refuses the removal, and keeps the image there', async () => {
  // An image of its own, so removing it would delete it, which a container's use forbids.
  await cluster.engines.docker('engine-1', ['tag', 'busybox:local', 'flotilla-test/used:1']);
  await waitFor(async () => (await list(['flotilla-test/used:1'])).length === 1, { what: 'the manager to see the new tag' });
  const spec = ContainerSpec.fromPartial({ name: 'img-user', image: 'flotilla-test/used:1', command: ['sleep', '300'], networkMode: 'none', constraints: ['zone==a'] });
  await call(m(), m().createContainer, { spec, start: false, requestId: '' });
  const id = await cluster.engines.docker('engine-1', ['image', 'inspect', '--format', '{{.Id}}', 'busybox:local']);
  const refused = await call(m(), m().removeImage, { image: id, engine: cluster.addresses[0], force: false, noPrune: false });
  expect(refused.results[0].error).toMatch(/^FAILED_PRECONDITION: /);
  expect(await dockerTags('engine-1')).toContain('flotilla-test/used:1');
  await call(m(), m().removeContainer, { container: 'img-user', force: true, volumes: false });
  expect((await call(m(), m().removeImage, { image: 'flotilla-test/used:1', engine: '', force: false, noPrune: false })).results[0]).toMatchObject({ untagged: ['flotilla-test/used:1'], error: '' });
});

it('refuses bad input naming the field and the value, and a reader may list and inspect only', async () => {
  const cases: Array<[Promise<unknown>, number, string, string]> = [
    [call(m(), m().inspectImage, { image: 'a/../../containers/json', engine: '' }), status.INVALID_ARGUMENT, 'image', '..'],
    [call(m(), m().removeImage, { image: 'busybox?force=1', engine: '', force: false, noPrune: false }), status.INVALID_ARGUMENT, 'image', 'busybox?force=1'],
    [call(m(), m().tagImage, { image: 'busybox:local', tag: 'Upper/Case', engine: '' }), status.INVALID_ARGUMENT, 'tag', 'Upper/Case'],
    [call(m(), m().tagImage, { image: 'busybox:local', tag: 'x:-bad', engine: '' }), status.INVALID_ARGUMENT, 'tag', '-bad'],
    [call(m(), m().inspectImage, { image: 'no-such-image:1', engine: '' }), status.NOT_FOUND, 'no-such-image:1', 'in the cluster'],
    [call(m(), m().removeImage, { image: 'busybox:local', engine: '127.0.0.1:1', force: false, noPrune: false }), status.NOT_FOUND, 'engine', '127.0.0.1:1'],
    [call(m(), m().listImages, { engines: [''], references: [], labels: {}, pageSize: 0, pageToken: '' }), status.INVALID_ARGUMENT, 'engines[0]', '""'],
  ];
  for (const [attempt, code, field, value] of cases) {
    const err = await failureOf(attempt);
    expect({ code: err.code, field: err.message.includes(field), value: err.message.includes(value) }).toEqual({ code, field: true, value: true });
  }
  expect(await dockerTags('engine-1')).toEqual(['busybox:local']);

  reader = dial(ClusterServiceClient, cluster.manager.address, { tls: testTls('reader'), defaultDeadlineMs: 20_000 });
  const r = reader;
  expect((await call(r, r.listImages, { engines: [], references: [], labels: {}, pageSize: 0, pageToken: '' })).images.length).toBe(2);
  expect((await call(r, r.inspectImage, { image: 'busybox:local', engine: '' })).rawJson).not.toBe('');
  for (const attempt of [call(r, r.tagImage, { image: 'busybox:local', tag: 'reader/x', engine: '' }), call(r, r.removeImage, { image: 'busybox:local', engine: '', force: true, noPrune: false })]) {
    expect((await failureOf(attempt)).code).toBe(status.PERMISSION_DENIED);
  }
  expect(await dockerTags('engine-2')).toEqual(['busybox:local']);
});
