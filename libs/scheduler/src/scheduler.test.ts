import fc from 'fast-check';
import { parseExpression } from './expression';
import { allFilters } from './filters';
import type { PlacementEngine } from './placement-engine';
import type { PlacementRequest } from './placement-request';
import { Scheduler, type Placement, type PlacementSource } from './scheduler';
import { StaticEngine, StaticSource } from './static-engine';
import { strategyByName } from './strategies';

// ---------------------------------------------------------------------------------------------
// A brute-force reference model over plain objects: the filters in classic order, then resources,
// then the strategy's order, with a second pass without soft expressions when the first finds none.
// ---------------------------------------------------------------------------------------------

interface RefContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  cpu: number;
  mem: number;
  ports: Array<{ hostPort: number; protocol: string; hostIp: string }>;
}

interface RefEngine {
  id: string;
  name: string;
  address: string;
  labels: Record<string, string>;
  health: number;
  cpu: number;
  mem: number;
  containers: RefContainer[];
}

interface RefExpr {
  key: string;
  negated: boolean;
  soft: boolean;
  value: string;
  /** The key as written (any case). */
  writtenKey: string;
}

interface RefRequest {
  cpu: number;
  mem: number;
  ports: Array<{ hostPort: number; protocol: string; hostIp: string }>;
  constraints: RefExpr[];
  affinities: RefExpr[];
  dependencies: string[];
}

type RefVerdict = { filter: string } | { weight: number };

function render(e: RefExpr): string {
  return `${e.writtenKey}${e.negated ? '!=' : '=='}${e.soft ? '~' : ''}${e.value}`;
}

function isRegex(v: string): boolean {
  return v.length > 1 && v.startsWith('/') && v.endsWith('/');
}

/** Glob by dynamic programming (no regular expressions), ignoring ASCII case. */
function refGlob(pattern: string, candidate: string): boolean {
  const p = pattern.toLowerCase();
  const c = candidate.toLowerCase();
  let dp = c.split('').map(() => false);
  dp = [true, ...dp];
  for (const ch of p) {
    const next = dp.map(() => false);
    if (ch === '*') {
      let any = false;
      for (let j = 0; j < dp.length; j++) next[j] = any = any || dp[j];
    } else {
      for (let j = 1; j < dp.length; j++) next[j] = dp[j - 1] && c[j - 1] === ch;
    }
    dp = next;
  }
  return dp[c.length];
}

function refMatch(value: string, candidate: string): boolean {
  return isRegex(value) ? new RegExp(value.slice(1, -1), 'i').test(candidate) : refGlob(value, candidate);
}

function refHolds(e: RefExpr, values: string[]): boolean {
  const matched = (values.length ? values : ['']).some((v) => refMatch(e.value, v));
  return e.negated ? !matched : matched;
}

const isAnyIp = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';

function refLabel(e: RefEngine, key: string): string {
  if (e.labels[key] !== undefined) return e.labels[key];
  const k = Object.keys(e.labels).find((x) => x.toLowerCase() === key);
  return k === undefined ? '' : e.labels[k];
}

function refHasContainer(e: RefEngine, ref: string): boolean {
  return e.containers.some((c) => c.name === ref || c.id === ref || (ref.length >= 12 && c.id.startsWith(ref)));
}

function refAffinity(e: RefEngine, a: RefExpr): boolean {
  const plain = !isRegex(a.value) && !a.value.includes('*');
  if (a.key === 'image' && plain) {
    const images = new Set(e.containers.map((c) => c.image));
    const has = images.has(a.value) || (!a.value.includes(':') && images.has(`${a.value}:latest`));
    return a.negated ? !has : has;
  }
  if (a.key === 'container' && plain && refHasContainer(e, a.value)) return !a.negated;
  const values =
    a.key === 'container'
      ? e.containers.flatMap((c) => [c.name, c.id])
      : a.key === 'image'
        ? [...new Set(e.containers.map((c) => c.image))]
        : [...new Set(e.containers.map((c) => c.labels[a.key]).filter((v): v is string => v !== undefined))];
  return refHolds(a, values);
}

function refConstraint(e: RefEngine, c: RefExpr): boolean {
  // node: the name, the ID, the address, classic's ID|address, and the IP of the address.
  return refHolds(c, c.key === 'node' ? [e.name, e.id, e.address, `${e.id}|${e.address}`, e.address.split(':')[0]] : [refLabel(e, c.key)]);
}

