export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per failure. */
  factor?: number;
  /** Fraction of each delay drawn at random, so many clients do not retry in step. */
  jitter?: number;
}

/**
 * Exponential back-off with jitter: the delay before retry `attempt` (0 for the first retry).
 * `random` is injected for tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(options.maxMs, options.initialMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())));
}
