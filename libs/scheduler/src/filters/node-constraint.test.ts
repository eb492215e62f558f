import { parseExpression } from '../expression';
import type { PlacementRequest } from '../placement-request';
import { Scheduler } from '../scheduler';
import { StaticEngine, StaticSource } from '../static-engine';
import { spreadStrategy } from '../strategies';
import { addressIp, allFilters, constraintFilter, constraintHolds, nodeIdentities } from './index';

// `node==` and `node!=` take what classic Swarm users wrote: the engine's name, its ID, its
// address, classic's `ID|address`, and its IP. `node!=X` excludes an engine as soon as ANY of its
// identities matches X (classic's own `node!=ID` excluded nothing: not copied).

const idA = 'AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:0000:1111:2222:3333:4444:5555';
const idB = 'BBBB:CCCC:DDDD:EEEE:FFFF:0000:1111:2222:3333:4444:5555:6666';

function engine(id: string, name: string, address: string, ip?: string): StaticEngine {
  const e = new StaticEngine(id, name, address, { zone: 'a' }, { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 });
  return ip === undefined ? e : Object.assign(e, { ip });
}

const n1 = engine(idA, 'n1', '10.0.0.1:4250');
const n2 = engine(idB, 'n2', '10.0.0.2:4250');
const n3 = engine('ID-THREE', 'n3', 'agent-3.example:4250');
const v6 = engine('ID-SIX', 'n6', '[fd00::6]:4250');

function request(...constraints: string[]): PlacementRequest {
  return { name: '', image: 'busybox', nanoCpus: 0, memoryBytes: 0, ports: [], constraints: constraints.map((c, i) => parseExpression(c, `constraints[${i}]`)), affinities: [], dependencies: [] };
}

const holds = (text: string, on: StaticEngine) => constraintHolds(on, parseExpression(text, 'c'));

describe('node identities', () => {
  it('are the name, the ID, the address, ID|address and the IP of the address', () => {
    expect(nodeIdentities(n1)).toEqual(['n1', idA, '10.0.0.1:4250', `${idA}|10.0.0.1:4250`, '10.0.0.1']);
    expect(nodeIdentities(v6)).toEqual(['n6', 'ID-SIX', '[fd00::6]:4250', 'ID-SIX|[fd00::6]:4250', 'fd00::6']);
    // A host name is no IP: there is none to add.
    expect(nodeIdentities(n3)).toEqual(['n3', 'ID-THREE', 'agent-3.example:4250', 'ID-THREE|agent-3.example:4250']);
  });

  it('use the IP the engine reports when it reports one', () => {
    expect(nodeIdentities(engine('ID-R', 'r', 'agent-r.example:4250', '192.0.2.7'))).toContain('192.0.2.7');
  });

  it('addressIp takes an IP host out of host:port, and nothing else', () => {
    expect(addressIp('10.0.0.1:4250')).toBe('10.0.0.1');
    expect(addressIp('[::1]:4250')).toBe('::1');
    expect(addressIp('localhost:4250')).toBe('');
    expect(addressIp('')).toBe('');
  });
});

describe.each([
  ['name', 'n1'],
  ['ID', idA],
  ['address', '10.0.0.1:4250'],
  ['ID|address', `${idA}|10.0.0.1:4250`],
  ['IP', '10.0.0.1'],
])('node constraint by %s', (_, value) => {
  it(`node==${value} holds on that engine only`, () => {
    expect(holds(`node==${value}`, n1)).toBe(true);
    expect(holds(`node==${value}`, n2)).toBe(false);
    expect(holds(`node==${value}`, n3)).toBe(false);
  });

  it(`node!=${value} excludes that engine, and only it`, () => {
    expect(holds(`node!=${value}`, n1)).toBe(false);
    expect(holds(`node!=${value}`, n2)).toBe(true);
    expect(holds(`node!=${value}`, n3)).toBe(true);
  });

  it('ignores case, as every expression does', () => {
    expect(holds(`node==${value.toLowerCase()}`, n1)).toBe(true);
    expect(holds(`node!=${value.toLowerCase()}`, n1)).toBe(false);
  });
});

describe('node constraints with globs and regular expressions', () => {
  it('node!=/n[12]/ excludes n1 and n2 and keeps n3', () => {
    expect(holds('node!=/n[12]/', n1)).toBe(false);
    expect(holds('node!=/n[12]/', n2)).toBe(false);
    expect(holds('node!=/n[12]/', n3)).toBe(true);
    expect(holds('node==/n[12]/', n1)).toBe(true);
    expect(holds('node==/n[12]/', n3)).toBe(false);
  });

  it('match any identity: the address by glob, the IP by regex, the ID by prefix glob', () => {
    expect(holds('node==10.0.0.*', n1)).toBe(true);
    expect(holds('node!=10.0.0.*', n2)).toBe(false);
    expect(holds('node==/^10\\.0\\.0\\.2$/', n2)).toBe(true);
    expect(holds('node!=/^10\\.0\\.0\\.2$/', n1)).toBe(true);
    expect(holds('node==AAAA:*', n1)).toBe(true);
    expect(holds('node!=AAAA:*', n1)).toBe(false);
    expect(holds('node!=AAAA:*', n2)).toBe(true);
    expect(holds('node==*.example:4250', n3)).toBe(true);
  });

  it('a soft node!= is dropped only when nothing else fits', () => {
    const s = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
    expect(s.place(request('node!=~10.0.0.1'), new StaticSource([n1])).engine).toBe(n1);
    expect(s.place(request('node!=~10.0.0.1'), new StaticSource([n1, n2])).engine).toBe(n2);
  });
});

describe('placement with node constraints', () => {
  const s = new Scheduler({ filters: allFilters, strategy: spreadStrategy, overcommitRatio: 0 });
  const source = new StaticSource([n1, n2, n3]);

  it.each([
    ['node==n2', [n2]],
    [`node==${idB}`, [n2]],
    ['node==10.0.0.2:4250', [n2]],
    [`node==${idB}|10.0.0.2:4250`, [n2]],
    ['node==10.0.0.2', [n2]],
    ['node!=/n[12]/', [n3]],
  ])('%s leaves only the engines it allows', (c, allowed) => {
    const verdicts = s.explain(request(c), source).verdicts!;
    expect(verdicts.filter((v) => !v.filter).map((v) => v.engine)).toEqual(allowed);
  });

  it('every negated form of one engine together leaves the others', () => {
    const r = request('node!=n1', `node!=${idB}`, 'node!=agent-3.example:4250');
    expect(s.place(r, source).engine).toBeUndefined();
    expect(s.place(request('node!=n1', `node!=${idB}|10.0.0.2:4250`), source).engine).toBe(n3);
  });

  it('explains a rejection with the engine name, ID and address', () => {
    expect(constraintFilter.reject(n1, request('node==n2'), { soft: false })).toBe(`constraint node==n2 does not hold: engine is n1 (${idA.slice(0, 14)}, 10.0.0.1:4250)`);
  });
});