function refReserved(e: RefEngine): { cpu: number; mem: number } {
  return e.containers.reduce((s, c) => ({ cpu: s.cpu + c.cpu, mem: s.mem + c.mem }), { cpu: 0, mem: 0 });
}

function refVerdict(e: RefEngine, r: RefRequest, soft: boolean, ratio: number, f: number): RefVerdict {
  if (!(e.health > 0)) return { filter: 'health' };
  for (const p of r.ports) {
    const users = e.containers.flatMap((c) => c.ports.filter((q) => q.hostPort === p.hostPort && (q.protocol || 'tcp') === (p.protocol || 'tcp')).map((q) => q.hostIp));
    if (users.length && (isAnyIp(p.hostIp) || users.some((ip) => isAnyIp(ip) || ip === p.hostIp))) return { filter: 'port' };
  }
  const slots = e.labels.containerslots;
  if (slots !== undefined && /^\d+$/.test(slots) && e.containers.length >= Number(slots)) return { filter: 'containerslots' };
  if (r.dependencies.some((d) => !refHasContainer(e, d))) return { filter: 'dependency' };
  if (r.affinities.some((a) => (soft || !a.soft) && !refAffinity(e, a))) return { filter: 'affinity' };
  if (r.constraints.some((c) => (soft || !c.soft) && !refConstraint(e, c))) return { filter: 'constraint' };
  const res = refReserved(e);
  const usableCpu = e.cpu * (1 + ratio);
  const usableMem = e.mem * (1 + ratio);
  if (r.cpu > 0 && res.cpu + r.cpu > usableCpu) return { filter: 'resources' };
  if (r.mem > 0 && res.mem + r.mem > usableMem) return { filter: 'resources' };
  const cpuScore = r.cpu > 0 ? ((res.cpu + r.cpu) * 100) / usableCpu : 100;
  const memScore = r.mem > 0 ? ((res.mem + r.mem) * 100) / usableMem : 100;
  return { weight: cpuScore + memScore + f * e.health };
}

interface RefDecision {
  chosen: string | undefined;
  softDropped: boolean;
  verdicts: RefVerdict[];
}

function refDecide(engines: RefEngine[], r: RefRequest, strategy: 'spread' | 'binpack', ratio: number): RefDecision {
  const f = strategy === 'spread' ? -10 : 10;
  const sign = strategy === 'spread' ? 1 : -1;
  const pass = (soft: boolean) => {
    const verdicts = engines.map((e) => refVerdict(e, r, soft, ratio, f));
    const ranked = engines
      .map((e, i) => ({ e, i, v: verdicts[i] }))
      .filter((x): x is { e: RefEngine; i: number; v: { weight: number } } => 'weight' in x.v)
      .sort((a, b) => sign * (a.v.weight - b.v.weight) || sign * (a.e.containers.length - b.e.containers.length) || (a.e.address < b.e.address ? -1 : a.e.address > b.e.address ? 1 : 0) || a.i - b.i);
    return { verdicts, chosen: ranked[0]?.e.id };
  };
  const first = pass(true);
  const hasSoft = [...r.constraints, ...r.affinities].some((x) => x.soft);
  if (first.chosen || !hasSoft) return { ...first, softDropped: false };
  return { ...pass(false), softDropped: true };
}

// ---- turning the model into the real thing ----

function toStatic(e: RefEngine): StaticEngine {
  const s = new StaticEngine(e.id, e.name, e.address, { ...e.labels }, { nanoCpus: e.cpu, memoryBytes: e.mem });
  s.health = e.health;
  for (const c of e.containers) s.add({ id: c.id, name: c.name, image: c.image, labels: c.labels, nanoCpus: c.cpu, memoryBytes: c.mem, ports: c.ports });
  return s;
}

function toRequest(r: RefRequest, strategy?: string): PlacementRequest {
  return {
    name: 'new',
    image: 'app:1',
    nanoCpus: r.cpu,
    memoryBytes: r.mem,
    ports: r.ports.map((p) => ({ ...p })),
    constraints: r.constraints.map((c, i) => parseExpression(render(c), `constraints[${i}]`)),
    affinities: r.affinities.map((a, i) => parseExpression(render(a), `affinities[${i}]`)),
    dependencies: r.dependencies,
    strategy,
  };
}

/** A source with no label index: the scheduler must scan everything. */
function plainSource(engines: PlacementEngine[]): PlacementSource {
  return { all: () => engines };
}

