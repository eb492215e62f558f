import { status } from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError } from '@flotilla/errors';
import fc from 'fast-check';
import { affinitiesLabel, constraintsLabel, labelList, placementRequestFrom, reschedulePoliciesLabel, type PlacementInput } from './placement-request';

function input(overrides: Partial<PlacementInput> = {}): PlacementInput {
  return {
    name: 'web',
    image: 'nginx:1.25',
    env: [],
    labels: {},
    nanoCpus: 0,
    memoryBytes: 0,
    portBindings: [],
    networkMode: '',
    constraints: [],
    affinities: [],
    strategy: '',
    ...overrides,
  };
}

function failure(spec: PlacementInput): InvalidArgumentError {
  try {
    placementRequestFrom(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe(status.INVALID_ARGUMENT);
    return err as InvalidArgumentError;
  }
  throw new Error('accepted');
}

describe('placementRequestFrom', () => {
  it('copies the typed fields', () => {
    const { request, env } = placementRequestFrom(
      input({ nanoCpus: '1500000000', memoryBytes: 268435456, strategy: 'binpack', constraints: ['zone==a'], affinities: ['image==redis'], env: ['A=1'] }),
    );
    expect(request).toMatchObject({ name: 'web', image: 'nginx:1.25', nanoCpus: 1.5e9, memoryBytes: 268435456, strategy: 'binpack', dependencies: [], ports: [] });
    expect(request.constraints.map((c) => c.text)).toEqual(['zone==a']);
    expect(request.affinities.map((a) => a.text)).toEqual(['image==redis']);
    expect(env).toEqual(['A=1']);
    expect(request.whitelist).toBeUndefined();
    expect(request.excluded).toBeUndefined();
  });

  it('leaves the strategy unset when empty, and reads empty amounts as 0', () => {
    const { request } = placementRequestFrom(input({ nanoCpus: '', memoryBytes: '' }));
    expect(request.strategy).toBeUndefined();
    expect(request.nanoCpus).toBe(0);
    expect(request.memoryBytes).toBe(0);
  });

  it('reads constraint: and affinity: env entries and removes them from the env', () => {
    const { request, env } = placementRequestFrom(
      input({
        constraints: ['disk==ssd'],
        affinities: ['container==db'],
        env: ['PATH=/bin', 'constraint:zone==~b', 'affinity:image!=redis*', 'X=constraint:zone==c', 'constraint:node!=n1', 'HOME=/root'],
      }),
    );
    expect(env).toEqual(['PATH=/bin', 'X=constraint:zone==c', 'HOME=/root']);
    expect(request.constraints.map((c) => [c.key, c.negated, c.soft, c.value])).toEqual([
      ['disk', false, false, 'ssd'],
      ['zone', false, true, 'b'],
      ['node', true, false, 'n1'],
    ]);
    expect(request.affinities.map((a) => [a.key, a.negated, a.soft, a.value])).toEqual([
      ['container', false, false, 'db'],
      ['image', true, false, 'redis*'],
    ]);
  });

  it('reads the JSON-array labels after the typed fields and env entries', () => {
    const { request } = placementRequestFrom(
      input({
        constraints: ['a1==x'],
        env: ['constraint:a2==x'],
        labels: { [constraintsLabel]: '["a3==x","a4!=~y"]', [affinitiesLabel]: '["container==web*"]', other: 'kept' },
      }),
    );
    expect(request.constraints.map((c) => c.text)).toEqual(['a1==x', 'a2==x', 'a3==x', 'a4!=~y']);
    expect(request.affinities.map((a) => a.text)).toEqual(['container==web*']);
  });

  it.each([
    [constraintsLabel, 'zone==a'],
    [constraintsLabel, '{"zone":"a"}'],
    [constraintsLabel, '["zone==a", 3]'],
    [affinitiesLabel, '[zone==a]'],
    [affinitiesLabel, '"image==redis"'],
  ])('rejects label %s = %j, naming the label', (label, text) => {
    const err = failure(input({ labels: { [label]: text } }));
    expect(err.message.startsWith(`labels[${label}] ${JSON.stringify(text)}: expected a JSON array`)).toBe(true);
  });

  it('names the field of a malformed expression, wherever it came from', () => {
    expect(failure(input({ constraints: ['zone==a', 'zone=b'] })).message).toMatch(/^constraints\[1\] "zone=b": /);
    expect(failure(input({ affinities: ['image=='] })).message).toMatch(/^affinities\[0\] "image==": the value is empty/);
    expect(failure(input({ env: ['A=1', 'B=2', 'constraint:9zone==a'] })).message).toMatch(/^env\[2\] "9zone==a": key/);
    expect(failure(input({ env: ['affinity:container=db'] })).message).toMatch(/^env\[0\] "container=db": /);
    expect(failure(input({ labels: { [constraintsLabel]: '["zone==a","zone==/[/"]' } })).message).toMatch(
      /^labels\[com\.docker\.swarm\.constraints\]\[1\] "zone==\/\[\/": bad regular expression/,
    );
    expect(failure(input({ labels: { [affinitiesLabel]: '["x"]' } })).message).toMatch(/^labels\[com\.docker\.swarm\.affinities\]\[0\] "x": /);
  });

  it('takes dependencies from volumes-from, links and container: network mode', () => {
    const { request } = placementRequestFrom(input({ volumesFrom: ['data:ro', 'logs'], links: ['db:database', 'cache'], networkMode: 'container:vpn' }));
    expect(request.dependencies).toEqual(['data', 'logs', 'db', 'cache', 'vpn']);
    expect(placementRequestFrom(input({ networkMode: 'bridge' })).request.dependencies).toEqual([]);
    expect(placementRequestFrom(input({ networkMode: 'host' })).request.dependencies).toEqual([]);
  });

  it('keeps host ports above 0, defaulting the protocol to tcp', () => {
    const { request } = placementRequestFrom(
      input({
        portBindings: [
          { hostPort: 80, protocol: '', hostIp: '' },
          { hostPort: 0, protocol: 'tcp', hostIp: '' },
          { hostPort: 53, protocol: 'udp', hostIp: '10.0.0.1' },
        ],
      }),
    );
    expect(request.ports).toEqual([
      { hostPort: 80, protocol: 'tcp', hostIp: '' },
      { hostPort: 53, protocol: 'udp', hostIp: '10.0.0.1' },
    ]);
  });

  it.each([
    ['nano_cpus', { nanoCpus: -1 }, '-1'],
    ['nano_cpus', { nanoCpus: '-5' }, '"-5"'],
    ['nano_cpus', { nanoCpus: 'lots' }, '"lots"'],
    ['nano_cpus', { nanoCpus: Number.NaN }, 'null'],
    ['nano_cpus', { nanoCpus: 1.5 }, '1.5'],
    ['memory_bytes', { memoryBytes: -1024 }, '-1024'],
    ['memory_bytes', { memoryBytes: 'NaN' }, '"NaN"'],
    ['memory_bytes', { memoryBytes: Number.POSITIVE_INFINITY }, 'null'],
    ['memory_bytes', { memoryBytes: '1e300' }, '"1e300"'],
  ])('rejects %s %j', (field, overrides, shown) => {
    const err = failure(input(overrides as Partial<PlacementInput>));
    expect(err.message).toBe(`${field} ${shown}: must be a whole number, not negative`);
  });

  it('property: env entries are split exactly into placement expressions and the rest, in order', () => {
    const plain = fc.constantFrom('A=1', 'PATH=/usr/bin', 'X=constraint:zone==a', 'CONSTRAINT:zone==a', 'affinity', 'constraint=zone==a');
    const placement = fc.tuple(fc.constantFrom('constraint', 'affinity'), fc.constantFrom('zone==a', 'disk!=~ssd', 'image==redis*', 'name==/^w/')).map(([k, e]) => `${k}:${e}`);
    fc.assert(
      fc.property(fc.array(fc.oneof(plain, placement), { maxLength: 12 }), (env) => {
        const { request, env: rest } = placementRequestFrom(input({ env }));
        expect(rest).toEqual(env.filter((e) => !/^(constraint|affinity):/.test(e)));
        expect(request.constraints.map((c) => c.text)).toEqual(env.filter((e) => e.startsWith('constraint:')).map((e) => e.slice('constraint:'.length)));
        expect(request.affinities.map((a) => a.text)).toEqual(env.filter((e) => e.startsWith('affinity:')).map((e) => e.slice('affinity:'.length)));
      }),
      { numRuns: 200 },
    );
  });

  it('property: whole non-negative amounts pass through; negative ones are rejected naming the field', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.boolean(), (n, asString) => {
        const value = asString ? String(n) : n;
        if (n >= 0) {
          const { request } = placementRequestFrom(input({ nanoCpus: value, memoryBytes: value }));
          expect(request.nanoCpus).toBe(n);
          expect(request.memoryBytes).toBe(n);
        } else {
          expect(failure(input({ nanoCpus: value })).message.startsWith(`nano_cpus ${JSON.stringify(value)}: `)).toBe(true);
          expect(failure(input({ memoryBytes: value })).message.startsWith(`memory_bytes ${JSON.stringify(value)}: `)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the labels a container keeps, as classic Swarm kept them', () => {
  it('writes every constraint and affinity of every source as JSON arrays, and takes them out of the env', () => {
    const { env, labels } = placementRequestFrom(
      input({
        constraints: ['disk==ssd'],
        affinities: ['container==db'],
        env: ['A=1', 'constraint:zone==a', 'affinity:image!=redis*', 'constraint: node!=n1 '],
        labels: { [constraintsLabel]: '["tier==front"]', [affinitiesLabel]: '["app==shop"]', other: 'kept' },
      }),
    );
    expect(env).toEqual(['A=1']);
    expect(labels).toEqual({
      other: 'kept',
      [constraintsLabel]: '["disk==ssd","zone==a","node!=n1","tier==front"]',
      [affinitiesLabel]: '["container==db","image!=redis*","app==shop"]',
    });
  });

  it('writes exactly classic\'s JSON for one env constraint, and no label for what is not there', () => {
    const { labels } = placementRequestFrom(input({ env: ['constraint:zone==a'], labels: { app: 'web' } }));
    expect(labels).toEqual({ app: 'web', [constraintsLabel]: '["zone==a"]' });
    expect(placementRequestFrom(input({ labels: { [constraintsLabel]: '[]' } })).labels).toEqual({});
  });

  it('reads back what it wrote: the labels alone give the same expressions', () => {
    const first = placementRequestFrom(input({ constraints: ['zone==a', 'node!=/n[12]/'], env: ['affinity:container==~web*', 'constraint:disk==ssd'] }));
    const again = placementRequestFrom(input({ labels: first.labels }));
    expect(again.request.constraints.map((c) => c.text)).toEqual(first.request.constraints.map((c) => c.text));
    expect(again.request.affinities.map((a) => a.text)).toEqual(first.request.affinities.map((a) => a.text));
    expect(again.labels).toEqual(first.labels);
    expect(labelList(first.labels, constraintsLabel)).toEqual(['zone==a', 'node!=/n[12]/', 'disk==ssd']);
  });

  it('keeps reschedule:off (env or label) as the label ["off"] and out of the env', () => {
    const fromEnv = placementRequestFrom(input({ env: ['A=1', 'reschedule:off'] }));
    expect(fromEnv.env).toEqual(['A=1']);
    expect(fromEnv.labels).toEqual({ [reschedulePoliciesLabel]: '["off"]' });
    expect(fromEnv.reschedulePolicies).toEqual(['off']);
    const fromLabel = placementRequestFrom(input({ env: ['reschedule:off'], labels: { [reschedulePoliciesLabel]: '["off"]' } }));
    expect(fromLabel.labels).toEqual({ [reschedulePoliciesLabel]: '["off"]' });
  });

  it.each([
    ['the env', { env: ['A=1', 'reschedule:on-node-failure'] }, 'env[1]'],
    ['the label', { labels: { [reschedulePoliciesLabel]: '["on-node-failure"]' } }, `labels[${reschedulePoliciesLabel}][0]`],
  ])('refuses reschedule on-node-failure from %s with FAILED_PRECONDITION saying it is not supported yet', (_, overrides, field) => {
    let caught: unknown;
    try {
      placementRequestFrom(input(overrides as Partial<PlacementInput>));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FailedPreconditionError);
    const err = caught as FailedPreconditionError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe('RESCHEDULE_NOT_SUPPORTED');
    expect(err.message).toBe(
      `${field}: reschedule policy "on-node-failure" is not supported yet: the cluster does not reschedule containers when their engine fails, so the container was not created; leave the policy out (or use "off")`,
    );
  });

  it('refuses an unknown reschedule policy, two different ones, and a label that is not a JSON array of strings', () => {
    expect(failure(input({ env: ['reschedule:always'] })).message).toBe('env[0] "always": unknown reschedule policy; expected off or on-node-failure');
    expect(failure(input({ env: ['reschedule:off'], labels: { [reschedulePoliciesLabel]: '["on-node-failure"]' } })).message).toMatch(/too many reschedule policies \(off, on-node-failure\)/);
    expect(failure(input({ labels: { [reschedulePoliciesLabel]: 'off' } })).message).toMatch(/^labels\[com\.docker\.swarm\.reschedule-policies\] "off": expected a JSON array/);
  });

  it('labelList reads a JSON array of strings, and nothing from anything else', () => {
    expect(labelList({ k: '["a","b"]' }, 'k')).toEqual(['a', 'b']);
    for (const bad of ['', 'a', '{"a":1}', '["a",1]', '"a"', '[a]']) expect(labelList({ k: bad }, 'k')).toEqual([]);
    expect(labelList({}, 'k')).toEqual([]);
  });
});
