import { ResourceExhaustedError } from '@flotilla/errors';
import { engineLimitDefaults } from './request-limits';

/** How many engines the cluster may hold (see engineLimitDefaults for why each limit applies where it does). */
export interface EngineLimits {
  /** Every engine, pending or not (--max-engines). */
  maxEngines: number;
  /** Pending engines added by hand (--max-pending-engines). */
  maxPendingEngines: number;
}

export const defaultEngineLimits: EngineLimits = { ...engineLimitDefaults };

/** Refuses `adding` more engines when the cluster would then hold more than --max-engines. */
export function checkEngineRoom(engines: number, adding: number, limits: EngineLimits, what = 'the engine'): void {
  if (adding <= 0 || engines + adding <= limits.maxEngines) return;
  throw new ResourceExhaustedError(
    `the cluster holds ${engines} engines and may hold at most ${limits.maxEngines} (--max-engines); adding ${what} would make ${engines + adding}. Remove engines or raise --max-engines`,
  );
}

/** Refuses one more pending engine by hand past --max-pending-engines. */
export function checkPendingRoom(pendingByHand: number, limits: EngineLimits): void {
  if (pendingByHand < limits.maxPendingEngines) return;
  throw new ResourceExhaustedError(
    `${pendingByHand} engines added by hand are pending, the most allowed (--max-pending-engines ${limits.maxPendingEngines}); remove those that will never validate, wait for them to validate, or raise --max-pending-engines`,
  );
}
