import { allFilters } from './filters';
import { placementRequestFrom, type PlacementInput } from './placement-request';
import { Scheduler } from './scheduler';
import { StaticEngine, StaticSource } from './static-engine';
import { spreadStrategy } from './strategies';

/*
 * Regression: `foo==/(a+)+$/` against a 29-character label value blocked the manager's event
 * loop for 8 s with JavaScript's backtracking RegExp (and 10,000 characters would never finish).
 * With RE2 semantics each verdict is linear in the value; these tests assert the verdicts only.
 */

function input(overrides: Partial<PlacementInput>): PlacementInput {
  return { name: 'new', image: 'app:1', env: [], labels: {}, nanoCpus: 0, memoryBytes: 0, portBindings: [], networkMode: '', constraints: [], affinities: [], strategy: '', ...overrides };
}

const scheduler = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0.05 });

function engine(id: string, labels: Record<string, string>, containerLabels?: Record<string, string>): StaticEngine {
  const e = new StaticEngine(id, `node-${id}`, `${id}.example:4250`, labels, { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 });
  if (containerLabels) e.add({ id: `${id}`.padEnd(64, '0'), name: `c-${id}`, image: 'app:1', labels: containerLabels });
  return e;
}

describe.each([
  ['29 "a"s', 29],
  ['10,000 "a"s', 10_000],
])('/(a+)+$/ against %s followed by "!"', (_, n) => {
  const evil = `${'a'.repeat(n)}!`;
  const good = 'a'.repeat(n);

  it('as a constraint: the engine whose label ends in "!" is rejected, the other chosen', () => {
    const bad = engine('bad', { foo: evil });
    const ok = engine('ok', { foo: good });
    const source = new StaticSource([bad, ok]);
    const { request } = placementRequestFrom(input({ constraints: ['foo==/(a+)+$/'] }));
    expect(scheduler.place(request, source).engine).toBe(ok);
    const explained = scheduler.explain(request, source);
    expect(explained.engine).toBe(ok);
    const verdict = explained.verdicts?.find((v) => v.engine === bad);
    expect(verdict?.filter).toBe('constraint');
    expect(verdict?.reason).toMatch(/^constraint foo==\/\(a\+\)\+\$\/ does not hold/);
    // Negated, soft, and from the classic env entry: the same verdict turned around or kept.
    expect(scheduler.place(placementRequestFrom(input({ constraints: ['foo!=/(a+)+$/'] })).request, source).engine).toBe(bad);
    expect(scheduler.place(placementRequestFrom(input({ constraints: ['foo==~/(a+)+$/'] })).request, source).engine).toBe(ok);
    expect(scheduler.place(placementRequestFrom(input({ env: ['constraint:foo==/(a+)+$/'] })).request, source).engine).toBe(ok);
    // Only the engine that fails it: no placement.
    expect(scheduler.place(request, new StaticSource([bad])).engine).toBeUndefined();
  });

  it('as an affinity: the engine whose container label ends in "!" is rejected, the other chosen', () => {
    const bad = engine('bad', {}, { foo: evil });
    const ok = engine('ok', {}, { foo: good });
    const source = new StaticSource([bad, ok]);
    const { request } = placementRequestFrom(input({ affinities: ['foo==/(a+)+$/'] }));
    expect(scheduler.place(request, source).engine).toBe(ok);
    const explained = scheduler.explain(request, source);
    const verdict = explained.verdicts?.find((v) => v.engine === bad);
    expect(verdict?.filter).toBe('affinity');
    expect(verdict?.reason).toBe('affinity foo==/(a+)+$/ does not hold');
    expect(scheduler.place(placementRequestFrom(input({ affinities: ['foo!=/(a+)+$/'] })).request, source).engine).toBe(bad);
    expect(scheduler.place(placementRequestFrom(input({ env: ['affinity:foo==/(a+)+$/'] })).request, source).engine).toBe(ok);
    expect(scheduler.place(request, new StaticSource([bad])).engine).toBeUndefined();
  });
});

it('a glob with many stars decides a 10,000-character label (a backtracking RegExp would not finish)', () => {
  const value = 'a'.repeat(10_000);
  const bad = engine('bad', { foo: `${value}!` });
  const ok = engine('ok', { foo: `${value}b` });
  const { request } = placementRequestFrom(input({ constraints: ['foo==*a*a*a*a*a*a*b'] }));
  expect(scheduler.place(request, new StaticSource([bad, ok])).engine).toBe(ok);
});
