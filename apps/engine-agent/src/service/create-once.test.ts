import { ResourceExhaustedError } from '@flotilla/errors';
import { requestIdLabel } from '@flotilla/proto';
import { CreateOnce, type Created } from './create-once';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('CreateOnce', () => {
  it('joins a create in flight with the same request ID, and finds one already made afterwards', async () => {
    const made: string[] = [];
    const onEngine: string[] = [];
    const once = new CreateOnce(async () => [...onEngine]);
    const docker = deferred<Created>();
    const create = () => {
      made.push('x');
      return docker.promise;
    };
    const labels = { [requestIdLabel]: 'r1' };
    const first = once.create(labels, create);
    const second = once.create(labels, create);
    await new Promise((r) => setImmediate(r));
    docker.resolve({ id: 'c1', warnings: ['w'] });
    onEngine.push('c1');
    expect(await first).toEqual({ id: 'c1', warnings: ['w'] });
    expect(await second).toEqual({ id: 'c1', warnings: ['w'] });
    expect(once.pending).toBe(0);
    expect(await once.create(labels, create)).toEqual({ id: 'c1', warnings: [] });
    expect(made).toHaveLength(1);
  });

  it('creates every time without a request ID, and forgets a failed create so a retry tries again', async () => {
    const once = new CreateOnce(async () => []);
    let n = 0;
    expect((await once.create({}, async () => ({ id: `c${++n}`, warnings: [] }))).id).toBe('c1');
    expect((await once.create({}, async () => ({ id: `c${++n}`, warnings: [] }))).id).toBe('c2');
    await expect(once.create({ [requestIdLabel]: 'r' }, async () => Promise.reject(new Error('docker down')))).rejects.toThrow('docker down');
    expect((await once.create({ [requestIdLabel]: 'r' }, async () => ({ id: 'c3', warnings: [] }))).id).toBe('c3');
  });

  it('bounds the creates in flight', async () => {
    const once = new CreateOnce(async () => [], 2);
    const never = () => new Promise<Created>(() => undefined);
    void once.create({ [requestIdLabel]: 'a' }, never);
    void once.create({ [requestIdLabel]: 'b' }, never);
    expect(() => once.create({ [requestIdLabel]: 'c' }, never)).toThrow(ResourceExhaustedError);
  });
});
