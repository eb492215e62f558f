import { InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { AddressIndex } from './address-index';
import type { Engine, EngineStatusName } from './engine';
import { normaliseEngineAddress } from './engine-address';
import type { EngineStream } from './engine-stream';
import { forgetEngineView } from './engine-view';
import { LabelIndex } from './label-index';
import { labelsMatch } from './label-filter';

export interface EngineFilter {
  statuses?: EngineStatusName[];
  /** Every label must match; "*" matches any value. */
  labels?: Record<string, string>;
  /** Only validated engines (those `engines` holds by ID), as placement and ListContainers see them. */
  validated?: boolean;
  /**
   * Address order (code units, as page keys compare) instead of name order, starting just after
   * this address ('' starts at the first engine): what a page of ListEngines or ListContainers
   * reads, from the address index in O(log n + engines read), with no sort.
   */
  afterAddress?: string;
  /** Like `afterAddress`, but starting at this address itself (inclusive). */
  fromAddress?: string;
  /** At most this many engines (the first ones in the listing's order). */
  limit?: number;
}

/**
 * The engines the cluster holds, each with its stream: validated engines by engine ID, pending
 * engines by address, every engine by address, and the validated ones by label. It keeps these
 * consistent and answers lookups; the Cluster decides who joins and leaves, and each engine's
 * stream when it is validated.
 */
export class EngineRegistry {
  /** Validated engines, by engine ID. */
  readonly engines = new Map<string, Engine>();
  /** Engines not yet validated, by address. */
  readonly pendingEngines = new Map<string, Engine>();
  readonly labels = new LabelIndex();
  private readonly byAddress = new Map<string, Engine>();
  /** The addresses of `byAddress`, in address order. */
  private readonly addresses = new AddressIndex();
  private readonly streams = new Map<Engine, EngineStream>();
  /** The validated engines as an array (placement starts anywhere in it), made again after a change. */
  private validatedList: readonly Engine[] | undefined;

  /** Engines held, pending or not. */
  get size(): number {
    return this.byAddress.size;
  }

  /** The engine at exactly this (normalised) address. */
  at(address: string): Engine | undefined {
    return this.byAddress.get(address);
  }

  /** The validated engines, as an array. */
  validated(): readonly Engine[] {
    return (this.validatedList ??= [...this.engines.values()]);
  }

  /** Every engine, pending or not, in the order they joined. */
  all(): Iterable<Engine> {
    return this.byAddress.values();
  }

  /** Every engine's stream, in the order the engines joined. */
  allStreams(): Iterable<EngineStream> {
    return this.streams.values();
  }

  streamOf(engine: Engine): EngineStream | undefined {
    return this.streams.get(engine);
  }

  /** A new engine joins, pending. */
  addPending(stream: EngineStream): void {
    const engine = stream.engine;
    this.pendingEngines.set(engine.address, engine);
    this.byAddress.set(engine.address, engine);
    this.addresses.add(engine.address);
    this.streams.set(engine, stream);
  }

  /** The engine leaves: it is in no map and no index any more. */
  remove(engine: Engine): void {
    this.pendingEngines.delete(engine.address);
    if (this.engines.get(engine.id) === engine) this.dropValidated(engine);
    this.labels.remove(engine);
    this.byAddress.delete(engine.address);
    this.addresses.delete(engine.address);
    this.streams.delete(engine);
    forgetEngineView(engine);
  }

  // ---- validation, as engines' streams report it ----

  /** The validated engine that holds this engine ID. */
  holderOf(id: string): Engine | undefined {
    return this.engines.get(id);
  }

  /** Another Docker engine answers at this engine's address: its old ID no longer finds it. */
  releaseId(engine: Engine): void {
    this.dropValidated(engine);
  }

  private dropValidated(engine: Engine): void {
    if (this.engines.delete(engine.id)) this.validatedList = undefined;
  }

  /** The engine's snapshot is applied: it is validated, by its ID and its labels. */
  admit(engine: Engine): void {
    // A new snapshot: its view is built afresh (see engineView), whatever the snapshot changed.
    forgetEngineView(engine);
    this.labels.add(engine);
    this.pendingEngines.delete(engine.address);
    this.engines.set(engine.id, engine);
    this.validatedList = undefined;
  }

  /** A validated engine failed validation: it is pending again, out of the ID and label indexes. */
  demote(engine: Engine): void {
    if (this.engines.get(engine.id) === engine) this.dropValidated(engine);
    this.labels.remove(engine);
    this.pendingEngines.set(engine.address, engine);
  }

  // ---- lookups ----

  /** The engine with this address, ID or name; a name several engines share is INVALID_ARGUMENT. */
  find(ref: string): Engine | undefined {
    const text = ref.trim();
    if (!text) return undefined;
    const direct = this.byAddress.get(text) ?? this.engines.get(text);
    if (direct) return direct;
    // An engine that fell back to pending keeps the ID it had.
    for (const e of this.pendingEngines.values()) if (e.id === text) return e;
    try {
      const normal = this.byAddress.get(normaliseEngineAddress(text));
      if (normal) return normal;
    } catch {
      // not an address
    }
    const named = [...this.byAddress.values()].filter((e) => e.name === text);
    if (named.length > 1) {
      throw InvalidArgumentError.field('engine', ref, `${named.length} engines are named so (${named.map((e) => e.address).join(', ')}); use the address or ID`);
    }
    return named[0];
  }

  /** Like find, but an empty reference is INVALID_ARGUMENT and an unknown one NOT_FOUND. */
  get(ref: string, field = 'engine'): Engine {
    if (!ref.trim()) throw InvalidArgumentError.field(field, ref, 'an engine address, ID or name is required');
    const engine = this.find(ref);
    if (!engine) throw new NotFoundError(`no engine ${JSON.stringify(ref)} in the cluster (by address, ID or name)`);
    return engine;
  }

  /**
   * The engines that pass the filter, by name (or address), then address; or, with
   * `afterAddress` (or `fromAddress`), by address from just after (or at) it (see EngineFilter).
   */
  list(filter: EngineFilter = {}): Engine[] {
    const keep = this.matcher(filter);
    const limit = filter.limit ?? Infinity;
    if (filter.afterAddress !== undefined || filter.fromAddress !== undefined) {
      const out: Engine[] = [];
      if (limit <= 0) return out;
      const start = filter.afterAddress !== undefined ? { after: filter.afterAddress } : { from: filter.fromAddress! };
      this.addresses.walk(start, (address) => {
        const engine = this.byAddress.get(address)!;
        if (keep(engine)) out.push(engine);
        return out.length < limit;
      });
      return out;
    }
    const sorted = [...this.byAddress.values()]
      .filter(keep)
      .sort((a, b) => (a.name || a.address).localeCompare(b.name || b.address) || a.address.localeCompare(b.address));
    return limit < sorted.length ? sorted.slice(0, Math.max(0, limit)) : sorted;
  }

  /** Whether an engine passes the filter's statuses, labels and validation. */
  private matcher(filter: EngineFilter): (e: Engine) => boolean {
    const statuses = filter.statuses?.length ? new Set(filter.statuses) : undefined;
    const labels = Object.entries(filter.labels ?? {});
    const validated = filter.validated === true;
    return (e) =>
      (!statuses || statuses.has(e.status)) &&
      (!validated || this.engines.get(e.id) === e) &&
      labelsMatch(e.labels, labels);
  }
}
