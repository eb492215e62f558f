import { InvalidArgumentError } from '@flotilla/errors';
import type { Logger } from '@flotilla/grpc';
import type { Clock, Timer } from '@flotilla/time';
import { loggedProblems, nextTickMs } from './cluster-options';
import { DiscoverySources, parseGeneration } from './discovery-sources';
import { normaliseEngineAddress } from './engine-address';
import { checkEngineRoom, type EngineLimits } from './engine-limits';
import { checkSyncSizes } from './request-validation';

export interface DiscoveryReconcilerOptions extends EngineLimits {
  clock: Clock;
  logger: Logger;
  /** A discovery identity that has not pushed for longer than this loses its sources (--discovery-grace). */
  discoveryGraceMs: number;
}

/** The cluster's membership, as discovery changes it. */
export interface DiscoveredMembership {
  /** Engines the cluster holds, pending or not. */
  readonly engineCount: number;
  holds(address: string): boolean;
  addedByHand(address: string): boolean;
  /** An address a push listed becomes a pending engine, dialled from the queue; false when it is known. */
  addListed(address: string): boolean;
  remove(address: string): void;
  /** Discovery listed a known address again: if the engine waits to reconnect, it is dialled with the next batch. */
  listedAgain(address: string): void;
}

/** What a push changed. */
export interface SyncResult {
  added: string[];
  removed: string[];
  generation: bigint;
  unchanged: boolean;
}

/**
 * Applies discovery pushes to the cluster's membership: each source is one membership of the
 * engines it lists, beside the engines added by hand, and a discovery identity that stops pushing
 * loses its sources after the grace.
 */
export class DiscoveryReconciler {
  /** What each discovery source last pushed, by pusher and source, so a push applies only its difference. */
  private readonly sources = new DiscoverySources();
  /** Fires when the next discovery identity's grace runs out (see expireSources). */
  private graceTimer: Timer | undefined;

  constructor(
    private readonly o: DiscoveryReconcilerOptions,
    private readonly members: DiscoveredMembership,
  ) {}

  /** The sources that list the address (see DiscoverySources.listing). */
  listing(address: string): string[] {
    return this.sources.listing(address);
  }

  /** Stops the grace timer. */
  stop(): void {
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
  }

  /** Sets the whole address set of one discovery source (see Cluster.syncEngines). */
  sync(source: string, generation: bigint | string, addresses: string[], pusher: string): SyncResult {
    checkSyncSizes(source, addresses);
    if (!source.trim()) throw InvalidArgumentError.field('source', source, 'a source name is required');
    const pushed = parseGeneration(generation, this.o.clock.now());
    const next = new Set(addresses.map((a, i) => normaliseEngineAddress(a, `addresses[${i}]`)));
    const previous = this.sources.get(pusher, source);
    if (previous && pushed <= previous.generation) {
      // The safety-net re-push: nothing changes, but the identity is alive, and so may its engines be.
      for (const address of next) this.members.listedAgain(address);
      this.touchPusher(pusher);
      return { added: [], removed: [], generation: previous.generation, unchanged: true };
    }
    this.sources.checkRoom(pusher, source);
    const leaving = [...(previous?.addresses ?? [])].filter(
      (address) => !next.has(address) && !this.sources.listedElsewhere(pusher, source, address) && !this.members.addedByHand(address) && this.members.holds(address),
    );
    const arriving = [...next].filter((address) => !this.members.holds(address));
    checkEngineRoom(this.members.engineCount - leaving.length, arriving.length, this.o, `the ${arriving.length} new engines of this push`);
    for (const address of leaving) this.members.remove(address);
    const added = [...next].filter((address) => !previous?.addresses.has(address) && this.members.addListed(address));
    const fresh = new Set(added);
    for (const address of next) if (!fresh.has(address)) this.members.listedAgain(address);
    this.sources.set(pusher, source, { generation: pushed, addresses: next });
    this.touchPusher(pusher);
    this.o.logger.info('discovery push applied', { pusher, source, generation: String(pushed), engines: next.size, added: added.length, removed: leaving.length });
    return { added, removed: leaving, generation: pushed, unchanged: false };
  }

  /** The identity pushed (applied or unchanged): its sources live another --discovery-grace. */
  private touchPusher(pusher: string): void {
    this.sources.touch(pusher, this.o.clock.now());
    this.graceTimer ??= this.o.clock.setTimeout(() => this.expireSources(), this.o.discoveryGraceMs + nextTickMs);
  }

  /**
   * Forgets the sources of every discovery identity that has not pushed for longer than
   * --discovery-grace (a discovery service that was stopped, replaced or renamed), and removes
   * the engines that have no membership left: listed by no other source and not added by hand.
   * Then waits for the next identity's grace to run out.
   */
  private expireSources(): void {
    this.graceTimer = undefined;
    const now = this.o.clock.now();
    for (const { pusher, lastPushAt, sources } of this.sources.expire(now, this.o.discoveryGraceMs)) {
      for (const [source, push] of sources) {
        const removed: string[] = [];
        for (const address of push.addresses) {
          if (this.members.addedByHand(address) || this.sources.lists(address) || !this.members.holds(address)) continue;
          this.members.remove(address);
          removed.push(address);
        }
        this.o.logger.warn('discovery source expired: its identity stopped pushing; removed the engines only it listed', {
          pusher,
          source,
          silentMs: now - lastPushAt,
          graceMs: this.o.discoveryGraceMs,
          engines: push.addresses.size,
          removed: removed.length,
          first: removed.slice(0, loggedProblems),
        });
      }
    }
    const next = this.sources.nextExpiry(this.o.discoveryGraceMs);
    if (next !== undefined) this.graceTimer = this.o.clock.setTimeout(() => this.expireSources(), Math.max(nextTickMs, next - now + nextTickMs));
  }
}
