import { filtersByName, Scheduler, strategyByName } from '@flotilla/scheduler';
import type { ManagerConfig } from './config';

/** The manager's scheduler, as its flags set it (--filters, --strategy, --overcommit, --placement-candidates). */
export function schedulerFrom(config: Pick<ManagerConfig, 'filters' | 'strategy' | 'overcommitRatio' | 'placementCandidates'>): Scheduler {
  return new Scheduler({ filters: filtersByName(config.filters), strategy: strategyByName(config.strategy), overcommitRatio: config.overcommitRatio, candidates: config.placementCandidates });
}
