import type { SyncEnginesResponse } from '@flotilla/proto/cluster';

/**
 * How far ahead of discovery's clock a generation may be followed, in milliseconds. Managers
 * refuse a generation more than this far ahead of their clock (libs/cluster requestLimits
 * .generationLeadMs): following one further ahead would make every later push refused.
 */
export const followableLeadMs = 24 * 60 * 60 * 1000;

const maxUint64 = 2n ** 64n - 1n;

/** What a SyncEngines answer means for the pusher. */
export type PushAnswer =
  /** The manager holds our generation (it applied the push now or before). */
  | { kind: 'taken'; held: bigint }
  /** The manager holds a newer generation for our source, from an earlier run: move past it. */
  | { kind: 'newer'; held: bigint }
  /** Nothing discovery can use: a failed push, retried with back-off. */
  | { kind: 'unexpected'; problem: string };

function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * Reads an answer without trusting it: a generation that is no uint64, one that contradicts the
 * push, or a newer one that cannot or should not be followed are all "unexpected". `follows` is
 * how many newer generations were followed since the manager last took a push: a second one in a
 * row means following does not help (another pusher of the same source and identity, or a faulty
 * manager), and following again at once would spin.
 */
export function readAnswer(res: SyncEnginesResponse, ours: bigint, nowMs: number, follows: number): PushAnswer {
  const text = String(res.generation);
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > maxUint64) return { kind: 'unexpected', problem: `the manager answered generation ${shown(text)}, which is not a uint64` };
  const held = BigInt(text);
  if (held === ours) return { kind: 'taken', held };
  if (!res.unchanged) return { kind: 'unexpected', problem: `the manager applied the push but answered generation ${held}, not ours (${ours})` };
  if (held < ours) return { kind: 'unexpected', problem: `the manager answered "unchanged" holding generation ${held}, older than ours (${ours})` };
  if (held >= maxUint64 || held + 1n > BigInt(Math.floor(nowMs)) + BigInt(followableLeadMs)) {
    return {
      kind: 'unexpected',
      problem: `the manager holds generation ${held} for this source, more than ${followableLeadMs / 3_600_000} h ahead of our clock; not following it (restart that manager to make it forget the source, or check the clocks)`,
    };
  }
  if (follows > 0) {
    return { kind: 'unexpected', problem: `the manager again holds a newer generation (${held}) than ours (${ours}) right after we moved past one: is another discovery pushing this source with the same identity?` };
  }
  return { kind: 'newer', held };
}