function verdictShape(p: Placement): RefVerdict[] {
  return p.verdicts!.map((v) => (v.filter !== undefined ? { filter: v.filter } : { weight: v.weight! }));
}

// Never let shrinking a failure run away with the suite's time.
fc.configureGlobal({ interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true });

// ---- generators ----

const containerIds = ['0123456789abcdef', 'fedcba9876543210', 'aaaabbbbccccdddd', '1111222233334444'].map((s) => s.repeat(4));
const zoneValues = ['a', 'b', 'c', 'A'];
const diskValues = ['ssd', 'hdd', 'SSD'];

const portArb = fc.record({ hostPort: fc.constantFrom(80, 443), protocol: fc.constantFrom('tcp', 'udp'), hostIp: fc.constantFrom('', '0.0.0.0', '10.0.0.1', '10.0.0.2') });

const containerArb: fc.Arbitrary<Omit<RefContainer, 'id'> & { idIndex: number }> = fc.record({
  idIndex: fc.nat({ max: containerIds.length - 1 }),
  name: fc.constantFrom('web-1', 'web-2', 'db', 'cache', 'api'),
  image: fc.constantFrom('redis:latest', 'redis:7', 'nginx:1.25', 'app:1'),
  labels: fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('shop', 'blog', 'front')),
  cpu: fc.constantFrom(0, 5e8, 1e9),
  mem: fc.constantFrom(0, 256 * 2 ** 20, 2 ** 30),
  ports: fc.array(portArb, { maxLength: 1 }),
});

const engineArb = fc.record({
  zone: fc.option(fc.constantFrom(...zoneValues), { nil: undefined }),
  zoneKey: fc.constantFrom('zone', 'Zone'),
  disk: fc.option(fc.constantFrom(...diskValues), { nil: undefined }),
  slots: fc.option(fc.constantFrom('1', '2', '4', 'x'), { freq: 4, nil: undefined }),
  health: fc.constantFrom(100, 100, 100, 60, 0),
  cpus: fc.integer({ min: 1, max: 4 }),
  gib: fc.integer({ min: 1, max: 4 }),
  containers: fc.array(containerArb, { maxLength: 4 }),
  address: fc.nat({ max: 3 }),
});

const enginesArb: fc.Arbitrary<RefEngine[]> = fc.array(engineArb, { minLength: 1, maxLength: 7 }).map((es) =>
  es.map((e, i) => {
    const labels: Record<string, string> = {};
    if (e.zone !== undefined) labels[e.zoneKey] = e.zone;
    if (e.disk !== undefined) labels.disk = e.disk;
    if (e.slots !== undefined) labels.containerslots = e.slots;
    return {
      id: `ENGINE${i}`,
      name: `n${i}`,
      address: `10.1.0.${e.address}:4250`,
      labels,
      health: e.health,
      cpu: e.cpus * 1e9,
      mem: e.gib * 2 ** 30,
      containers: e.containers.map(({ idIndex, ...c }) => ({ ...c, id: containerIds[idIndex] })),
    };
  }),
);

function exprArb(keys: Record<string, string[]>): fc.Arbitrary<RefExpr> {
  return fc
    .constantFrom(...Object.keys(keys))
    .chain((key) =>
      fc.record({
        key: fc.constant(key),
        writtenKey: fc.constantFrom(key, key.toUpperCase()),
        negated: fc.boolean(),
        soft: fc.boolean(),
        value: fc.constantFrom(...keys[key]),
      }),
    );
}

const constraintArb = exprArb({
  zone: ['a', 'b', 'c', 'B', 'a*', '*', '/^[ab]$/'],
  disk: ['ssd', 'hdd', 's*', '/d$/'],
  node: ['n0', 'n1', 'ENGINE2', 'n*', '/[13]$/', '10.1.0.2:4250', '10.1.0.1', '10.1.0.*', 'ENGINE1|10.1.0.1:4250', '/^engine\\d\\|10\\.1\\.0\\.3/'],
  tier: ['x', '*'],
});

const affinityArb = exprArb({
  container: ['web-1', 'db', 'web*', 'WEB-2', '/^c/', containerIds[0].slice(0, 12), containerIds[1].slice(0, 16), containerIds[2]],
  image: ['redis', 'redis:7', 'nginx:1.25', 'nginx', 'redis*', '/^app/'],
  app: ['shop', 'blog', 'sh*'],
});

