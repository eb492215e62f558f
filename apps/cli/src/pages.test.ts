import { ClusterEngine } from '@flotilla/proto';
import { CliError } from './errors';
import { allPages, inNameOrder } from './pages';

/** A manager's pages of `items`, `size` at a time, with the tokens it was asked with. */
function pagedServer(items: string[], size: number) {
  const asked: string[] = [];
  const read = async (pageToken: string) => {
    asked.push(pageToken);
    const from = pageToken ? Number(pageToken) : 0;
    const next = from + size < items.length ? String(from + size) : '';
    return { names: items.slice(from, from + size), nextPageToken: next };
  };
  return { read, asked };
}

describe('allPages', () => {
  it('reads every page, passing each token back, until a page comes without one', async () => {
    const items = Array.from({ length: 2345 }, (_, i) => `c${i}`);
    const server = pagedServer(items, 1000);
    expect(await allPages(server.read, (p) => p.names)).toEqual(items);
    expect(server.asked).toEqual(['', '1000', '2000']);
  });

  it('reads one page when everything fits, and nothing when there is nothing', async () => {
    const one = pagedServer(['a', 'b'], 1000);
    expect(await allPages(one.read, (p) => p.names)).toEqual(['a', 'b']);
    expect(one.asked).toEqual(['']);
    expect(await allPages(pagedServer([], 1000).read, (p) => p.names)).toEqual([]);
  });

  it('stops with an error, not a loop, when the manager sends a token again', async () => {
    let calls = 0;
    const stuck = async () => ({ names: [`x${calls++}`], nextPageToken: 'same' });
    await expect(allPages(stuck, (p) => p.names)).rejects.toThrow(CliError);
    expect(calls).toBe(2);
  });

  it('passes a failed page on', async () => {
    const failing = async (pageToken: string) => {
      if (pageToken) throw new Error('page_token "x": is not a next_page_token of ListEngines');
      return { names: ['a'], nextPageToken: 'x' };
    };
    await expect(allPages(failing, (p) => p.names)).rejects.toThrow(/page_token/);
  });
});

describe('inNameOrder', () => {
  it('orders engines by name, the address standing in for a missing name, then by address, as engine ls always showed them', () => {
    const engine = (name: string, address: string) => ClusterEngine.fromPartial({ name, address });
    const engines = [engine('zeta', '10.0.0.1:4250'), engine('', '10.0.0.3:4250'), engine('alpha', '10.0.0.9:4250'), engine('alpha', '10.0.0.2:4250'), engine('Beta', '10.0.0.4:4250')];
    expect(inNameOrder(engines).map((e) => e.address)).toEqual(['10.0.0.3:4250', '10.0.0.2:4250', '10.0.0.9:4250', '10.0.0.4:4250', '10.0.0.1:4250']);
    // The listing it was given is left as it was.
    expect(engines[0].name).toBe('zeta');
  });
});
