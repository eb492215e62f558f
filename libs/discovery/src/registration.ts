import { silentLogger, type Logger } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import { backoffDelay, systemClock, type Clock } from '@flotilla/time';
import type { Registrar } from './registrar';

export interface RegistrationOptions {
  clock?: Clock;
  logger?: Logger;
  /** How often health is checked while not registered, so registration follows promptly. Default min(heartbeat, 1 s). */
  pollMs?: number;
  random?: () => number;
}

export interface Registration {
  /** True while the last renewal is younger than the TTL. */
  readonly registered: boolean;
  /** Stops renewing; with `deregister`, removes the entry now instead of after its TTL. */
  stop(options?: { deregister?: boolean }): Promise<void>;
}

/**
 * Keeps `address` registered in the backend, as `swarm join --advertise --heartbeat --ttl` did,
 * but only while `isHealthy()` holds: an engine that is down (or whose agent is gone) is not
 * renewed, so it leaves the set once its TTL runs out. Renewals never overlap; failed ones are
 * retried with back-off, no slower than the heartbeat.
 */
export function register(
  registrar: Registrar,
  address: string,
  heartbeatMs: number,
  ttlMs: number,
  isHealthy: () => boolean,
  options: RegistrationOptions = {},
): Registration {
  if (!(heartbeatMs > 0)) throw InvalidArgumentError.field('heartbeat', heartbeatMs, 'must be positive');
  if (!(ttlMs > heartbeatMs)) throw InvalidArgumentError.field('ttl', ttlMs, `must be longer than the heartbeat (${heartbeatMs} ms), or entries lapse between renewals`);
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? silentLogger).child({ discovery: registrar.source, address });
  const pollMs = options.pollMs ?? Math.min(heartbeatMs, 1000);
  const random = options.random ?? Math.random;
  let renewedAt: number | undefined;
  let nextAttemptAt = 0;
  let failures = 0;
  let healthy: boolean | undefined;
  let busy: Promise<void> | undefined;
  let stopped = false;

  const attempt = async (): Promise<void> => {
    try {
      const outcome = await registrar.register(address, ttlMs);
      if (stopped) return;
      renewedAt = clock.now();
      nextAttemptAt = renewedAt + heartbeatMs;
      if (outcome === 'registered') logger.info('registered in discovery', { ttlMs, heartbeatMs });
      else logger.debug('discovery registration renewed');
      if (failures > 0) logger.info('discovery registration works again', { failures });
      failures = 0;
    } catch (err) {
      const delay = Math.min(heartbeatMs, backoffDelay(failures, { initialMs: pollMs, maxMs: heartbeatMs }, random));
      failures++;
      nextAttemptAt = clock.now() + delay;
      (failures === 1 ? logger.warn : logger.debug)('discovery registration failed; retrying', { error: (err as Error).message, retryInMs: delay });
    }
  };

  const tick = (): void => {
    if (stopped || busy) return;
    const nowHealthy = isHealthy();
    if (nowHealthy !== healthy) {
      if (!nowHealthy && healthy !== undefined) logger.warn('not renewing the discovery registration while the Docker engine is unreachable; it lapses after the TTL', { ttlMs });
      healthy = nowHealthy;
    }
    if (!nowHealthy || clock.now() < nextAttemptAt) return;
    busy = attempt().finally(() => {
      busy = undefined;
    });
  };

  const timer = clock.setInterval(tick, pollMs);
  tick();

  return {
    get registered() {
      return renewedAt !== undefined && clock.now() - renewedAt < ttlMs;
    },
    async stop(stopOptions = {}) {
      stopped = true;
      timer.cancel();
      await busy;
      if (stopOptions.deregister) await registrar.deregister(address);
    },
  };
}
