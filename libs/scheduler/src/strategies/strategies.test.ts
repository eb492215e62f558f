import { InvalidArgumentError } from '@flotilla/errors';
import fc from 'fast-check';
import { allFilters } from '../filters';
import type { PlacementRequest } from '../placement-request';
import { Scheduler } from '../scheduler';
import { StaticEngine, StaticSource } from '../static-engine';
import { binpackStrategy, randomStrategy, spreadStrategy, strategyByName, weighResources } from './index';

// ---- a plain reference model ----

interface RefEngine {
  id: string;
  address: string;
  health: number;
  cpu: number;
  mem: number;
  /** Reservations of the containers on the engine. */
  containers: Array<{ cpu: number; mem: number }>;
}

interface Req {
  cpu: number;
  mem: number;
}

type StrategyName = 'spread' | 'binpack' | 'random';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function reserved(e: RefEngine): Req {
  return e.containers.reduce((s, c) => ({ cpu: s.cpu + c.cpu, mem: s.mem + c.mem }), { cpu: 0, mem: 0 });
}

/** Whether the request fits the engine under the overcommit ratio (compared directly, not as a score). */
function refFits(e: RefEngine, req: Req, ratio: number): boolean {
  const r = reserved(e);
  return (req.cpu === 0 || r.cpu + req.cpu <= e.cpu * (1 + ratio)) && (req.mem === 0 || r.mem + req.mem <= e.mem * (1 + ratio));
}

/** Classic Swarm's weight: cpuScore + memoryScore + f·health. */
function refWeight(e: RefEngine, req: Req, ratio: number, f: number): number {
  const r = reserved(e);
  const cpuScore = req.cpu > 0 ? ((r.cpu + req.cpu) * 100) / (e.cpu * (1 + ratio)) : 100;
  const memScore = req.mem > 0 ? ((r.mem + req.mem) * 100) / (e.mem * (1 + ratio)) : 100;
  return cpuScore + memScore + f * e.health;
}

/** The engines that can take the request: healthy and fitting. */
function refCandidates(engines: RefEngine[], req: Req, ratio: number): RefEngine[] {
  return engines.filter((e) => e.health > 0 && refFits(e, req, ratio));
}

/** Brute force: sort every candidate by the strategy's order and take the first. */
function refChoose(engines: RefEngine[], req: Req, ratio: number, strategy: 'spread' | 'binpack'): RefEngine | undefined {
  const f = strategy === 'spread' ? -10 : 10;
  const sign = strategy === 'spread' ? 1 : -1;
  const ranked = refCandidates(engines, req, ratio)
    .map((e, i) => ({ e, i, w: refWeight(e, req, ratio, f) }))
    .sort((a, b) => sign * (a.w - b.w) || sign * (a.e.containers.length - b.e.containers.length) || (a.e.address < b.e.address ? -1 : a.e.address > b.e.address ? 1 : 0) || a.i - b.i);
  return ranked[0]?.e;
}

function toStatic(e: RefEngine): StaticEngine {
  const s = new StaticEngine(e.id, `node-${e.id}`, e.address, {}, { nanoCpus: e.cpu, memoryBytes: e.mem });
  s.health = e.health;
  e.containers.forEach((c, i) => s.add({ id: `${e.id}-c${i}`, name: `${e.id}-c${i}`, nanoCpus: c.cpu, memoryBytes: c.mem }));
  return s;
}

function request(req: Req, strategy?: string): PlacementRequest {
  return { name: 'new', image: 'app:1', nanoCpus: req.cpu, memoryBytes: req.mem, ports: [], constraints: [], affinities: [], dependencies: [], strategy };
}

function scheduler(strategy: StrategyName, ratio: number, random?: () => number): Scheduler {
  return new Scheduler({ filters: allFilters, strategy: strategyByName(strategy, random), overcommitRatio: ratio });
}