const requestArb: fc.Arbitrary<RefRequest> = fc.record({
  cpu: fc.constantFrom(0, 5e8, 1e9, 2e9),
  mem: fc.constantFrom(0, 512 * 2 ** 20, 2 ** 30),
  ports: fc.array(portArb, { maxLength: 1 }),
  constraints: fc.array(constraintArb, { maxLength: 3 }),
  affinities: fc.array(affinityArb, { maxLength: 2 }),
  dependencies: fc.array(fc.constantFrom('db', 'web-1', containerIds[3].slice(0, 12)), { maxLength: 1 }),
});

const strategyArb = fc.constantFrom<'spread' | 'binpack'>('spread', 'binpack');
const ratioArb = fc.constantFrom(0, 0.05, 0.5);

function scheduler(strategy: string, ratio = 0.05, random?: () => number): Scheduler {
  return new Scheduler({ filters: allFilters, strategy: strategyByName(strategy, random), overcommitRatio: ratio });
}

function describeEngine(e: PlacementEngine): string {
  return e.name && e.name !== e.address ? `${e.name} (${e.address})` : e.address;
}

/** The invariants of every explanation. */
function checkExplanation(p: Placement, engines: PlacementEngine[]): void {
  expect(p.verdicts).toHaveLength(engines.length);
  p.verdicts!.forEach((v, i) => {
    expect(v.engine).toBe(engines[i]);
    const rejected = v.filter !== undefined;
    expect(rejected).toBe(v.weight === undefined);
    if (rejected) {
      expect([...allFilters.map((f) => f.name), 'resources']).toContain(v.filter);
      expect(typeof v.reason).toBe('string');
      expect(v.reason!.length).toBeGreaterThan(0);
      expect(v.chosen).toBeUndefined();
    } else {
      expect(Number.isFinite(v.weight)).toBe(true);
    }
  });
  const chosen = p.verdicts!.filter((v) => v.chosen);
  if (p.engine) {
    expect(chosen).toHaveLength(1);
    expect(chosen[0].engine).toBe(p.engine);
    expect(chosen[0].weight).toBe(p.weight);
    expect(p.summary).toBe(`placed on ${describeEngine(p.engine)} by ${p.strategy}${p.softDropped ? ' (soft expressions dropped)' : ''}`);
  } else {
    expect(chosen).toHaveLength(0);
    expect(p.weight).toBeUndefined();
    expect(p.summary.startsWith('no engine can take the container')).toBe(true);
    for (const v of p.verdicts!) {
      expect(p.summary).toContain(`${describeEngine(v.engine)}: `);
      expect(p.summary).toContain(v.filter!);
      expect(p.summary).toContain(v.reason!);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function engine(id: string, labels: Record<string, string>, extra: { health?: number; cpus?: number; gib?: number } = {}): StaticEngine {
  const e = new StaticEngine(id, `node-${id}`, `10.0.0.${id.charCodeAt(0)}:4250`, labels, { nanoCpus: (extra.cpus ?? 4) * 1e9, memoryBytes: (extra.gib ?? 8) * 2 ** 30 });
  if (extra.health !== undefined) e.health = extra.health;
  return e;
}

function req(constraints: string[] = [], affinities: string[] = [], extra: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    name: 'new',
    image: 'app:1',
    nanoCpus: 0,
    memoryBytes: 0,
    ports: [],
    constraints: constraints.map((c, i) => parseExpression(c, `constraints[${i}]`)),
    affinities: affinities.map((a, i) => parseExpression(a, `affinities[${i}]`)),
    dependencies: [],
    ...extra,
  };
}

describe('soft expressions', () => {
  const a = engine('a', { zone: 'eu' });
  const b = engine('b', { zone: 'us' });
  const c = engine('c', { zone: 'us', disk: 'ssd' });
  const source = new StaticSource([a, b, c]);

  it('a soft constraint that can be met is honoured', () => {
    for (const s of [scheduler('spread'), scheduler('binpack')]) {
      for (const p of [s.place(req(['disk==~ssd']), source), s.explain(req(['disk==~ssd']), source)]) {
        expect(p.engine).toBe(c);
        expect(p.softDropped).toBe(false);
      }
    }
  });

  it('soft ones that exclude everything are dropped in the second pass, and an engine is chosen', () => {
    const s = scheduler('spread');
    const r = req(['zone==us', 'disk==~nvme'], ['container==~db']);
    const placed = s.place(r, source);
    expect(placed.softDropped).toBe(true);
    expect([b, c]).toContain(placed.engine);
    const explained = s.explain(r, source);
    expect(explained.softDropped).toBe(true);
    expect(explained.engine).toBe(placed.engine);
    expect(explained.summary).toMatch(/ \(soft expressions dropped\)$/);
    // The verdicts are those of the second pass: only the hard constraint rejects.
    expect(explained.verdicts!.map((v) => v.filter)).toEqual(['constraint', undefined, undefined]);
    checkExplanation(explained, [a, b, c]);
  });

  it('soft expressions never override hard ones', () => {
    const p = scheduler('spread').explain(req(['zone==asia', 'zone==~us']), source);
    expect(p.engine).toBeUndefined();
    expect(p.softDropped).toBe(true);
    expect(p.verdicts!.every((v) => v.filter === 'constraint')).toBe(true);
    checkExplanation(p, [a, b, c]);
  });

  it('without soft expressions there is no second pass', () => {
    const p = scheduler('spread').explain(req(['zone==asia']), source);
    expect(p.engine).toBeUndefined();
    expect(p.softDropped).toBe(false);
  });

  it('a soft affinity that can be met is honoured', () => {
    const withDb = engine('d', {}).add({ id: containerIds[0], name: 'db' });
    const other = engine('e', {});
    const s = scheduler('spread');
    const p = s.place(req([], ['container==~db']), new StaticSource([other, withDb]));
    expect(p.engine).toBe(withDb);
    expect(p.softDropped).toBe(false);
    const anti = s.place(req([], ['container!=~db']), new StaticSource([withDb, other]));
    expect(anti.engine).toBe(other);
  });
});

describe('explanations', () => {
  it('gives every engine a verdict and marks the chosen one', () => {
    const sick = engine('a', {}, { health: 0 });
    const small = engine('b', {}, { cpus: 1 });
    const wrong = engine('c', { zone: 'us' });
    const good = engine('d', { zone: 'eu' });
    const engines = [sick, small, wrong, good];
    const p = scheduler('spread').explain(req(['zone!=us'], [], { nanoCpus: 2e9 }), new StaticSource(engines));
    expect(p.engine).toBe(good);
    expect(p.verdicts!.map((v) => [v.filter ?? null, v.chosen ?? false])).toEqual([
      ['health', false],
      ['resources', false],
      ['constraint', false],
      [null, true],
    ]);
    expect(p.verdicts![0].reason).toBe('engine is not healthy');
    expect(p.verdicts![1].reason).toBe('needs 2 CPUs; 1.05 CPUs of 1.05 CPUs free');
    expect(p.verdicts![2].reason).toBe('constraint zone!=us does not hold: label zone is "us"');
    checkExplanation(p, engines);
  });

  it('an engine that says its health in words: rejected in those words at 0, and a fitting one below 100 says why it weighs less', () => {
    class Worded extends StaticEngine {
      text = '';
      healthText(): string {
        return this.text;
      }
    }
    const worded = (id: string, health: number, text: string) => Object.assign(new Worded(id, `node-${id}`, `10.0.0.${id.charCodeAt(0)}:4250`, {}, { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 }), { health, text });
    const down = worded('a', 0, 'unhealthy: the agent ended its Watch stream');
    const flapping = worded('b', 1, 'flapping: 3 failures in the last 5m');
    const steady = worded('c', 100, 'healthy');
    for (const strategy of ['spread', 'binpack']) {
      const p = scheduler(strategy).explain(req(), new StaticSource([down, flapping, steady]));
      expect(p.engine).toBe(steady);
      expect(p.verdicts!.map((v) => [v.filter ?? null, v.reason ?? null])).toEqual([
        ['health', 'engine is unhealthy: the agent ended its Watch stream'],
        [null, 'flapping: 3 failures in the last 5m'],
        [null, null],
      ]);
      // Placeable, last: where nothing steadier fits, the flapping engine is chosen.
      expect(scheduler(strategy).place(req(), new StaticSource([down, flapping])).engine).toBe(flapping);
    }
  });

  it('a request no engine can take has no engine and a summary naming each engine, filter and reason', () => {
    const engines = [engine('a', {}, { health: 0 }), engine('b', { zone: 'us' }), engine('c', { zone: 'eu' }, { gib: 1 })];
    for (const s of [scheduler('spread'), scheduler('binpack'), scheduler('random')]) {
      const r = req(['zone!=us'], [], { memoryBytes: 4 * 2 ** 30 });
      const p = s.explain(r, new StaticSource(engines));
      expect(p.engine).toBeUndefined();
      checkExplanation(p, engines);
      expect(p.summary).toContain('node-a (10.0.0.97:4250)');
      expect(p.summary).toContain('engine is not healthy');
      expect(p.summary).toContain('health');
      expect(p.summary).toContain('constraint zone!=us does not hold: label zone is "us"');
      expect(p.summary).toContain('needs 4096 MiB of memory');
      // place gives the same summary, built from a full pass.
      const placed = s.place(r, new StaticSource(engines));
      expect(placed.engine).toBeUndefined();
      expect(placed.verdicts).toBeUndefined();
      expect(placed.summary).toBe(p.summary);
    }
  });

  it('an empty cluster says so', () => {
    const p = scheduler('spread').explain(req(), new StaticSource([]));
    expect(p.engine).toBeUndefined();
    expect(p.summary).toBe('no engine can take the container: the cluster has no engines');
    expect(scheduler('spread').place(req(), new StaticSource([])).summary).toBe(p.summary);
  });

  it('describes an engine whose name is its address by the address only', () => {
    const e = new StaticEngine('X', '10.9.9.9:4250', '10.9.9.9:4250', {}, { nanoCpus: 1e9, memoryBytes: 2 ** 30 });
    e.health = 0;
    const p = scheduler('spread').explain(req(), new StaticSource([e]));
    expect(p.summary.startsWith('no engine can take the container: 10.9.9.9:4250: ')).toBe(true);
  });

  it('caps the summary at 50 engines', () => {
    const engines = Array.from({ length: 53 }, (_, i) => new StaticEngine(`E${i}`, `n${i}`, `10.3.0.${i}:1`, {}, { nanoCpus: 1e9, memoryBytes: 2 ** 30 }));
    engines.forEach((e) => (e.health = 0));
    const p = scheduler('spread').explain(req(), new StaticSource(engines));
    expect(p.summary).toMatch(/; and 3 more$/);
    expect(p.summary).toContain('n49 (');
    expect(p.summary).not.toContain('n50 (');
  });

  it('a request can override the strategy', () => {
    const empty = engine('a', {});
    const busy = engine('b', {}).add({ id: 'x', name: 'x', nanoCpus: 2e9 });
    const source = new StaticSource([empty, busy]);
    const s = scheduler('spread');
    expect(s.place(req([], [], { nanoCpus: 1e9 }), source).engine).toBe(empty);
    const p = s.place(req([], [], { nanoCpus: 1e9, strategy: 'binpack' }), source);
    expect(p.engine).toBe(busy);
    expect(p.strategy).toBe('binpack');
    expect(s.strategyName).toBe('spread');
  });
});

describe('bounded placement (--placement-candidates)', () => {
  const bounded = (strategy: string, candidates: number) => new Scheduler({ filters: allFilters, strategy: strategyByName(strategy), overcommitRatio: 0, candidates });
  const six = () => ['p', 'q', 'r', 's', 't', 'u'].map((id) => engine(id, {}));

  it('weighs at most N engines that fit, each decision starting where the last stopped', () => {
    const engines = six();
    const s = bounded('spread', 2);
    // All are equal: within each window of two the lower address wins, and the windows move on.
    const chosen = [1, 2, 3, 4].map(() => s.place(req(), plainSource(engines)).engine?.id);
    expect(chosen).toEqual(['p', 'r', 't', 'p']);
  });

  it('counts only engines that pass the filters and fit', () => {
    const engines = six();
    engines[1].health = 0;
    engines[2].health = 0;
    const s = bounded('spread', 2);
    // p fits, q and r are rejected, s fits: the window is {p, s}; the next starts at t.
    const first = s.place(req(), plainSource(engines));
    expect(first.engine?.id).toBe('p');
    engines[0].add({ id: 'x'.repeat(64), name: 'x', nanoCpus: 1e9 });
    expect(s.place(req(), plainSource(engines)).engine?.id).toBe('t');
    // Round again, the window {p, s}: p now holds a container, so s (fewer containers) wins.
    expect(s.place(req(), plainSource(engines)).engine?.id).toBe('s');
  });

  it('still finds the one engine that fits anywhere in the cluster', () => {
    const engines = six();
    for (const e of engines.slice(0, 5)) e.health = 0;
    const s = bounded('spread', 2);
    for (let i = 0; i < 3; i++) expect(s.place(req(), plainSource(engines)).engine?.id).toBe('u');
  });

  it('leaves binpack and explain weighing every engine', () => {
    const engines = six();
    engines[5].add({ id: 'y'.repeat(64), name: 'y', nanoCpus: 2e9 });
    const pack = bounded('binpack', 2);
    for (let i = 0; i < 3; i++) expect(pack.place(req([], [], { nanoCpus: 1e8 }), plainSource(engines)).engine?.id).toBe('u');
    const spread = bounded('spread', 2);
    const explained = spread.explain(req(), plainSource(engines));
    expect(explained.verdicts).toHaveLength(6);
    expect(explained.engine?.id).toBe('p');
  });

  it('weighs every engine with 0, or when the cluster is no larger than N', () => {
    const engines = six();
    engines[0].add({ id: 'z'.repeat(64), name: 'z', nanoCpus: 1e9 });
    for (const s of [bounded('spread', 0), bounded('spread', 6), bounded('spread', 100)]) {
      expect([1, 2, 3].map(() => s.place(req(), plainSource(engines)).engine?.id)).toEqual(['q', 'q', 'q']);
    }
  });
});

describe('label-index narrowing', () => {
  it('uses the smallest index for a hard literal constraint and gives the same answer as a full scan', () => {
    const engines = ['a', 'b', 'c', 'd'].map((id, i) => engine(id, { zone: i < 3 ? 'eu' : 'us', disk: i === 1 ? 'ssd' : 'hdd' }));
    const source = new StaticSource(engines);
    const calls: string[] = [];
    const spy: PlacementSource = {
      all: () => {
        calls.push('all');
        return engines;
      },
      withLabel: (k, v) => {
        calls.push(`withLabel ${k}=${v}`);
        return source.withLabel(k, v);
      },
      countWithLabel: (k, v) => source.countWithLabel(k, v),
    };
    const s = scheduler('spread');
    const r = req(['ZONE==EU', 'disk==SSD', 'node!=x']);
    expect(s.place(r, spy).engine).toBe(engines[1]);
    expect(calls).toEqual(['withLabel disk=ssd']);
    calls.length = 0;
    expect(s.explain(r, spy).engine).toBe(engines[1]);
    expect(calls).toEqual(['all']);
  });

  it('ignores negated, glob, regex and node constraints, and soft ones in the second pass', () => {
    const engines = [engine('a', { zone: 'eu' }), engine('b', { zone: 'us' })];
    const source = new StaticSource(engines);
    let narrowed = 0;
    const spy: PlacementSource = { all: () => engines, withLabel: (k, v) => (narrowed++, source.withLabel(k, v)) };
    const s = scheduler('spread');
    s.place(req(['zone!=eu', 'zone==u*', 'zone==/s/', 'node==node-b']), spy);
    expect(narrowed).toBe(0);
    const p = s.place(req(['zone==~asia']), spy);
    expect(p.engine).toBeDefined();
    expect(p.softDropped).toBe(true);
    expect(narrowed).toBe(1);
  });

  it('falls back to all engines when the index has no answer for the key', () => {
    const engines = [engine('a', { zone: 'eu' })];
    const source: PlacementSource = { all: () => engines, withLabel: () => undefined };
    expect(scheduler('spread').place(req(['zone==eu']), source).engine).toBe(engines[0]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('scheduler (property, against the brute-force reference)', () => {
  it('explain gives every engine the reference verdict, the reference choice and the same softDropped', () => {
    fc.assert(
      fc.property(enginesArb, requestArb, strategyArb, ratioArb, (refEngines, refReq, strategy, ratio) => {
        const engines = refEngines.map(toStatic);
        const p = scheduler(strategy, ratio).explain(toRequest(refReq), new StaticSource(engines));
        const expected = refDecide(refEngines, refReq, strategy, ratio);
        expect(verdictShape(p)).toEqual(expected.verdicts);
        expect(p.engine?.id).toBe(expected.chosen);
        expect(p.softDropped).toBe(expected.softDropped);
        checkExplanation(p, engines);
      }),
      { numRuns: 400 },
    );
  });

  it('constraints and affinities keep exactly the engines they should', () => {
    // Only expressions: every engine healthy, roomy and without ports or slots.
    const roomy = enginesArb.map((es) => es.map((e) => ({ ...e, health: 100, cpu: 64e9, mem: 256 * 2 ** 30, labels: { ...e.labels, containerslots: '100' }, containers: e.containers.map((c) => ({ ...c, ports: [] })) })));
    const exprs = fc.record({ constraints: fc.array(constraintArb, { maxLength: 4 }), affinities: fc.array(affinityArb, { maxLength: 3 }) });
    fc.assert(
      fc.property(roomy, exprs, (refEngines, { constraints, affinities }) => {
        const refReq: RefRequest = { cpu: 0, mem: 0, ports: [], constraints, affinities, dependencies: [] };
        const p = scheduler('spread').explain(toRequest(refReq), new StaticSource(refEngines.map(toStatic)));
        // With soft expressions enforced, and without.
        const soft = (x: RefExpr) => x.soft;
        const keepAll = refEngines.filter((e) => affinities.every((a) => refAffinity(e, a)) && constraints.every((c) => refConstraint(e, c)));
        const keepHard = refEngines.filter((e) => affinities.every((a) => soft(a) || refAffinity(e, a)) && constraints.every((c) => soft(c) || refConstraint(e, c)));
        const kept = p.verdicts!.filter((v) => v.filter === undefined).map((v) => v.engine.id);
        const dropped = keepAll.length === 0 && [...constraints, ...affinities].some(soft);
        expect(p.softDropped).toBe(dropped);
        expect(kept).toEqual((dropped ? keepHard : keepAll).map((e) => e.id));
      }),
      { numRuns: 400 },
    );
  });

  it('place and explain agree, with and without label-index narrowing', () => {
    fc.assert(
      fc.property(enginesArb, requestArb, fc.constantFrom('spread', 'binpack', 'random'), ratioArb, (refEngines, refReq, strategy, ratio) => {
        const engines = refEngines.map(toStatic);
        // Random with a constant draw keeps the first fitting engine, whatever the order of the scan.
        const s = scheduler(strategy, ratio, () => 0.5);
        const r = toRequest(refReq);
        const explained = s.explain(r, new StaticSource(engines));
        const indexed = s.place(r, new StaticSource(engines));
        const scanned = s.place(r, plainSource(engines));
        for (const p of [indexed, scanned]) {
          expect(p.engine).toBe(explained.engine);
          expect(p.weight).toBe(explained.weight);
          expect(p.softDropped).toBe(explained.softDropped);
          expect(p.strategy).toBe(explained.strategy);
          expect(p.verdicts).toBeUndefined();
          expect(p.summary).toBe(explained.summary);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('narrowing by literal constraints finds the same engine as a full scan, on label-heavy clusters', () => {
    const labelled = fc.array(
      fc.record({ zone: fc.constantFrom('a', 'b', 'A', 'B', 'c'), disk: fc.constantFrom('ssd', 'hdd', 'SSD'), containers: fc.nat({ max: 3 }), zoneKey: fc.constantFrom('zone', 'ZONE') }),
      { minLength: 1, maxLength: 12 },
    );
    const literal = fc.record({
      key: fc.constantFrom('zone', 'disk'),
      value: fc.constantFrom('a', 'b', 'ssd', 'HDD', 'c'),
      soft: fc.boolean(),
      negated: fc.boolean(),
      upper: fc.boolean(),
    });
    fc.assert(
      fc.property(labelled, fc.array(literal, { minLength: 1, maxLength: 3 }), strategyArb, (specs, cs, strategy) => {
        const engines = specs.map((sp, i) => {
          const e = new StaticEngine(`E${i}`, `n${i}`, `10.2.0.${i}:4250`, { [sp.zoneKey]: sp.zone, disk: sp.disk }, { nanoCpus: 2e9, memoryBytes: 2 ** 30 });
          for (let k = 0; k < sp.containers; k++) e.add({ id: `c${i}-${k}`, name: `c${i}-${k}`, nanoCpus: 3e8 });
          return e;
        });
        const r = req(cs.map((c) => `${c.upper ? c.key.toUpperCase() : c.key}${c.negated ? '!=' : '=='}${c.soft ? '~' : ''}${c.upper ? c.value.toUpperCase() : c.value}`), [], { nanoCpus: 5e8 });
        const s = scheduler(strategy);
        const explained = s.explain(r, new StaticSource(engines));
        expect(s.place(r, new StaticSource(engines)).engine).toBe(explained.engine);
        expect(s.place(r, plainSource(engines)).engine).toBe(explained.engine);
      }),
      { numRuns: 300 },
    );
  });
});
