import type { ClusterEvent } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { FakeAgents, recordingLogger } from './testing';

// Memberships and the discovery grace: an engine is in the cluster by hand (AddEngine, --engine)
// and/or because discovery sources list it; it leaves when none is left, or at once by
// RemoveEngine. A discovery identity that stops pushing loses its sources after the grace.

const now = 1_700_000_000_000;
const graceMs = 60_000;
const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';
const C = '10.0.0.3:4250';

function harness() {
  const clock = new FakeClock(now);
  const logger = recordingLogger();
  const cluster = new Cluster({ connector: new FakeAgents(), clock, logger, random: () => 0.5, discoveryGraceMs: graceMs });
  const members = () => cluster.listEngines().map((e) => e.address).sort();
  const membership = (address: string) => {
    const { addedByHand, discoverySources } = cluster.view(cluster.getEngine(address));
    return { addedByHand, discoverySources };
  };
  const removals: string[] = [];
  const events = cluster.subscribe({ types: ['engine'], engines: [], containers: [] });
  // The loop ends with an error when stop() closes the subscription.
  void (async () => {
    for await (const e of events as AsyncIterable<ClusterEvent>) if (e.action === 'removed') removals.push(e.engine!.address);
  })().catch(() => undefined);
  return { clock, cluster, logger, members, membership, removals };
}

describe('memberships', () => {
  it('AddEngine on a discovery engine adds the manual membership beside the source; the push dropping it keeps it', () => {
    const { cluster, members, membership } = harness();
    cluster.syncEngines('file:///a', 1n, [A, B], 'discovery-1');
    expect(membership(A)).toEqual({ addedByHand: false, discoverySources: ['discovery-1 file:///a'] });
    expect(cluster.addEngine(A)).toBe(false);
    expect(membership(A)).toEqual({ addedByHand: true, discoverySources: ['discovery-1 file:///a'] });
    expect(cluster.syncEngines('file:///a', 2n, [], 'discovery-1').removed).toEqual([B]);
    expect(members()).toEqual([A]);
    expect(membership(A)).toEqual({ addedByHand: true, discoverySources: [] });
  });

  it('an engine added by hand and then listed shows both; a source without identity shows the source alone', () => {
    const { cluster, membership } = harness();
    expect(cluster.addEngine(A)).toBe(true);
    expect(membership(A)).toEqual({ addedByHand: true, discoverySources: [] });
    cluster.syncEngines('nodes://x', 1n, [A]);
    cluster.syncEngines('file:///b', 1n, [A], 'discovery-2');
    expect(membership(A)).toEqual({ addedByHand: true, discoverySources: ['discovery-2 file:///b', 'nodes://x'] });
  });

  it('RemoveEngine removes the engine whatever its memberships', () => {
    const { cluster, members } = harness();
    cluster.syncEngines('file:///a', 1n, [A], 'discovery-1');
    cluster.addEngine(A);
    const removed = cluster.removeEngine(A);
    expect(members()).toEqual([]);
    expect(removed).toMatchObject({ address: A, addedByHand: false, discoverySources: [] });
  });
});

describe('--discovery-grace', () => {
  it('a silent identity loses its sources after the grace: engines only they listed leave, hand-added and elsewhere-listed ones stay', async () => {
    const { clock, cluster, logger, members, membership, removals } = harness();
    cluster.syncEngines('file:///a', 1n, [A, B, C], 'old-discovery');
    cluster.addEngine(B);
    await clock.advance(graceMs / 2);
    cluster.syncEngines('file:///c', 1n, [C], 'new-discovery');
    await clock.advance(graceMs / 2);
    expect(members()).toEqual([A, B, C]);
    await clock.advance(1);
    expect(members()).toEqual([B, C]);
    expect(removals).toEqual([A]);
    expect(membership(B)).toEqual({ addedByHand: true, discoverySources: [] });
    expect(membership(C)).toEqual({ addedByHand: false, discoverySources: ['new-discovery file:///c'] });
    const line = logger.lines.find((l) => l.message.startsWith('discovery source expired'));
    expect(line?.fields).toMatchObject({ pusher: 'old-discovery', source: 'file:///a', removed: 1, graceMs });
    // The other identity expires on its own schedule.
    await clock.advance(graceMs / 2);
    expect(members()).toEqual([B]);
    cluster.stop();
  });

  it('re-pushes keep every source of the identity alive, unchanged ones too', async () => {
    const { clock, cluster, members } = harness();
    cluster.syncEngines('file:///a', 1n, [A], 'discovery-1');
    cluster.syncEngines('file:///b', 1n, [B], 'discovery-1');
    for (let i = 0; i < 5; i++) {
      await clock.advance(graceMs / 2);
      expect(cluster.syncEngines('file:///a', 1n, [A], 'discovery-1').unchanged).toBe(true);
    }
    expect(members()).toEqual([A, B]);
    await clock.advance(graceMs + 1);
    expect(members()).toEqual([]);
  });

  it('a restarted discovery pushing again after expiry adds its engines anew (its generation is forgotten)', async () => {
    const { clock, cluster, members } = harness();
    cluster.syncEngines('file:///a', 5n, [A], 'discovery-1');
    await clock.advance(graceMs + 1);
    expect(members()).toEqual([]);
    expect(cluster.syncEngines('file:///a', 5n, [A], 'discovery-1')).toMatchObject({ added: [A], unchanged: false });
    expect(members()).toEqual([A]);
  });

  it('stop clears the grace timer', () => {
    const { clock, cluster } = harness();
    cluster.syncEngines('file:///a', 1n, [A], 'discovery-1');
    expect(clock.pending).toBeGreaterThan(0);
    cluster.stop();
    expect(clock.pending).toBe(0);
  });
});
