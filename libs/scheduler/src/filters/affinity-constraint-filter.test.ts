import fc from 'fast-check';
import { parseExpression } from '../expression';
import type { PlacementRequest } from '../placement-request';
import { StaticEngine, type StaticContainer } from '../static-engine';
import { affinityFilter, constraintFilter, constraintHolds, constraintValues } from './index';

const hard = { soft: false };
const withSoft = { soft: true };

function request(overrides: { constraints?: string[]; affinities?: string[] } = {}): PlacementRequest {
  return {
    name: 'new',
    image: 'app:1',
    nanoCpus: 0,
    memoryBytes: 0,
    ports: [],
    constraints: (overrides.constraints ?? []).map((c, i) => parseExpression(c, `constraints[${i}]`)),
    affinities: (overrides.affinities ?? []).map((a, i) => parseExpression(a, `affinities[${i}]`)),
    dependencies: [],
  };
}

function engine(id: string, name: string, labels: Record<string, string>, containers: StaticContainer[] = [], images: string[] = []): StaticEngine {
  const e = new StaticEngine(id, name, `${name}.example:4250`, labels, { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 });
  for (const c of containers) e.add(c);
  for (const i of images) e.images.add(i);
  return e;
}

const webId = '0123456789abcdef'.repeat(4);
const dbId = 'fedcba9876543210'.repeat(4);

describe('affinity filter', () => {
  const e = engine('E1', 'n1', {}, [
    { id: webId, name: 'web-1', image: 'nginx:1.25', labels: { app: 'shop', tier: 'front' } },
    { id: dbId, name: 'db', image: 'sha256:aaaa', labels: { app: 'shop' } },
  ]);
  e.images.add('redis:latest');
  const empty = engine('E2', 'n2', {});
  const ok = (aff: string, on: StaticEngine = e, pass = hard) => affinityFilter.reject(on, request({ affinities: [aff] }), pass) === null;

  it('does not apply without affinities', () => {
    expect(affinityFilter.applies(request())).toBe(false);
    expect(affinityFilter.applies(request({ affinities: ['image==x'] }))).toBe(true);
  });

  it('container== matches a name, a glob, a full ID, ignoring case', () => {
    expect(ok('container==web-1')).toBe(true);
    expect(ok('container==WEB-1')).toBe(true);
    expect(ok('container==web-*')).toBe(true);
    expect(ok('container==/^we/')).toBe(true);
    expect(ok(`container==${webId}`)).toBe(true);
    expect(ok('container==web')).toBe(false);
    expect(ok('container==api*')).toBe(false);
    expect(ok('container==web-1', empty)).toBe(false);
  });

  it('container== matches an ID prefix of 12 or more characters', () => {
    expect(ok(`container==${webId.slice(0, 12)}`)).toBe(true);
    expect(ok(`container==${dbId.slice(0, 20)}`)).toBe(true);
    expect(ok(`container==${webId.slice(0, 12)}*`)).toBe(true);
    expect(ok(`container==${webId.slice(0, 11)}`)).toBe(false);
    expect(ok(`container==${'9'.repeat(12)}`)).toBe(false);
  });

  it('container!= keeps engines without the container, by name, glob or ID prefix', () => {
    expect(ok('container!=web-1')).toBe(false);
    expect(ok('container!=web-*')).toBe(false);
    expect(ok(`container!=${webId.slice(0, 12)}`)).toBe(false);
    expect(ok('container!=api')).toBe(true);
    expect(ok('container!=web-1', empty)).toBe(true);
    expect(ok(`container!=${webId.slice(0, 12)}`, empty)).toBe(true);
  });

  it('image== matches repo:tag, a bare repo as :latest, an ID, and globs over the refs', () => {
    expect(ok('image==nginx:1.25')).toBe(true);
    expect(ok('image==nginx')).toBe(false); // a bare repo means nginx:latest
    expect(ok('image==redis')).toBe(true);
    expect(ok('image==redis:latest')).toBe(true);
    expect(ok('image==sha256:aaaa')).toBe(true);
    expect(ok('image==nginx*')).toBe(true);
    expect(ok('image==NGINX:*')).toBe(true);
    expect(ok('image==/^redis/')).toBe(true);
    expect(ok('image==mysql*')).toBe(false);
    expect(ok('image==redis', empty)).toBe(false);
  });

  it('image!= is the complement', () => {
    expect(ok('image!=redis')).toBe(false);
    expect(ok('image!=nginx:1.25')).toBe(false);
    expect(ok('image!=nginx')).toBe(true);
    expect(ok('image!=mysql*')).toBe(true);
    expect(ok('image!=redis', empty)).toBe(true);
  });

  it('other keys match container labels', () => {
    expect(ok('app==shop')).toBe(true);
    expect(ok('tier==front')).toBe(true);
    expect(ok('tier==back')).toBe(false);
    expect(ok('app!=shop')).toBe(false);
    expect(ok('tier!=back')).toBe(true);
    expect(ok('app==sh*')).toBe(true);
    expect(ok('app==shop', empty)).toBe(false);
    expect(ok('app!=shop', empty)).toBe(true);
    expect(ok('missing!=x')).toBe(true);
  });

  it('every affinity must hold, and the reason names the first that does not', () => {
    const r = request({ affinities: ['app==shop', 'container!=db', 'image==redis'] });
    expect(affinityFilter.reject(e, r, hard)).toBe('affinity container!=db does not hold');
  });

  it('soft affinities are enforced in the soft pass only', () => {
    expect(ok('container==~api', e, withSoft)).toBe(false);
    expect(ok('container==~api', e, hard)).toBe(true);
    expect(ok('container==~web-1', e, withSoft)).toBe(true);
  });
});

