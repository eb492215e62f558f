/**
 * Why one entry cannot be used. It never leaves the parser: the entry becomes a problem with its
 * position, and the rest of the set still applies.
 */
export class EntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryError';
  }
}
