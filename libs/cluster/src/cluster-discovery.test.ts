import { InvalidArgumentError, ResourceExhaustedError } from '@flotilla/errors';
import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { parseGeneration } from './discovery-sources';
import { FakeAgents } from './testing';
import { requestLimits } from './request-limits';

// SyncEngines: generations are checked against the manager's clock, and sources are keyed by the
// discovery identity that pushes them, so no push can wedge a source or touch another's.

const now = 1_700_000_000_000;
const day = requestLimits.generationLeadMs;

function harness() {
  const clock = new FakeClock(now);
  const cluster = new Cluster({ connector: new FakeAgents(), clock, random: () => 0.5 });
  const members = () => cluster.listEngines().map((e) => e.address).sort();
  return { clock, cluster, members };
}

function refusal(work: () => unknown): Error {
  try {
    work();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

const A = '10.0.0.1:4250';
const B = '10.0.0.2:4250';
const C = '10.0.0.3:4250';

describe('generation', () => {
  it('2^64-1 from a discovery caller is refused; a later normal push still applies; another source is unaffected', () => {
    const { cluster, members } = harness();
    cluster.syncEngines('file:///a', BigInt(now), [A], 'discovery-1');
    cluster.syncEngines('file:///b', BigInt(now), [B], 'discovery-1');
    const err = refusal(() => cluster.syncEngines('file:///a', '18446744073709551615', [C], 'discovery-1'));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/^generation "18446744073709551615": more than 24 h ahead of the manager's clock/);
    expect(members()).toEqual([A, B]);
    expect(cluster.syncEngines('file:///a', BigInt(now + 1), [C], 'discovery-1')).toEqual({ added: [C], removed: [A], generation: BigInt(now + 1), unchanged: false });
    expect(members()).toEqual([B, C]);
    expect(cluster.syncEngines('file:///b', BigInt(now), [B], 'discovery-1').unchanged).toBe(true);
    expect(cluster.syncEngines('file:///b', BigInt(now + 1), [], 'discovery-1').removed).toEqual([B]);
  });

  it.each(['', 'abc', '-1', '1.5', '1e9', ' 12', '0x10', '123456789012345678901', '18446744073709551616'])('refuses %j as a generation', (bad) => {
    const { cluster, members } = harness();
    const err = refusal(() => cluster.syncEngines('s', bad, [A]));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/^generation /);
    expect(members()).toEqual([]);
  });

  it('refuses 0: a push always carries a generation', () => {
    expect(() => harness().cluster.syncEngines('s', '0', [A])).toThrow(/^generation "0": must be 1 to 2\^64-1/);
  });

  it('accepts up to 24 h ahead of the clock, and follows the clock as it moves', async () => {
    const { cluster, clock } = harness();
    expect(parseGeneration(String(now + day), now)).toBe(BigInt(now + day));
    expect(() => parseGeneration(String(now + day + 1), now)).toThrow(InvalidArgumentError);
    expect(() => cluster.syncEngines('s', BigInt(now + day + 1), [A])).toThrow(/at most 1700086400000 now/);
    await clock.advance(1);
    expect(cluster.syncEngines('s', BigInt(now + day + 1), [A]).unchanged).toBe(false);
    // Small generations (tests, tools) are always fine.
    expect(cluster.syncEngines('t', 1n, [B]).unchanged).toBe(false);
  });

  it('a refused push records nothing, so the same source goes on as before', () => {
    const { cluster } = harness();
    cluster.syncEngines('s', 10n, [A]);
    expect(() => cluster.syncEngines('s', 20n, [A, 'nope'])).toThrow(/^addresses\[1\] "nope"/);
    expect(cluster.syncEngines('s', 11n, [A, B])).toMatchObject({ added: [B], unchanged: false });
  });
});

describe('sources are keyed by the pushing identity', () => {
  it("one discovery certificate can neither overwrite nor wedge another's source of the same name", () => {
    const { cluster, members } = harness();
    cluster.syncEngines('file:///engines', 100n, [A], 'discovery-a');
    // Another identity pushes the same source name, with a huge generation and another set.
    expect(cluster.syncEngines('file:///engines', BigInt(now), [B], 'discovery-b')).toMatchObject({ added: [B], removed: [] });
    expect(members()).toEqual([A, B]);
    // The first identity's source is neither replaced nor made "older".
    expect(cluster.syncEngines('file:///engines', 101n, [A, C], 'discovery-a')).toEqual({ added: [C], removed: [], generation: 101n, unchanged: false });
    // And the second cannot remove what the first lists.
    expect(cluster.syncEngines('file:///engines', BigInt(now + 1), [A], 'discovery-b').removed).toEqual([B]);
    expect(cluster.syncEngines('file:///engines', BigInt(now + 2), [], 'discovery-b').removed).toEqual([]);
    expect(members()).toEqual([A, C]);
  });

  it('an address two identities list stays until both drop it', () => {
    const { cluster, members } = harness();
    cluster.syncEngines('s', 1n, [A], 'one');
    cluster.syncEngines('s', 1n, [A], 'two');
    expect(cluster.syncEngines('s', 2n, [], 'one').removed).toEqual([]);
    expect(members()).toEqual([A]);
    expect(cluster.syncEngines('s', 2n, [], 'two').removed).toEqual([A]);
  });

  it(`one identity may push at most ${requestLimits.sourcesPerPusher} sources; others are not held back by it`, () => {
    const { cluster } = harness();
    for (let i = 0; i < requestLimits.sourcesPerPusher; i++) cluster.syncEngines(`s${i}`, 1n, [], 'greedy');
    const err = refusal(() => cluster.syncEngines('one-more', 1n, [A], 'greedy'));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toMatch(/already pushes 64 sources/);
    expect(cluster.listEngines()).toHaveLength(0);
    // Its known sources still take pushes, and another identity is not affected.
    expect(cluster.syncEngines('s0', 2n, [A], 'greedy').added).toEqual([A]);
    expect(cluster.syncEngines('one-more', 1n, [B], 'modest').added).toEqual([B]);
  });
});

describe('push sizes', () => {
  it('refuses an oversized source or too many addresses before any work', () => {
    const { cluster } = harness();
    expect(() => cluster.syncEngines('x'.repeat(requestLimits.sourceBytes + 1), 1n, [A])).toThrow(/^source "x{40}…": value is 2049 bytes; at most 2048$/);
    const many = Array.from({ length: requestLimits.syncAddresses + 1 }, () => A);
    expect(() => cluster.syncEngines('s', 1n, many)).toThrow(/^addresses \["10\.0\.0\.1:4250",.*,…\]: 50001 entries; at most 50000$/);
    expect(() => cluster.syncEngines('s', 1n, [`${'h'.repeat(400)}:1`])).toThrow(/^addresses\[0\] "h{40}…": value is 402 bytes; at most 300$/);
    expect(cluster.listEngines()).toHaveLength(0);
  });
});
