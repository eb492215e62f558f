import { StaticEngine, StaticSource, type PlacementRequest } from '@flotilla/scheduler';
import { parseManagerConfig } from './config';
import { schedulerFrom } from './scheduler-config';

const tls = { FLOTILLA_MANAGER_TLS_CA: '/etc/flotilla/ca.crt', FLOTILLA_MANAGER_TLS_CERT: '/etc/flotilla/manager.crt', FLOTILLA_MANAGER_TLS_KEY: '/etc/flotilla/manager.key' };

const request: PlacementRequest = { name: 'web', image: 'app:1', nanoCpus: 1e9, memoryBytes: 0, ports: [], constraints: [], affinities: [], dependencies: [] };

/** Three engines; the first is the fullest, so spread over all of them never picks it. */
function cluster(): StaticSource {
  const engines = ['a', 'b', 'c'].map((id, i) => new StaticEngine(id, `node-${id}`, `10.0.0.${i + 1}:4250`, {}, { nanoCpus: 8e9, memoryBytes: 8 * 2 ** 30 }));
  engines[0].add({ id: 'f'.repeat(64), name: 'busy', nanoCpus: 4e9 });
  return new StaticSource(engines);
}

describe('the scheduler the manager builds from its flags', () => {
  it('weighs every engine by default in a small cluster: spread picks an emptier engine', () => {
    const scheduler = schedulerFrom(parseManagerConfig([], tls));
    expect(scheduler.strategyName).toBe('spread');
    expect(scheduler.place(request, cluster()).engine?.id).toBe('b');
  });

  it('--placement-candidates bounds each decision: with 1, the first decision takes the first engine that fits', () => {
    const scheduler = schedulerFrom(parseManagerConfig(['--placement-candidates', '1'], tls));
    const source = cluster();
    expect([1, 2, 3].map(() => scheduler.place(request, source).engine?.id)).toEqual(['a', 'b', 'c']);
  });

  it('--strategy and --overcommit reach it', () => {
    const scheduler = schedulerFrom(parseManagerConfig(['--strategy', 'binpack', '--overcommit', '0.5'], tls));
    expect(scheduler.strategyName).toBe('binpack');
    expect(scheduler.overcommitRatio).toBe(0.5);
    expect(scheduler.place(request, cluster()).engine?.id).toBe('a');
  });
});
