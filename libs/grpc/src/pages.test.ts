import { InternalError } from '@flotilla/errors';
import { readAllPages } from './pages';

const allPages = async <P extends { nextPageToken: string }, T>(read: (token: string) => Promise<P>, itemsOf: (page: P) => T[]) => (await readAllPages(read, itemsOf)).items;

/** A server's pages of `items`, `size` at a time, with the tokens it was asked with. */
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

describe('readAllPages', () => {
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

  it('stops with an error, not a loop, when the server sends a token again', async () => {
    let calls = 0;
    const stuck = async () => ({ names: [`x${calls++}`], nextPageToken: 'same' });
    await expect(allPages(stuck, (p) => p.names)).rejects.toThrow(InternalError);
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

