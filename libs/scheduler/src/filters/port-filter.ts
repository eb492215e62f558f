import { portKey } from '../placement-engine';
import type { Filter } from './filter';

const anyIp = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';

/** A requested host port already bound on the engine (any state, or being created) excludes it; binding all interfaces clashes with any IP. */
export const portFilter: Filter = {
  name: 'port',
  applies: (request) => request.ports.length > 0,
  reject(engine, request) {
    for (const p of request.ports) {
      const users = engine.hostPortUsers((p.key ??= portKey(p.hostPort, p.protocol)));
      if (!users) continue;
      if (anyIp(p.hostIp) || users.some((ip) => anyIp(ip) || ip === p.hostIp)) {
        return `host port ${p.hostIp ? `${p.hostIp}:` : ''}${portKey(p.hostPort, p.protocol)} is already bound (by ${users.map((ip) => ip || '0.0.0.0').join(', ')})`;
      }
    }
    return null;
  },
};
