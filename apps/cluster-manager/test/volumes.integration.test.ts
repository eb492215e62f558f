import { call } from '@flotilla/grpc';
import type { ClusterServiceClient, ClusterVolume, CreateVolumeRequest } from '@flotilla/proto/cluster';
import { cleanupAll, waitFor, failureOf } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { EventRecorder, startRealCluster, type RealCluster } from './support';

// Two real engines, their agents and a manager: named volumes created, listed, inspected and
// removed on one engine or on every engine, each answer naming its engine.
let cluster: RealCluster;

beforeAll(async () => {
  cluster = await startRealCluster({ count: 2 });
});

afterAll(async () => {
  await cluster?.manager.close();
  await cleanupAll();
});

/** The typed error a call failed with. */
const m = (): ClusterServiceClient => cluster.manager.client;
const createVolume = (fields: Partial<CreateVolumeRequest>) => call(m(), m().createVolume, { name: '', engines: [], allEngines: false, driver: '', labels: {}, driverOpts: {}, ...fields });
/** Every volume whose name contains `name`, page after page of one. */
async function listed(name: string): Promise<ClusterVolume[]> {
  const out: ClusterVolume[] = [];
  let pageToken = '';
  do {
    const page = await call(m(), m().listVolumes, { engines: [], names: [name], labels: {}, pageSize: 1, pageToken });
    out.push(...page.volumes);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}
const onEngine = (i: number) => cluster.engines.docker(cluster.engines.engines[i].name, ['volume', 'ls', '-q']);

it('creates a volume on one engine and on every engine, lists each with its engine, inspects and removes them; the Docker events reach WatchEvents with the engine', async () => {
  const { addresses } = cluster;
  const seen = cluster.manager.process.totalLines;
  const events = new EventRecorder(m().watchEvents({ types: ['volume'], engines: [], containers: [] }));
  await cluster.manager.process.waitForLine(/event subscriber connected/, 30_000, seen);
  try {
    const one = await createVolume({ name: 'vol-one', engines: [addresses[1]], labels: { team: 'a' } });
    expect(one.results).toHaveLength(1);
    expect(one.results[0]).toMatchObject({ engine: { address: addresses[1] }, volume: { name: 'vol-one', driver: 'local', labels: { team: 'a' } }, error: '', unsettled: false });
    expect(await onEngine(1)).toContain('vol-one');
    expect(await onEngine(0)).not.toContain('vol-one');
    const created = await events.nextMatching((r) => r.event?.docker?.action === 'create' && r.event.docker.actorId === 'vol-one', 'the create event of vol-one');
    expect(created.event?.engine?.address).toBe(addresses[1]);

    const all = await createVolume({ name: 'vol-all', allEngines: true });
    expect(all.results.map((r) => [r.engine?.address, r.volume?.name, r.error])).toEqual([...addresses].sort().map((a) => [a, 'vol-all', '']));
    // Creating it again answers the volumes that are there.
    expect((await createVolume({ name: 'vol-all', engines: [addresses[0]] })).results[0]).toMatchObject({ volume: { name: 'vol-all' }, error: '' });

    const volumes = await listed('vol-');
    expect(volumes.map((v) => [v.engine?.address, v.volume?.name]).sort()).toEqual([[addresses[0], 'vol-all'], [addresses[1], 'vol-all'], [addresses[1], 'vol-one']].sort());
    const labelled = await call(m(), m().listVolumes, { engines: [], names: [], labels: { team: '*' }, pageSize: 0, pageToken: '' });
    expect(labelled.volumes.map((v) => v.volume?.name)).toEqual(['vol-one']);

    // On two engines: inspect needs the engine, and the refusal names both.
    const ambiguous = await failureOf(call(m(), m().inspectVolume, { name: 'vol-all', engine: '' }));
    expect(ambiguous.code).toBe(status.FAILED_PRECONDITION);
    for (const a of addresses) expect(ambiguous.message).toContain(a);
    const inspected = await call(m(), m().inspectVolume, { name: 'vol-all', engine: addresses[0] });
    expect(inspected.volume?.engine?.address).toBe(addresses[0]);
    expect(JSON.parse(inspected.rawJson)).toMatchObject({ Name: 'vol-all', Driver: 'local' });
    expect((await call(m(), m().inspectVolume, { name: 'vol-one', engine: '' })).volume?.engine?.address).toBe(addresses[1]);
    const missing = await failureOf(call(m(), m().inspectVolume, { name: 'vol-none', engine: '' }));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.message).toContain('vol-none');

    // Removed from every engine holding it, one result each.
    const removed = await call(m(), m().removeVolume, { name: 'vol-all', engine: '', force: false });
    expect(removed.results.map((r) => [r.engine?.address, r.error])).toEqual([...addresses].sort().map((a) => [a, '']));
    const destroyed = await events.nextMatching((r) => r.event?.docker?.action === 'destroy' && r.event.docker.actorId === 'vol-all', 'a destroy event of vol-all');
    expect(addresses).toContain(destroyed.event?.engine?.address);
    expect((await listed('vol-all')).length).toBe(0);
    expect(await onEngine(0)).not.toContain('vol-all');
    const notThere = await failureOf(call(m(), m().removeVolume, { name: 'vol-one', engine: addresses[0], force: false }));
    expect(notThere.code).toBe(status.NOT_FOUND);
    await call(m(), m().removeVolume, { name: 'vol-one', engine: addresses[1], force: false });
    await waitFor(async () => !(await onEngine(1)).includes('vol-one'), { what: 'vol-one to be gone from its engine' });
  } finally {
    events.cancel();
  }
});

it('refuses bad names, other drivers and driver options, naming the field, and creates nothing', async () => {
  const bad = await failureOf(createVolume({ name: '-bad', allEngines: true }));
  expect(bad.code).toBe(status.INVALID_ARGUMENT);
  expect(bad.violations.map((v) => v.field)).toEqual(['name']);
  const long = await failureOf(createVolume({ name: 'x'.repeat(256), allEngines: true }));
  expect(long.code).toBe(status.INVALID_ARGUMENT);
  expect(long.violations.map((v) => v.field)).toEqual(['name']);
  const inspectBad = await failureOf(call(m(), m().inspectVolume, { name: 'a/b', engine: '' }));
  expect(inspectBad.violations.map((v) => v.field)).toEqual(['name']);
  const driver = await failureOf(createVolume({ name: 'vol-nfs', allEngines: true, driver: 'nfs' }));
  expect(driver.code).toBe(status.INVALID_ARGUMENT);
  expect(driver.violations.map((v) => v.field)).toEqual(['driver']);
  // "local" driver options can bind-mount any host path.
  const options = await failureOf(createVolume({ name: 'vol-etc', allEngines: true, driverOpts: { type: 'none', o: 'bind', device: '/etc' } }));
  expect(options.code).toBe(status.PERMISSION_DENIED);
  expect(options.message).toContain('driver_opts');
  const neither = await failureOf(createVolume({ name: 'vol-nowhere' }));
  expect(neither.code).toBe(status.INVALID_ARGUMENT);
  expect(neither.violations.map((v) => v.field)).toEqual(['engines']);
  const both = await failureOf(createVolume({ name: 'vol-both', engines: [cluster.addresses[0]], allEngines: true }));
  expect(both.code).toBe(status.INVALID_ARGUMENT);
  for (const i of [0, 1]) expect(await onEngine(i)).not.toMatch(/vol-(etc|nfs|nowhere|both)/);
});
