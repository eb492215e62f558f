import type { Filter, Pass } from './filters';
import type { PlacementEngine } from './placement-engine';
import type { PlacementRequest } from './placement-request';
import { strategyByName, type Strategy, type Weighed } from './strategies';

/** Where the scheduler finds engines. */
export interface PlacementSource {
  /** Every engine of the cluster, whatever its state (an array, so a decision can start anywhere in it). */
  all(): readonly PlacementEngine[];
  /** Engines whose label `key` has the value `value` (lower case), from an index; undefined when not indexed. */
  withLabel?(key: string, value: string): readonly PlacementEngine[] | undefined;
  /** How many engines `withLabel` would give, to pick the smallest. */
  countWithLabel?(key: string, value: string): number;
}

/** What the scheduler made of one engine. */
export interface EngineVerdict {
  engine: PlacementEngine;
  /** The filter that rejected it, or "resources" when it lacks CPU or memory. */
  filter?: string;
  /** Why it was rejected; for an engine that passed with health below 100, its health in words. */
  reason?: string;
  weight?: number;
  chosen?: boolean;
}

export interface Placement {
  engine: PlacementEngine | undefined;
  weight?: number;
  strategy: string;
  /** True when no engine met the soft expressions and they were dropped. */
  softDropped: boolean;
  /** Every engine's verdict; only from `explain`. */
  verdicts?: EngineVerdict[];
  summary: string;
}

export interface SchedulerOptions {
  filters: readonly Filter[];
  strategy: Strategy;
  overcommitRatio: number;
  random?: () => number;
  /**
   * With a strategy that allows it (spread, random), a decision weighs at most this many engines
   * that pass the filters, starting where the last decision stopped, so its cost does not grow
   * with the cluster; 0 (the default) weighs every engine. Explanations always weigh every engine.
   */
  candidates?: number;
}

function describe(engine: PlacementEngine): string {
  return engine.name && engine.name !== engine.address ? `${engine.name} (${engine.address})` : engine.address;
}

/**
 * Picks an engine for a container: the filters in order, then the strategy over the engines that
 * pass; soft expressions are dropped in a second pass when the first finds no engine. `place` is
 * the hot path: it narrows by indexed labels first and keeps no per-engine detail. `explain` runs
 * every engine and says why each was rejected, or its weight.
 */
export class Scheduler {
  /** Where the next sampled decision starts looking, so successive decisions see different engines. */
  private cursor = 0;

  constructor(private readonly options: SchedulerOptions) {}

  get strategyName(): string {
    return this.options.strategy.name;
  }

  /** How far past its CPUs and memory an engine may be reserved (0.05 is 5 %). */
  get overcommitRatio(): number {
    return this.options.overcommitRatio;
  }

  place(request: PlacementRequest, source: PlacementSource): Placement {
    return this.decide(request, source, false);
  }

  explain(request: PlacementRequest, source: PlacementSource): Placement {
    return this.decide(request, source, true);
  }

  private decide(request: PlacementRequest, source: PlacementSource, explain: boolean): Placement {
    const strategy = request.strategy ? strategyByName(request.strategy, this.options.random) : this.options.strategy;
    const hasSoft = request.constraints.some((c) => c.soft) || request.affinities.some((a) => a.soft);
    const filters = this.options.filters.filter((f) => f.applies(request));
    let verdicts: EngineVerdict[] | undefined = explain ? [] : undefined;
    let best = this.run(request, source, { soft: true }, filters, strategy, verdicts);
    let softDropped = false;
    if (!best && hasSoft) {
      softDropped = true;
      verdicts = explain ? [] : undefined;
      best = this.run(request, source, { soft: false }, filters, strategy, verdicts);
    }
    if (best && verdicts) {
      const chosen = verdicts.find((v) => v.engine === best!.engine);
      if (chosen) chosen.chosen = true;
    }
    const summary = best
      ? `placed on ${describe(best.engine)} by ${strategy.name}${softDropped ? ' (soft expressions dropped)' : ''}`
      : this.failure(request, source, filters, strategy, verdicts);
    return { engine: best?.engine, weight: best?.weight, strategy: strategy.name, softDropped, verdicts, summary };
  }

  private failure(request: PlacementRequest, source: PlacementSource, filters: Filter[], strategy: Strategy, verdicts: EngineVerdict[] | undefined): string {
    const all = verdicts ?? [];
    if (!verdicts) this.run(request, source, { soft: false }, filters, strategy, all);
    if (all.length === 0) return 'no engine can take the container: the cluster has no engines';
    const lines = all.slice(0, 50).map((v) => `${describe(v.engine)}: ${v.reason} [${v.filter}]`);
    const more = all.length > 50 ? `; and ${all.length - 50} more` : '';
    return `no engine can take the container: ${lines.join('; ')}${more}`;
  }

  /** The engines worth looking at: those an indexed hard constraint allows, or all. */
  private narrow(request: PlacementRequest, source: PlacementSource, pass: Pass): readonly PlacementEngine[] {
    if (!source.withLabel) return source.all();
    let smallest: { key: string; value: string; count: number } | undefined;
    for (const c of request.constraints) {
      if ((c.soft && !pass.soft) || c.negated || c.literal === undefined || c.key === 'node') continue;
      const count = source.countWithLabel ? source.countWithLabel(c.key, c.literal) : 0;
      if (!smallest || count < smallest.count) smallest = { key: c.key, value: c.literal, count };
    }
    return (smallest && source.withLabel(smallest.key, smallest.value)) ?? source.all();
  }

  private run(request: PlacementRequest, source: PlacementSource, pass: Pass, filters: Filter[], strategy: Strategy, verdicts: EngineVerdict[] | undefined): Weighed | undefined {
    const engines = verdicts ? source.all() : this.narrow(request, source, pass);
    const ratio = this.options.overcommitRatio;
    const n = engines.length;
    const limit = !verdicts && strategy.sampleable && this.options.candidates ? this.options.candidates : 0;
    // A decision that may stop early starts where the last stopped: over a few decisions every engine is seen.
    const start = limit && n > limit ? this.cursor % n : 0;
    let fits = 0;
    let best: Weighed | undefined;
    for (let i = 0; i < n; i++) {
      const engine = engines[start + i < n ? start + i : start + i - n];
      let rejectedBy: Filter | undefined;
      let reason: string | null = null;
      for (const f of filters) {
        reason = f.reject(engine, request, pass);
        if (reason !== null) {
          rejectedBy = f;
          break;
        }
      }
      if (rejectedBy) {
        verdicts?.push({ engine, filter: rejectedBy.name, reason: reason! });
        continue;
      }
      const fit = strategy.weigh(engine, request, ratio);
      if ('reason' in fit) {
        verdicts?.push({ engine, filter: 'resources', reason: fit.reason });
        continue;
      }
      // An explanation says why an engine that fits weighs less: its health (e.g. flapping).
      verdicts?.push({ engine, weight: fit.weight, reason: engine.healthScore() < 100 ? engine.healthText?.() : undefined });
      const candidate = { engine, weight: fit.weight };
      if (!best || strategy.better(candidate, best)) best = candidate;
      if (limit && ++fits >= limit && n > limit) {
        this.cursor = start + i + 1;
        break;
      }
    }
    return best;
  }
}
