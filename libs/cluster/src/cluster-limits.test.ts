import { InvalidArgumentError, ResourceExhaustedError } from '@flotilla/errors';
import { FakeClock } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import { FakeAgents, engineSnapshot } from './testing';
import { engineLimitDefaults } from './request-limits';

// How many engines the cluster takes: --max-engines for every engine, --max-pending-engines for
// pending engines added by hand. A refusal changes nothing.

function harness(options: Partial<ClusterOptions> = {}) {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, random: () => 0.5, ...options });
  const members = () => [...cluster.listEngines()].map((e) => `${e.address}/${e.status}`).sort();
  const healthy = (address: string, id: string) => {
    cluster.addEngine(address);
    agents.snapshot(address, engineSnapshot(id));
    expect(cluster.engines.get(id)?.status).toBe('healthy');
  };
  return { clock, agents, cluster, members, healthy };
}

const bogus = (i: number) => `bogus-${i}.invalid:${4000 + (i % 1000)}`;

function refusal(work: () => unknown): Error {
  try {
    work();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

describe('pending engines added by hand (--max-pending-engines)', () => {
  it('10,000 AddEngine calls with bogus addresses: the limit kicks in with RESOURCE_EXHAUSTED naming it, and nothing already there is lost', () => {
    const { cluster, agents, members, healthy } = harness();
    healthy('10.0.0.1:4250', 'REAL');
    let accepted = 0;
    const refusals: Error[] = [];
    for (let i = 0; i < 10_000; i++) {
      try {
        if (cluster.addEngine(bogus(i))) accepted++;
      } catch (err) {
        refusals.push(err as Error);
      }
    }
    expect(accepted).toBe(engineLimitDefaults.maxPendingEngines);
    expect(refusals).toHaveLength(10_000 - engineLimitDefaults.maxPendingEngines);
    expect(refusals.every((e) => e instanceof ResourceExhaustedError)).toBe(true);
    expect(refusals[0].message).toMatch(/1000 engines added by hand are pending.*--max-pending-engines 1000/);
    // The healthy engine and every accepted pending one are still there; no refused one got in.
    expect(cluster.engines.get('REAL')?.status).toBe('healthy');
    expect(cluster.pendingEngines.size).toBe(engineLimitDefaults.maxPendingEngines);
    expect(cluster.findEngine(bogus(9_999))).toBeUndefined();
    expect(members()).toHaveLength(engineLimitDefaults.maxPendingEngines + 1);
    // Refused addresses never opened a stream.
    expect(agents.streams).toHaveLength(engineLimitDefaults.maxPendingEngines + 1);
  });

  it('adding a known address is never refused, and a pending engine that validates or is removed makes room', () => {
    const { cluster, agents } = harness({ maxPendingEngines: 2 });
    cluster.addEngine('10.0.0.1:1');
    cluster.addEngine('10.0.0.2:1');
    expect(refusal(() => cluster.addEngine('10.0.0.3:1'))).toBeInstanceOf(ResourceExhaustedError);
    expect(cluster.addEngine('10.0.0.1:1')).toBe(false);
    agents.snapshot('10.0.0.1:1', engineSnapshot('E1'));
    expect(cluster.addEngine('10.0.0.3:1')).toBe(true);
    cluster.removeEngine('10.0.0.2:1');
    expect(cluster.addEngine('10.0.0.4:1')).toBe(true);
  });

  it("discovery's pending engines do not count against it: a first push of 10,000 new engines applies at once", () => {
    const { cluster } = harness();
    cluster.addEngine('10.0.0.1:1');
    const addresses = Array.from({ length: 10_000 }, (_, i) => `10.1.${i >> 8}.${i & 255}:4250`);
    const result = cluster.syncEngines('etcd://e:2379/flotilla', 1n, addresses);
    expect(result.added).toHaveLength(10_000);
    expect(cluster.pendingEngines.size).toBe(10_001);
    // Hand-added pending engines are still counted on their own.
    expect(cluster.addEngine('10.0.0.2:1')).toBe(true);
  });
});

describe('every engine (--max-engines)', () => {
  it('refuses an AddEngine past it with RESOURCE_EXHAUSTED naming the flag', () => {
    const { cluster, members } = harness({ maxEngines: 3 });
    cluster.syncEngines('s', 1n, ['10.0.0.1:1', '10.0.0.2:1']);
    cluster.addEngine('10.0.0.3:1');
    const before = members();
    const err = refusal(() => cluster.addEngine('10.0.0.4:1'));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toMatch(/holds 3 engines and may hold at most 3 \(--max-engines\)/);
    expect(members()).toEqual(before);
  });

  it('refuses a whole push that would pass it, applying none of it (removals neither) and recording no generation', () => {
    const { cluster, members } = harness({ maxEngines: 4 });
    cluster.addEngine('10.0.0.9:1');
    cluster.syncEngines('s', 1n, ['10.0.0.1:1', '10.0.0.2:1']);
    const before = members();
    const err = refusal(() => cluster.syncEngines('s', 2n, ['10.0.0.3:1', '10.0.0.4:1', '10.0.0.5:1', '10.0.0.6:1']));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toMatch(/--max-engines/);
    expect(err.message).toMatch(/the 4 new engines of this push would make 5/);
    expect(members()).toEqual(before);
    // The refused generation was not recorded: a smaller push with it applies.
    expect(cluster.syncEngines('s', 2n, ['10.0.0.3:1', '10.0.0.4:1', '10.0.0.5:1'])).toMatchObject({ unchanged: false, removed: ['10.0.0.1:1', '10.0.0.2:1'] });
    expect(cluster.listEngines()).toHaveLength(4);
  });

  it('counts what a push removes before what it adds', () => {
    const { cluster } = harness({ maxEngines: 2 });
    cluster.syncEngines('s', 1n, ['10.0.0.1:1', '10.0.0.2:1']);
    expect(cluster.syncEngines('s', 2n, ['10.0.0.3:1', '10.0.0.4:1'])).toMatchObject({ added: ['10.0.0.3:1', '10.0.0.4:1'], removed: ['10.0.0.1:1', '10.0.0.2:1'] });
  });
});

describe('AddEngine sizes', () => {
  it('refuses an oversized address with INVALID_ARGUMENT naming the field and the limit, showing only its start', () => {
    const { cluster } = harness();
    const err = refusal(() => cluster.addEngine(`${'a'.repeat(100_000)}:4250`));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/^address "a{40}…": value is 100005 bytes; at most 300$/);
    expect(cluster.listEngines()).toHaveLength(0);
  });
});
