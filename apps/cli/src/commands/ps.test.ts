import { UsageError } from '../errors';
import { containerFilters } from './ps';

describe('ps filters', () => {
  it('take node= as classic Swarm users wrote it, the same as engine=', () => {
    expect(containerFilters(['node=node-1', 'engine=127.0.0.1:4251', 'status=running', 'label=app=web', 'name=we'])).toEqual({
      engines: ['node-1', '127.0.0.1:4251'],
      states: ['running'],
      labels: { app: 'web' },
      names: ['we'],
    });
  });

  it('refuse an unknown key or an empty value, naming node among the known ones', () => {
    expect(() => containerFilters(['nodes=x'])).toThrow(new UsageError('--filter "nodes=x": unknown filter "nodes"; known: engine (or node), label, status, name'));
    expect(() => containerFilters(['node='])).toThrow(UsageError);
  });
});
