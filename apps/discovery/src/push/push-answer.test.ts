import fc from 'fast-check';
import { followableLeadMs, readAnswer } from './push-answer';

const now = 1_700_000_000_000;
const ours = BigInt(now);
const res = (generation: string, unchanged: boolean) => ({ added: [], removed: [], generation, unchanged });

describe('readAnswer', () => {
  it('takes our own generation, applied now or before', () => {
    expect(readAnswer(res(String(ours), false), ours, now, 0)).toEqual({ kind: 'taken', held: ours });
    expect(readAnswer(res(String(ours), true), ours, now, 0)).toEqual({ kind: 'taken', held: ours });
  });

  it('follows a newer generation up to 24 h ahead of the clock, and not twice in a row', () => {
    const held = BigInt(now + followableLeadMs - 1);
    expect(readAnswer(res(String(held), true), ours, now, 0)).toEqual({ kind: 'newer', held });
    expect(readAnswer(res(String(held + 1n), true), ours, now, 0).kind).toBe('unexpected');
    expect(readAnswer(res(String(ours + 1n), true), ours, now, 1).kind).toBe('unexpected');
  });

  it('never throws and never follows what it cannot push, whatever the answer', () => {
    const generation = fc.oneof(fc.string(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.constantFrom('18446744073709551615', '18446744073709551614', ''));
    fc.assert(
      fc.property(generation, fc.boolean(), fc.nat(3), (g, unchanged, follows) => {
        const answer = readAnswer(res(g, unchanged), ours, now, follows);
        if (answer.kind === 'newer') {
          expect(answer.held + 1n).toBeLessThanOrEqual(BigInt(now + followableLeadMs));
          expect(follows).toBe(0);
        }
        if (answer.kind === 'taken') expect(answer.held).toBe(ours);
      }),
      { numRuns: 500 },
    );
  });
});
