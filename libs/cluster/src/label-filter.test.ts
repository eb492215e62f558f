import { labelsMatch } from './label-filter';

describe('labelsMatch', () => {
  const labels = { zone: 'a', tier: '' };
  it('matches KEY=VALUE and KEY=* on own labels, every one wanted', () => {
    expect(labelsMatch(labels, [])).toBe(true);
    expect(labelsMatch(labels, [['zone', 'a']])).toBe(true);
    expect(labelsMatch(labels, [['tier', '*']])).toBe(true);
    expect(labelsMatch(labels, [['tier', '']])).toBe(true);
    expect(labelsMatch(labels, [['zone', 'b']])).toBe(false);
    expect(labelsMatch(labels, [['zone', 'a'], ['rack', '*']])).toBe(false);
  });

  it('never matches a name every object has through its prototype', () => {
    expect(labelsMatch(labels, [['constructor', '*']])).toBe(false);
    expect(labelsMatch(labels, [['toString', '*']])).toBe(false);
    expect(labelsMatch({}, [['hasOwnProperty', '*']])).toBe(false);
  });
});
