import { FlotillaError, UnavailableError } from '@flotilla/errors';
import { backoffDelay, pause } from './backoff';
import { cancelledByCaller, ClientReason, connectionLost, deadlineWhileConnecting, failureKind, unreachable, unreachableInTime, type TryFailure } from './failures';
import type { ManagerChannel, ManagerPool } from './managers';
import type { ResolvedOptions } from './options';

export interface TryPlan {
  /** Absolute time (Date.now() ms) the call must end by; undefined for a stream without one. */
  deadline: number | undefined;
  /** The call's deadline as given, in ms, for messages. */
  deadlineMs: number | undefined;
  signal: AbortSignal | undefined;
  /** May the call be sent again after a try that may have reached a manager? */
  idempotent: boolean;
}

/**
 * Runs `attempt` on the managers until one answers, following the client's rules:
 *
 * - A try whose connection failed sent nothing: the next manager is tried at once, for any call.
 * - A try that was sent and broke (connection lost, or the manager answered UNAVAILABLE) is tried
 *   again, after a back-off and starting with the next manager, only when the call is idempotent;
 *   otherwise its error is the call's (reason MANAGER_CONNECTION_LOST for a lost connection).
 * - Any other outcome, an answer or an error, is the call's.
 *
 * A walk over the managers counts as one try of `retry.attempts`; no try, back-off or connection
 * wait outlasts the call's deadline or its signal.
 */
export async function withFailover<T>(pool: ManagerPool, options: ResolvedOptions, plan: TryPlan, attempt: (channel: ManagerChannel) => Promise<T>): Promise<T> {
  const failures: TryFailure[] = [];
  const managers = pool.addresses;
  for (let round = 1; ; round++) {
    let sentFailure: FlotillaError | undefined;
    for (const channel of pool.inOrder()) {
      if (plan.signal?.aborted) throw cancelledByCaller();
      const now = Date.now();
      if (plan.deadline !== undefined && now >= plan.deadline) throw unreachableInTime(plan.deadlineMs ?? 0, failures, managers);
      const connectBy = Math.min(plan.deadline ?? Infinity, now + options.connectTimeoutMs);
      if (!(await channel.settle(connectBy, plan.signal))) {
        if (plan.deadline !== undefined && Date.now() >= plan.deadline) throw unreachableInTime(plan.deadlineMs ?? 0, failures, managers);
        failures.push({ address: channel.address, error: new UnavailableError(`connection timed out: no connection to ${channel.address} within ${options.connectTimeoutMs} ms`, { reason: ClientReason.MANAGER_UNREACHABLE }) });
        continue;
      }
      try {
        const result = await attempt(channel);
        pool.answeredBy(channel);
        return result;
      } catch (err) {
        if (deadlineWhileConnecting(err)) throw unreachableInTime(plan.deadlineMs ?? 0, [...failures, { address: channel.address, error: err as FlotillaError }], managers);
        const kind = failureKind(err);
        if (kind === 'final') throw err;
        const error = err as FlotillaError;
        if (kind === 'not-sent') {
          failures.push({ address: channel.address, error });
          continue;
        }
        // Lost or UNAVAILABLE: the retry, and later calls, start with the next manager.
        pool.lost(channel);
        const failure = kind === 'lost' ? connectionLost(error, channel.address) : error;
        if (!plan.idempotent) throw failure;
        sentFailure = failure;
        break;
      }
    }
    const failure = sentFailure ?? unreachable(failures, managers);
    if (round >= options.retry.attempts) throw failure;
    const wait = backoffDelay(round, options.retry);
    if (plan.deadline !== undefined && Date.now() + wait >= plan.deadline) throw failure;
    await pause(wait, plan.signal);
  }
}
