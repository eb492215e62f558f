import { filterNames } from '@flotilla/scheduler';

/**
 * Running totals of what the cluster has done since it started: events it published, engine
 * streams it resynced, placements it decided. Metrics read them when scraped; nothing is pushed.
 * Every key set is bounded: event types outside the known ones count as "other".
 */

/** The event types counted by name; Docker's own words plus the cluster's "engine". */
const knownEventTypes = new Set(['engine', 'container', 'image', 'network', 'volume', 'daemon', 'plugin', 'node', 'service', 'secret', 'config']);
/** The scheduler's filters, and "resources" (see EnginePlacement.filter in cluster.proto). */
const knownFilters = new Set([...filterNames, 'resources']);

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export interface PlacementOutcome {
  /** Whether an engine was chosen. */
  placed: boolean;
  /** For a refusal: the filter that rejected each engine (an engine that passed them all: none). */
  rejectedBy: readonly string[];
}

export class ClusterActivity {
  /** Events published to subscribers, by type. */
  readonly eventsByType = new Map<string, number>();
  /** Engine events, by action (pending, connect, disconnect, reconnect, removed, error). */
  readonly engineEventsByAction = new Map<string, number>();
  /** Engine streams closed and reopened for a fresh snapshot (a sequence gap, a protocol error). */
  streamResyncs = 0;
  /** Placement decisions, by whether an engine was chosen. */
  placed = 0;
  refused = 0;
  /** Refused placements, counted once under each filter that rejected at least one engine. */
  readonly refusalsByFilter = new Map<string, number>();

  eventPublished(type: string, action: string): void {
    bump(this.eventsByType, knownEventTypes.has(type) ? type : 'other');
    if (type === 'engine') bump(this.engineEventsByAction, action);
  }

  streamResynced(): void {
    this.streamResyncs++;
  }

  placementDecided(outcome: PlacementOutcome): void {
    if (outcome.placed) {
      this.placed++;
      return;
    }
    this.refused++;
    for (const filter of new Set(outcome.rejectedBy)) bump(this.refusalsByFilter, knownFilters.has(filter) ? filter : 'other');
  }
}
