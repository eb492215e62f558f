import { InvalidArgumentError } from '@flotilla/errors';
import { affinityFilter } from './affinity-filter';
import { constraintFilter } from './constraint-filter';
import { containerSlotsFilter } from './container-slots-filter';
import { dependencyFilter } from './dependency-filter';
import type { Filter } from './filter';
import { healthFilter } from './health-filter';
import { portFilter } from './port-filter';
import { networkFilter } from './network-filter';
import { volumeFilter } from './volume-filter';
import { whitelistFilter } from './whitelist-filter';

export * from './filter';
export { affinityFilter, constraintFilter, containerSlotsFilter, dependencyFilter, healthFilter, networkFilter, portFilter, volumeFilter, whitelistFilter };
export { addressIp, constraintHolds, constraintValues, nodeIdentities } from './constraint-filter';
export { containerSlotsLabel } from './container-slots-filter';

/** Every filter, in classic Swarm's default order; "volume" and "network" (Flotilla's) beside "dependency". */
export const allFilters: readonly Filter[] = [healthFilter, portFilter, containerSlotsFilter, dependencyFilter, volumeFilter, networkFilter, affinityFilter, constraintFilter, whitelistFilter];
export const filterNames = allFilters.map((f) => f.name);

export function filtersByName(names: readonly string[], field = 'filters'): Filter[] {
  return names.map((name, i) => {
    const f = allFilters.find((x) => x.name === name);
    if (!f) throw InvalidArgumentError.field(`${field}[${i}]`, name, `unknown filter; expected one of ${filterNames.join(', ')}`);
    return f;
  });
}
