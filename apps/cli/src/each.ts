import type { Context } from './command';
import { describeError, InterruptedError, UnreachableError, type ErrorHints } from './errors';

export const containerHints: ErrorHints = { notFound: 'see flotilla ps -a' };

/**
 * Runs an operation on each container named, as docker does: prints each name that worked,
 * reports each failure on its own line and carries on. Exits with the first failure's code.
 */
export async function forEachContainer(ctx: Context, refs: string[], work: (ref: string) => Promise<string | void>, hints: ErrorHints = containerHints): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      const printed = await work(ref);
      ctx.io.stdout.write(`${printed ?? ref}\n`);
    } catch (err) {
      code ||= reportContainerFailure(ctx, err, hints);
    }
  }
  return code;
}

/**
 * Reports one container's failure on its own line and answers its exit code; rethrows what ends
 * the whole command (the manager unreachable, or Ctrl-C).
 */
export function reportContainerFailure(ctx: Context, err: unknown, hints: ErrorHints = containerHints): number {
  // Nothing more can work without the manager, or once interrupted.
  if (err instanceof UnreachableError || err instanceof InterruptedError) throw err;
  const failure = describeError(err, hints);
  ctx.io.stderr.write(`flotilla: ${failure.message}\n`);
  if (failure.more) ctx.io.stderr.write(failure.more);
  return failure.exitCode;
}
