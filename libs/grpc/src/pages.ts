import { InternalError } from '@flotilla/errors';

/**
 * The pages of a paged listing (ListEngines, ListContainers, ...) as they come: reads until a page
 * comes without a `nextPageToken`. A token the server already sent would read the same pages
 * forever, so it is an error instead.
 */
export async function* eachPage<Page extends { nextPageToken: string }>(read: (pageToken: string) => Promise<Page>): AsyncGenerator<Page> {
  const seen = new Set<string>();
  let pageToken = '';
  do {
    const page = await read(pageToken);
    yield page;
    pageToken = page.nextPageToken;
    if (seen.has(pageToken)) throw new InternalError(`the server sent page token ${JSON.stringify(pageToken.slice(0, 64))} twice: the listing is not moving on`);
    seen.add(pageToken);
  } while (pageToken);
}

/** Every page of a paged listing and every item on them (see eachPage). */
export async function readAllPages<Page extends { nextPageToken: string }, T>(
  read: (pageToken: string) => Promise<Page>,
  itemsOf: (page: Page) => readonly T[],
): Promise<{ items: T[]; pages: Page[] }> {
  const items: T[] = [];
  const pages: Page[] = [];
  for await (const page of eachPage(read)) {
    pages.push(page);
    for (const item of itemsOf(page)) items.push(item);
  }
  return { items, pages };
}
