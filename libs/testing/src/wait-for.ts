// The one way tests wait: poll a condition until it holds or a deadline passes. Never sleep.

export interface WaitForOptions {
  /** Give up after this long. Default 30 s. */
  timeoutMs?: number;
  /** Pause between probes. Default 50 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
}

const NO_VALUE = Symbol('no value');

function describe(value: unknown): string {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json.length > 500 ? `${json.slice(0, 500)}…` : json;
  } catch {
    // fall through
  }
  return String(value);
}

/**
 * Calls `probe` until it returns (or resolves to) a truthy value and returns that value.
 * Errors thrown by the probe are swallowed until the deadline; then the returned promise rejects
 * with an Error naming what was awaited and the last error or value the probe produced.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  opts: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 50;
  const what = opts.what ?? (probe.name ? `condition ${probe.name}` : 'condition');
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastValue: unknown = NO_VALUE;
  let lastError: unknown = NO_VALUE;
  let attempts = 0;

  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      // A probe that never settles must not outlive the deadline.
      const outcome = await Promise.race([
        Promise.resolve().then(probe),
        new Promise<typeof NO_VALUE>((resolve) => {
          timer = setTimeout(() => resolve(NO_VALUE), Math.max(remaining, 0));
        }),
      ]);
      if (outcome !== NO_VALUE) {
        if (outcome) return outcome as NonNullable<T>;
        lastValue = outcome;
        lastError = NO_VALUE;
      }
    } catch (err) {
      lastError = err;
    } finally {
      if (timer) clearTimeout(timer);
    }

    const now = Date.now();
    if (now >= deadline) {
      let last: string;
      if (lastError !== NO_VALUE) last = `last probe error: ${describe(lastError)}`;
      else if (lastValue !== NO_VALUE) last = `last probe value: ${describe(lastValue)}`;
      else last = 'the probe never settled';
      throw new Error(
        `Timed out after ${now - started} ms (${attempts} probes) waiting for ${what}; ${last}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, deadline - now)));
  }
}
