import { InvalidArgumentError, ResourceExhaustedError } from '@flotilla/errors';
import { clip } from '@flotilla/errors';
import { requestLimits } from './request-limits';

/** What one discovery source last pushed. */
export interface SourcePush {
  generation: bigint;
  addresses: Set<string>;
}

const maxUint64 = 2n ** 64n - 1n;

/**
 * A push's generation: a uint64 (as ts-proto carries it, a decimal string) from 1 up, and at most
 * `requestLimits.generationLeadMs` ahead of the manager's clock in milliseconds. Discovery starts
 * its generation at its own clock and adds one per change, so an honest one is close to the clock;
 * one far ahead (2^64-1, say) would make every later honest push of the source "older" and be
 * ignored, wedging the source until the manager restarts. Refusing it keeps the source open.
 */
export function parseGeneration(value: bigint | string, nowMs: number, field = 'generation'): bigint {
  let generation: bigint;
  if (typeof value === 'bigint') generation = value;
  else if (/^\d{1,20}$/.test(value)) generation = BigInt(value);
  else throw InvalidArgumentError.field(field, clip(value), 'must be a whole number (a uint64)');
  if (generation < 1n || generation > maxUint64) throw InvalidArgumentError.field(field, generation.toString(), 'must be 1 to 2^64-1: discovery counts from its clock in milliseconds');
  const limit = BigInt(Math.floor(nowMs)) + BigInt(requestLimits.generationLeadMs);
  if (generation > limit) {
    throw InvalidArgumentError.field(
      field,
      generation.toString(),
      `more than ${requestLimits.generationLeadMs / 3_600_000} h ahead of the manager's clock (at most ${limit} now): discovery starts its generation at its clock in milliseconds; check the clocks of discovery and the manager`,
    );
  }
  return generation;
}

/**
 * What each discovery source last pushed, keyed by who pushed it and the source's name: the
 * identity of the discovery service (its certificate's name) comes first, so one discovery
 * certificate can neither overwrite nor wedge another's source by pushing under its name.
 */
export class DiscoverySources {
  private readonly byPusher = new Map<string, Map<string, SourcePush>>();
  /** When each identity last pushed (an applied or an unchanged push), by the manager's clock. */
  private readonly lastPushAt = new Map<string, number>();

  get(pusher: string, source: string): SourcePush | undefined {
    return this.byPusher.get(pusher)?.get(source);
  }

  /**
   * Refuses a new source past `requestLimits.sourcesPerPusher`: a source is remembered until its
   * identity stops pushing for the discovery grace (or the manager restarts), so one pusher must
   * not make the manager remember without end.
   */
  checkRoom(pusher: string, source: string): void {
    const sources = this.byPusher.get(pusher);
    if (!sources || sources.has(source) || sources.size < requestLimits.sourcesPerPusher) return;
    throw new ResourceExhaustedError(
      `source ${JSON.stringify(clip(source))}: ${pusher ? `discovery "${clip(pusher)}"` : 'this discovery'} already pushes ${sources.size} sources, the most one discovery identity may push`,
    );
  }

  set(pusher: string, source: string, push: SourcePush): void {
    let sources = this.byPusher.get(pusher);
    if (!sources) this.byPusher.set(pusher, (sources = new Map()));
    sources.set(source, push);
  }

  /** The identity pushed now (a push the manager took, applied or unchanged): its sources live on. */
  touch(pusher: string, now: number): void {
    this.lastPushAt.set(pusher, now);
  }

  /** The earliest time any identity's sources expire, or undefined when there are none. */
  nextExpiry(graceMs: number): number | undefined {
    let earliest: number | undefined;
    for (const at of this.lastPushAt.values()) if (earliest === undefined || at + graceMs < earliest) earliest = at + graceMs;
    return earliest;
  }

  /**
   * Forgets every source of each identity that has not pushed for longer than `graceMs`, and
   * answers them (identity, when it last pushed, and its sources) so the caller can remove the
   * engines only they listed.
   */
  expire(now: number, graceMs: number): { pusher: string; lastPushAt: number; sources: Map<string, SourcePush> }[] {
    const expired: { pusher: string; lastPushAt: number; sources: Map<string, SourcePush> }[] = [];
    for (const [pusher, at] of this.lastPushAt) {
      if (now - at <= graceMs) continue;
      this.lastPushAt.delete(pusher);
      expired.push({ pusher, lastPushAt: at, sources: this.byPusher.get(pusher) ?? new Map() });
      this.byPusher.delete(pusher);
    }
    return expired;
  }

  /** True when any source lists the address. */
  lists(address: string): boolean {
    for (const sources of this.byPusher.values()) for (const push of sources.values()) if (push.addresses.has(address)) return true;
    return false;
  }

  /**
   * The sources that list the address, each as the pushing identity (its certificate's name), a
   * space and the source; the source alone when it was pushed without an identity. Sorted.
   */
  listing(address: string): string[] {
    const found: string[] = [];
    for (const [pusher, sources] of this.byPusher) {
      for (const [name, push] of sources) if (push.addresses.has(address)) found.push(pusher ? `${pusher} ${name}` : name);
    }
    return found.sort();
  }

  /** True when a source other than this one lists the address (so this one dropping it keeps it). */
  listedElsewhere(pusher: string, source: string, address: string): boolean {
    for (const [who, sources] of this.byPusher) {
      for (const [name, push] of sources) {
        if ((who !== pusher || name !== source) && push.addresses.has(address)) return true;
      }
    }
    return false;
  }
}
