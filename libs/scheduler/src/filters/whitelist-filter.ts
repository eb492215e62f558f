import type { Filter } from './filter';

/** Create-retry's whitelist: only engines not tried yet. */
export const whitelistFilter: Filter = {
  name: 'whitelist',
  applies: (request) => Boolean(request.whitelist || request.excluded?.size),
  reject(engine, request) {
    const failed = request.excluded?.get(engine.id);
    if (failed !== undefined) return `already tried: ${failed}`;
    if (request.whitelist && !request.whitelist.has(engine.id)) return 'not in the whitelist';
    return null;
  },
};
