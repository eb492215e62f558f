import { ClusterActivity } from './cluster-activity';

describe('ClusterActivity', () => {
  it('counts events by type, engine events by action, and every unknown type as "other"', () => {
    const activity = new ClusterActivity();
    activity.eventPublished('container', 'start');
    activity.eventPublished('container', 'die');
    activity.eventPublished('engine', 'reconnect');
    for (let i = 0; i < 1000; i++) activity.eventPublished(`made-up-${i}`, 'x');
    expect(Object.fromEntries(activity.eventsByType)).toEqual({ container: 2, engine: 1, other: 1000 });
    expect(Object.fromEntries(activity.engineEventsByAction)).toEqual({ reconnect: 1 });
  });

  it('counts placements by outcome, and a refusal once under each filter that rejected an engine', () => {
    const activity = new ClusterActivity();
    activity.placementDecided({ placed: true, rejectedBy: [] });
    activity.placementDecided({ placed: false, rejectedBy: ['constraint', 'constraint', 'resources'] });
    activity.placementDecided({ placed: false, rejectedBy: ['constraint', 'no-such-filter'] });
    expect(activity.placed).toBe(1);
    expect(activity.refused).toBe(2);
    expect(Object.fromEntries(activity.refusalsByFilter)).toEqual({ constraint: 2, resources: 1, other: 1 });
  });
});
