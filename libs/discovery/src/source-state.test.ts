import { FailedPreconditionError } from '@flotilla/errors';
import { FakeClock } from '@flotilla/time';
import { SourceState } from './source-state';

const entries = (addresses: string[], problems: { position: string; entry: string; error: string }[] = []) => ({ kind: 'entries' as const, entries: { addresses, problems } });

describe('SourceState', () => {
  it('starts the generation at the clock and grows it by one per change of the set', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const state = new SourceState('file:///x', clock);
    expect(state.snapshot()).toMatchObject({ generation: 0n, addresses: [], updatedAt: undefined });
    expect(state.apply(entries([]))).toMatchObject({ addressesChanged: true, added: [], removed: [] });
    expect(state.snapshot().generation).toBe(1_700_000_000_000n);
    expect(state.apply(entries(['a:1', 'b:1']))).toMatchObject({ addressesChanged: true, added: ['a:1', 'b:1'], removed: [] });
    expect(state.apply(entries(['b:1', 'a:1']))).toMatchObject({ addressesChanged: false, changed: true });
    expect(state.apply(entries(['b:1', 'a:1']))).toMatchObject({ addressesChanged: false, changed: false });
    expect(state.apply(entries(['b:1', 'c:1']))).toMatchObject({ addressesChanged: true, added: ['c:1'], removed: ['a:1'] });
    expect(state.snapshot().generation).toBe(1_700_000_000_002n);
  });

  it('keeps the last good set through errors, and clears the error on the next good read', async () => {
    const clock = new FakeClock();
    const state = new SourceState('file:///x', clock);
    state.apply(entries(['a:1'], [{ position: 'line 2', entry: 'x', error: 'bad' }]));
    const before = state.snapshot();
    await clock.advance(1000);
    expect(state.apply({ kind: 'error', error: new FailedPreconditionError('cannot read /x: the file is missing') })).toMatchObject({ addressesChanged: false, changed: true });
    expect(state.apply({ kind: 'error', error: new FailedPreconditionError('cannot read /x: the file is missing') })).toMatchObject({ changed: false });
    expect(state.snapshot()).toMatchObject({ generation: before.generation, addresses: ['a:1'], problems: before.problems, sourceError: 'cannot read /x: the file is missing' });
    expect(state.snapshot().updatedAt?.getTime()).toBe(clock.now());
    expect(state.apply(entries(['a:1']))).toMatchObject({ addressesChanged: false, changed: true });
    expect(state.snapshot()).toMatchObject({ generation: before.generation, sourceError: '', problems: [] });
  });

  it('passes a generation a manager already holds, and only then', () => {
    const state = new SourceState('s', new FakeClock(1000));
    expect(state.passGeneration(5000n)).toBe(false);
    state.apply(entries(['a:1']));
    expect(state.passGeneration(999n)).toBe(false);
    expect(state.passGeneration(1000n)).toBe(false);
    expect(state.passGeneration(5000n)).toBe(true);
    expect(state.snapshot().generation).toBe(5001n);
  });
});