describe('constraint filter', () => {
  const e = engine('ID-OF-ENGINE-1234567890', 'node-a', { zone: 'eu-1', Disk: 'SSD', ostype: 'linux' });
  const ok = (c: string, on: StaticEngine = e, pass = hard) => constraintFilter.reject(on, request({ constraints: [c] }), pass) === null;

  it('does not apply without constraints', () => {
    expect(constraintFilter.applies(request())).toBe(false);
  });

  it('node== matches the engine name, ID, address, ID|address or IP', () => {
    expect(ok('node==node-a')).toBe(true);
    expect(ok('node==NODE-A')).toBe(true);
    expect(ok('node==ID-OF-ENGINE-1234567890')).toBe(true);
    expect(ok('node==node-*')).toBe(true);
    expect(ok('node==node-b')).toBe(false);
    expect(ok('node!=node-a')).toBe(false);
    expect(ok('node!=ID-OF-ENGINE-1234567890')).toBe(false);
    expect(ok('node!=node-b')).toBe(true);
    expect(constraintValues(e, 'node')).toEqual(['node-a', 'ID-OF-ENGINE-1234567890', 'node-a.example:4250', 'ID-OF-ENGINE-1234567890|node-a.example:4250']);
  });

  it('other keys match engine labels, keys and values ignoring case', () => {
    expect(ok('zone==eu-1')).toBe(true);
    expect(ok('ZONE==EU-1')).toBe(true);
    expect(ok('disk==ssd')).toBe(true);
    expect(ok('zone==eu-*')).toBe(true);
    expect(ok('zone==/^eu/')).toBe(true);
    expect(ok('zone==us-1')).toBe(false);
    expect(ok('zone!=eu-1')).toBe(false);
    expect(ok('zone!=us-1')).toBe(true);
  });

  it('a missing label reads as "": != keeps, == rejects, * keeps', () => {
    expect(ok('foo!=bar')).toBe(true);
    expect(ok('foo==bar')).toBe(false);
    expect(ok('foo==*')).toBe(true);
    expect(ok('foo==/^$/')).toBe(true);
    expect(constraintValues(e, 'foo')).toEqual(['']);
  });

  it('explains what the engine has', () => {
    expect(constraintFilter.reject(e, request({ constraints: ['zone==us-1'] }), hard)).toBe('constraint zone==us-1 does not hold: label zone is "eu-1"');
    expect(constraintFilter.reject(e, request({ constraints: ['foo==bar'] }), hard)).toBe('constraint foo==bar does not hold: label foo is ""');
    expect(constraintFilter.reject(e, request({ constraints: ['node==x1'] }), hard)).toBe('constraint node==x1 does not hold: engine is node-a (ID-OF-ENGINE-1, node-a.example:4250)');
    expect(constraintFilter.reject(e, request({ constraints: ['zone==eu-1', 'ostype==windows', 'disk==hdd'] }), hard)).toMatch(/^constraint ostype==windows/);
  });

  it('soft constraints are enforced in the soft pass only', () => {
    expect(ok('zone==~us-1', e, withSoft)).toBe(false);
    expect(ok('zone==~us-1', e, hard)).toBe(true);
  });

  it('property: constraintHolds agrees with a brute-force reading of the labels', () => {
    const keys = ['zone', 'disk', 'tier', 'node'];
    const values = ['a', 'b', 'ssd', 'A', 'Ssd'];
    const valueArb = fc.constantFrom('a', 'b', 'ssd', 'SSD', 'a*', '*s*', '/^s/', '/b$/', 'node-1', 'ID1', 'node-*');
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('zone', 'Disk', 'tier'), fc.constantFrom(...values)),
        fc.constantFrom(...keys),
        fc.boolean(),
        valueArb,
        (labels, key, negated, value) => {
          const en = engine('ID1', 'node-1', labels);
          const c = parseExpression(`${key}${negated ? '!=' : '=='}${value}`, 'c');
          const subject =
            key === 'node' ? ['node-1', 'ID1', 'node-1.example:4250', 'ID1|node-1.example:4250'] : [Object.entries(labels).find(([k]) => k.toLowerCase() === key)?.[1] ?? ''];
          const matchOne = (v: string) =>
            value.startsWith('/') ? new RegExp(value.slice(1, -1), 'i').test(v) : new RegExp(`^${value.replace(/\*/g, '.*')}$`, 'i').test(v);
          const matched = subject.some(matchOne);
          expect(constraintHolds(en, c)).toBe(negated ? !matched : matched);
        },
      ),
      { numRuns: 300 },
    );
  });
});
