import { InternalError } from '@flotilla/errors';

/**
 * Every page of a paged listing (ListEngines, ListContainers): reads until a page comes without a
 * `nextPageToken`. A token the server already sent would read the same pages forever, so it is
 * an error instead.
 */
export async function readAllPages<Page extends { nextPageToken: string }, T>(
  read: (pageToken: string) => Promise<Page>,
  itemsOf: (page: Page) => readonly T[],
): Promise<{ items: T[]; pages: Page[] }> {
  const items: T[] = [];
  const pages: Page[] = [];
  const seen = new Set<string>();
  let pageToken = '';
  do {
    const page = await read(pageToken);
    pages.push(page);
    for (const item of itemsOf(page)) items.push(item);
    pageToken = page.nextPageToken;
    if (seen.has(pageToken)) throw new InternalError(`the server sent page token ${JSON.stringify(pageToken.slice(0, 64))} twice: the listing is not moving on`);
    seen.add(pageToken);
  } while (pageToken);
  return { items, pages };
}