/** A small deterministic PRNG (mulberry32) so random runs replay from fast-check's seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Keep runs short, and never let shrinking a failure run away with the suite's time.
fc.configureGlobal({ interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true });

// ---- generators ----

const ratioArb = fc.constantFrom(0, 0.05, 0.2, 0.5);
const reqArb: fc.Arbitrary<Req> = fc.record({
  cpu: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }).map((n) => n * 1e8)),
  mem: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 }).map((n) => n * 64 * MiB)),
});
const containerArb = fc.record({
  cpu: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }).map((n) => n * 1e8)),
  mem: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 32 }).map((n) => n * 64 * MiB)),
});
const enginesArb = (opts: { minLength?: number; maxLength?: number; healthy?: boolean } = {}): fc.Arbitrary<RefEngine[]> =>
  fc
    .array(
      fc.record({
        cpus: fc.integer({ min: 1, max: 8 }),
        gib: fc.integer({ min: 1, max: 8 }),
        health: opts.healthy ? fc.constantFrom(100, 70, 40) : fc.constantFrom(100, 100, 70, 40, 0),
        containers: fc.array(containerArb, { maxLength: 6 }),
        // Addresses drawn from a small set so that address ties and equal weights happen.
        address: fc.integer({ min: 0, max: 4 }),
      }),
      { minLength: opts.minLength ?? 1, maxLength: opts.maxLength ?? 6 },
    )
    .map((es) =>
      es.map((e, i) => ({
        id: `E${i}`,
        address: `10.0.0.${e.address}:4250`,
        health: e.health,
        cpu: e.cpus * 1e9,
        mem: e.gib * GiB,
        containers: e.containers,
      })),
    );

// ---- unit tests ----

describe('weighResources', () => {
  const e = new StaticEngine('E', 'n', 'a:1', {}, { nanoCpus: 4e9, memoryBytes: 8 * GiB }).add({ id: 'c', name: 'c', nanoCpus: 1e9, memoryBytes: 2 * GiB });

  it('is cpuScore + memScore + f·health', () => {
    expect(weighResources(e, request({ cpu: 1e9, mem: 2 * GiB }), 0, -10)).toEqual({ weight: 50 + 50 - 1000 });
    expect(weighResources(e, request({ cpu: 1e9, mem: 2 * GiB }), 0, 10)).toEqual({ weight: 50 + 50 + 1000 });
    e.health = 50;
    expect(weighResources(e, request({ cpu: 3e9, mem: 0 }), 0, 10)).toEqual({ weight: 100 + 100 + 500 });
    e.health = 100;
  });

  it('scores 100 for a resource not requested, whatever is reserved', () => {
    const full = new StaticEngine('F', 'f', 'f:1', {}, { nanoCpus: 1e9, memoryBytes: GiB }).add({ id: 'x', name: 'x', nanoCpus: 5e9, memoryBytes: 5 * GiB });
    expect(weighResources(full, request({ cpu: 0, mem: 0 }), 0, 0)).toEqual({ weight: 200 });
  });

  it('applies the overcommit ratio to the totals', () => {
    expect(weighResources(e, request({ cpu: 3.2e9, mem: 0 }), 0, 0)).toHaveProperty('reason');
    const fit = weighResources(e, request({ cpu: 3.2e9, mem: 0 }), 0.05, 0);
    expect('weight' in fit && fit.weight).toBeCloseTo(200, 9);
  });

  it('says what is missing', () => {
    expect(weighResources(e, request({ cpu: 4e9, mem: 0 }), 0, 0)).toEqual({ reason: 'needs 4 CPUs; 3 CPUs of 4 CPUs free' });
    expect(weighResources(e, request({ cpu: 0, mem: 7 * GiB }), 0, 0)).toEqual({ reason: 'needs 7168 MiB of memory; 6144 MiB of 8192 MiB free' });
  });
});

describe('strategyByName', () => {
  it('knows spread, binpack and random', () => {
    expect(strategyByName('spread')).toBe(spreadStrategy);
    expect(strategyByName('binpack')).toBe(binpackStrategy);
    expect(strategyByName('random').name).toBe('random');
  });

  it('rejects anything else naming the field', () => {
    expect(() => strategyByName('fastest')).toThrow(InvalidArgumentError);
    expect(() => strategyByName('fastest', undefined, 'requests[0].strategy')).toThrow(/^requests\[0\]\.strategy "fastest": expected one of spread, binpack, random$/);
  });
});

describe('better', () => {
  const mk = (address: string, count: number) => {
    const s = new StaticEngine(address, address, address, {}, { nanoCpus: 1e9, memoryBytes: GiB });
    for (let i = 0; i < count; i++) s.add({ id: `${address}${i}`, name: `${address}${i}` });
    return s;
  };

  it('spread: lower weight, then fewer containers, then address', () => {
    expect(spreadStrategy.better({ engine: mk('b', 5), weight: 1 }, { engine: mk('a', 0), weight: 2 })).toBe(true);
    expect(spreadStrategy.better({ engine: mk('b', 1), weight: 2 }, { engine: mk('a', 2), weight: 2 })).toBe(true);
    expect(spreadStrategy.better({ engine: mk('b', 2), weight: 2 }, { engine: mk('a', 2), weight: 2 })).toBe(false);
    expect(spreadStrategy.better({ engine: mk('a', 2), weight: 2 }, { engine: mk('b', 2), weight: 2 })).toBe(true);
  });

  it('binpack: higher weight, then more containers, then address', () => {
    expect(binpackStrategy.better({ engine: mk('b', 0), weight: 2 }, { engine: mk('a', 5), weight: 1 })).toBe(true);
    expect(binpackStrategy.better({ engine: mk('b', 3), weight: 2 }, { engine: mk('a', 2), weight: 2 })).toBe(true);
    expect(binpackStrategy.better({ engine: mk('a', 2), weight: 2 }, { engine: mk('b', 2), weight: 2 })).toBe(true);
  });

  it('random: the lowest random draw wins', () => {
    const draws = [0.7, 0.2, 0.9];
    const r = randomStrategy(() => draws.shift()!);
    const engines = [mk('a', 0), mk('b', 0), mk('c', 0)];
    const weighed = engines.map((engine) => ({ engine, weight: (r.weigh(engine, request({ cpu: 0, mem: 0 }), 0) as { weight: number }).weight }));
    expect(weighed.map((w) => w.weight)).toEqual([0.7, 0.2, 0.9]);
    expect(r.better(weighed[1], weighed[0])).toBe(true);
    expect(r.better(weighed[2], weighed[1])).toBe(false);
  });
});

// ---- property tests against the reference ----

describe('strategies (property)', () => {
  it('spread picks the lowest weight, ties to fewer containers, as the reference does', () => {
    fc.assert(
      fc.property(enginesArb(), reqArb, ratioArb, (engines, req, ratio) => {
        const placement = scheduler('spread', ratio).place(request(req), new StaticSource(engines.map(toStatic)));
        const expected = refChoose(engines, req, ratio, 'spread');
        expect(placement.engine?.id).toBe(expected?.id);
        if (expected) expect(placement.weight).toBe(refWeight(expected, req, ratio, -10));
      }),
      { numRuns: 300 },
    );
  });

  it('binpack picks the highest weight, ties to more containers, as the reference does', () => {
    fc.assert(
      fc.property(enginesArb(), reqArb, ratioArb, (engines, req, ratio) => {
        const placement = scheduler('binpack', ratio).place(request(req), new StaticSource(engines.map(toStatic)));
        const expected = refChoose(engines, req, ratio, 'binpack');
        expect(placement.engine?.id).toBe(expected?.id);
        if (expected) expect(placement.weight).toBe(refWeight(expected, req, ratio, 10));
      }),
      { numRuns: 300 },
    );
  });

  it('spread keeps equal, empty engines balanced (max − min ≤ 1) over a sequence of equal requests', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 }), reqArb, ratioArb, (n, steps, req, ratio) => {
        const engines = Array.from({ length: n }, (_, i) => new StaticEngine(`E${i}`, `n${i}`, `10.0.0.${i}:4250`, {}, { nanoCpus: 4e9, memoryBytes: 4 * GiB }));
        const source = new StaticSource(engines);
        const s = scheduler('spread', ratio);
        for (let step = 0; step < steps; step++) {
          const p = s.place(request(req), source);
          const chosen = p.engine as StaticEngine | undefined;
          if (!chosen) {
            // Only when every engine is full.
            expect(engines.every((e) => !refFits({ id: e.id, address: e.address, health: 100, cpu: 4e9, mem: 4 * GiB, containers: e.containers.map((c) => ({ cpu: c.nanoCpus ?? 0, mem: c.memoryBytes ?? 0 })) }, req, ratio))).toBe(true);
            break;
          }
          const counts = engines.map((e) => e.containerCount);
          // The chosen engine had the fewest containers.
          expect(chosen.containerCount).toBe(Math.min(...counts));
          chosen.add({ id: `c${step}`, name: `c${step}`, nanoCpus: req.cpu, memoryBytes: req.mem });
          const after = engines.map((e) => e.containerCount);
          expect(Math.max(...after) - Math.min(...after)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('binpack fills the fullest engine that still fits before using another', () => {
    fc.assert(
      fc.property(
        enginesArb({ minLength: 2, maxLength: 5, healthy: true }),
        fc.array(reqArb, { minLength: 1, maxLength: 25 }),
        ratioArb,
        (generated, reqs, ratio) => {
          // The model is updated as containers are placed: never mutate fast-check's values (it breaks shrinking).
          const engines = structuredClone(generated);
          const statics = engines.map(toStatic);
          const source = new StaticSource(statics);
          const s = scheduler('binpack', ratio);
          reqs.forEach((req, step) => {
            const p = s.place(request(req), source);
            const expected = refChoose(engines, req, ratio, 'binpack');
            expect(p.engine?.id).toBe(expected?.id);
            if (!expected) return;
            // Nothing that fits weighs more than the chosen engine.
            const chosenWeight = refWeight(expected, req, ratio, 10);
            for (const e of refCandidates(engines, req, ratio)) expect(refWeight(e, req, ratio, 10)).toBeLessThanOrEqual(chosenWeight);
            expected.containers.push({ cpu: req.cpu, mem: req.mem });
            (p.engine as StaticEngine).add({ id: `n${step}`, name: `n${step}`, nanoCpus: req.cpu, memoryBytes: req.mem });
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('binpack on equal, empty engines: at most one engine is partly filled at any time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        fc.record({ cpu: fc.integer({ min: 1, max: 20 }).map((n) => n * 1e8), mem: fc.integer({ min: 0, max: 16 }).map((n) => n * 128 * MiB) }),
        ratioArb,
        (n, steps, req, ratio) => {
          const engines = Array.from({ length: n }, (_, i) => new StaticEngine(`E${i}`, `n${i}`, `10.0.0.${i}:4250`, {}, { nanoCpus: 4e9, memoryBytes: 4 * GiB }));
          const source = new StaticSource(engines);
          const s = scheduler('binpack', ratio);
          const fits = (e: StaticEngine) => weighResources(e, request(req), ratio, 0);
          for (let step = 0; step < steps; step++) {
            const chosen = s.place(request(req), source).engine as StaticEngine | undefined;
            if (!chosen) {
              expect(engines.every((e) => 'reason' in fits(e))).toBe(true);
              break;
            }
            chosen.add({ id: `c${step}`, name: `c${step}`, nanoCpus: req.cpu, memoryBytes: req.mem });
            const partly = engines.filter((e) => e.containerCount > 0 && !('reason' in fits(e)));
            expect(partly.length).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random only picks healthy engines that fit, and finds one whenever one exists', () => {
    fc.assert(
      fc.property(enginesArb(), reqArb, ratioArb, fc.integer(), (engines, req, ratio, seed) => {
        const p = scheduler('random', ratio, prng(seed)).place(request(req), new StaticSource(engines.map(toStatic)));
        const candidates = refCandidates(engines, req, ratio).map((e) => e.id);
        if (candidates.length === 0) expect(p.engine).toBeUndefined();
        else expect(candidates).toContain(p.engine?.id);
        expect(p.strategy).toBe('random');
      }),
      { numRuns: 300 },
    );
  });

  it('random reaches every fitting engine over many draws', () => {
    const engines = [0, 1, 2, 3].map((i) => new StaticEngine(`E${i}`, `n${i}`, `10.0.0.${i}:4250`, {}, { nanoCpus: 4e9, memoryBytes: 4 * GiB }));
    engines[3].health = 0;
    const source = new StaticSource(engines);
    const s = scheduler('random', 0, prng(42));
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(s.place(request({ cpu: 1e9, mem: 0 }), source).engine!.id);
    expect([...seen].sort()).toEqual(['E0', 'E1', 'E2']);
  });

  it('overcommit: no placement ever makes reserved exceed total·(1+ratio)', () => {
    fc.assert(
      fc.property(
        enginesArb({ maxLength: 5 }).map((es) => es.map((e): RefEngine => ({ ...e, containers: [] }))),
        fc.array(fc.tuple(reqArb, fc.constantFrom<StrategyName>('spread', 'binpack', 'random')), { minLength: 1, maxLength: 40 }),
        ratioArb,
        fc.integer(),
        (generated, steps, ratio, seed) => {
          const engines = structuredClone(generated);
          const statics = engines.map(toStatic);
          const source = new StaticSource(statics);
          const s = scheduler('spread', ratio, prng(seed));
          steps.forEach(([req, strategy], step) => {
            const p = s.place(request(req, strategy), source);
            const byId = new Map(engines.map((e) => [e.id, e]));
            if (!p.engine) {
              expect(refCandidates(engines, req, ratio)).toEqual([]);
              return;
            }
            const ref = byId.get(p.engine.id)!;
            expect(refFits(ref, req, ratio)).toBe(true);
            ref.containers.push({ cpu: req.cpu, mem: req.mem });
            (p.engine as StaticEngine).add({ id: `c${step}`, name: `c${step}`, nanoCpus: req.cpu, memoryBytes: req.mem });
            for (const e of statics) {
              expect(e.reservedNanoCpus).toBeLessThanOrEqual(e.totalNanoCpus * (1 + ratio));
              expect(e.reservedMemoryBytes).toBeLessThanOrEqual(e.totalMemoryBytes * (1 + ratio));
            }
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a request bigger than every engine gets a resources verdict on each', () => {
    fc.assert(
      fc.property(enginesArb({ healthy: true }), ratioArb, fc.constantFrom<StrategyName>('spread', 'binpack', 'random'), fc.boolean(), (engines, ratio, strategy, byCpu) => {
        const biggest = Math.max(...engines.map((e) => (byCpu ? e.cpu : e.mem)));
        const req = byCpu ? { cpu: Math.ceil(biggest * (1 + ratio)) + 1e8, mem: 0 } : { cpu: 0, mem: Math.ceil(biggest * (1 + ratio)) + MiB };
        const p = scheduler(strategy, ratio, prng(1)).explain(request(req), new StaticSource(engines.map(toStatic)));
        expect(p.engine).toBeUndefined();
        expect(p.verdicts).toHaveLength(engines.length);
        for (const v of p.verdicts!) {
          expect(v.filter).toBe('resources');
          expect(v.reason).toMatch(byCpu ? /^needs [\d.]+ CPUs; / : /^needs \d+ MiB of memory; /);
          expect(v.weight).toBeUndefined();
          expect(v.chosen).toBeUndefined();
        }
        expect(p.summary.startsWith('no engine can take the container: ')).toBe(true);
        for (const v of p.verdicts!) {
          expect(p.summary).toContain(`${v.engine.name} (${v.engine.address}): `);
          expect(p.summary).toContain(v.reason!);
        }
        expect(p.summary).toContain('resources');
      }),
      { numRuns: 100 },
    );
  });
});
