import { InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { Container, Image } from '@flotilla/proto';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { ClusterImages } from './cluster-images';
import { engineSnapshot, FakeAgents } from './testing';

const addresses = ['10.0.0.1:4250', '10.0.0.2:4250', '10.0.0.3:4250'];
const hex = (c: string) => `sha256:${c.repeat(64)}`;
const image = (id: string, repoTags: string[], labels: Record<string, string> = {}) => Image.fromPartial({ id, repoTags, labels, sizeBytes: '1000' });

function setup() {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock });
  const images = new ClusterImages({ cluster, connector: agents, clock, settleTimeoutMs: 1000 });
  addresses.forEach((address, i) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(`ID${i}`, { name: `node-${i}` }));
  });
  // busybox on every engine, app only on the second.
  for (const address of addresses) agents.addImage(address, image(hex('a'), ['busybox:local', 'busybox:1.36']));
  agents.addImage(addresses[1], image(hex('b'), ['registry.local:5000/team/app:v1'], { team: 'a' }));
  return { agents, cluster, images, clock };
}

const noFilter = { engines: [], references: [], labels: {} };

describe('ClusterImages', () => {
  it('lists one entry per engine holding an image, by engine address then ID, filtered as docker images reads a name', () => {
    const { images } = setup();
    const all = images.list(noFilter);
    expect(all.map((i) => [i.engine?.address, i.image?.id])).toEqual([
      [addresses[0], hex('a')],
      [addresses[1], hex('a')],
      [addresses[1], hex('b')],
      [addresses[2], hex('a')],
    ]);
    const named = (references: string[]) => images.list({ ...noFilter, references }).map((i) => `${i.engine?.name} ${i.image?.id.slice(7, 9)}`);
    expect(named(['busybox'])).toEqual(['node-0 aa', 'node-1 aa', 'node-2 aa']);
    expect(named(['registry.local:5000/team/app'])).toEqual(['node-1 bb']);
    expect(named(['busybox:2'])).toEqual([]);
    expect(named([`sha256:bbb`])).toEqual(['node-1 bb']);
    // A short hex word is a name, not an ID prefix.
    expect(named(['bbb'])).toEqual([]);
    expect(images.list({ ...noFilter, labels: { team: 'a' } })).toHaveLength(1);
    expect(images.list({ ...noFilter, labels: { constructor: '*' } })).toEqual([]);
    expect(images.list({ ...noFilter, engines: ['node-2'] })).toHaveLength(1);
    expect(() => images.list({ ...noFilter, engines: ['node-9'] })).toThrow(NotFoundError);
  });

  it('inspects on the engine named or the first healthy holder, and on a down engine answers the last known image', async () => {
    const { images, agents } = setup();
    expect(await images.inspect('registry.local:5000/team/app:v1', '')).toMatchObject({ image: { engine: { address: addresses[1] }, image: { id: hex('b') } }, rawJson: expect.stringContaining(hex('b')) });
    agents.end(addresses[0]);
    expect((await images.inspect('busybox:local', '')).image.engine?.address).toBe(addresses[1]);
    expect(await images.inspect('busybox:local', addresses[0])).toMatchObject({ image: { image: { id: hex('a') } }, rawJson: '' });
    await expect(images.inspect('app:v1', '')).rejects.toThrow('no image "app:v1" in the cluster');
    await expect(images.inspect('registry.local:5000/team/app:v1', 'node-2')).rejects.toThrow(`no image "registry.local:5000/team/app:v1" on engine ${addresses[2]}`);
    await expect(images.inspect('a/../../containers/x', '')).rejects.toThrow(InvalidArgumentError);
  });

  it('tags and removes on every engine holding the image, answering once each stream shows it, one result per engine', async () => {
    const { images, agents } = setup();
    const tagged = await images.tag('busybox:local', 'team/base:1', '');
    expect(tagged.map((r) => [r.engine?.address, r.error, r.unsettled])).toEqual(addresses.map((a) => [a, '', false]));
    expect(images.list({ ...noFilter, references: ['team/base:1'] })).toHaveLength(3);

    // One engine: only there.
    const untagged = await images.remove('team/base:1', 'node-1', false, false);
    expect(untagged).toEqual([expect.objectContaining({ untagged: ['team/base:1'], deleted: [], error: '' })]);
    expect(images.list({ ...noFilter, references: ['team/base'] }).map((i) => i.engine?.address)).toEqual([addresses[0], addresses[2]]);

    // A container uses the image on one engine: that engine fails, the others go on.
    agents.engine(addresses[2]).containers.set('c1', Container.fromPartial({ id: 'c1', names: ['c1'], imageId: hex('b') }));
    agents.addImage(addresses[2], image(hex('b'), ['registry.local:5000/team/app:v1']));
    const removed = await images.remove('registry.local:5000/team/app:v1', '', false, false);
    expect(removed.map((r) => [r.engine?.address, r.deleted, r.error.split(':')[0]])).toEqual([
      [addresses[1], [hex('b')], ''],
      [addresses[2], [], 'FAILED_PRECONDITION'],
    ]);
    await expect(images.remove('registry.local:5000/team/app:v1', 'node-1', false, false)).rejects.toThrow(NotFoundError);
    await expect(images.remove('nothing:here', '', false, false)).rejects.toThrow('no image "nothing:here" in the cluster');
    await expect(images.tag('busybox:local', 'Bad:Tag', '')).rejects.toThrow(/^tag "Bad:Tag"/);
  });

  it('says unsettled when an engine stream never shows the change, and an engine that is down fails alone', async () => {
    const { images, agents, clock } = setup();
    agents.engine(addresses[0]).quiet = true;
    agents.end(addresses[2]);
    const tagging = images.tag('busybox:local', 'quiet:1', '');
    await clock.advance(1000);
    const results = await tagging;
    expect(results.map((r) => [r.engine?.address, r.unsettled, r.error.split(':')[0]])).toEqual([
      [addresses[0], true, ''],
      [addresses[1], false, ''],
      [addresses[2], false, 'FAILED_PRECONDITION'],
    ]);
    expect(results[2].error).toContain('unhealthy');
  });
});
