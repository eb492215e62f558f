import { errorCodeName, FlotillaError } from '@flotilla/errors';
import type { Engine } from './engine';

/** Engines in address order, as per-engine results and listings are given. */
export const byAddress = (a: Engine, b: Engine) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/** "STATUS: message", as a per-engine result carries a failure. */
export function failure(err: unknown): string {
  if (err instanceof FlotillaError) return `${errorCodeName(err.code)}: ${err.message}`;
  return `UNKNOWN: ${err instanceof Error ? err.message : String(err)}`;
}
