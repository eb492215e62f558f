import { InvalidArgumentError } from '@flotilla/errors';
import fc from 'fast-check';
import type { PlacementRequest } from '../placement-request';
import { placementRequestFrom } from '../placement-request';
import { StaticEngine, type StaticContainer } from '../static-engine';
import { allFilters, containerSlotsFilter, dependencyFilter, filterNames, filtersByName, healthFilter, networkFilter, portFilter, volumeFilter, whitelistFilter } from './index';

const hard = { soft: false };

function request(overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return { name: 'new', image: 'app:1', nanoCpus: 0, memoryBytes: 0, ports: [], constraints: [], affinities: [], dependencies: [], ...overrides };
}

let seq = 0;
function engine(labels: Record<string, string> = {}, containers: StaticContainer[] = [], id = `E${++seq}`): StaticEngine {
  const e = new StaticEngine(id, `node-${id}`, `10.0.0.${seq}:4250`, labels, { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 });
  for (const c of containers) e.add(c);
  return e;
}

function container(name: string, extra: Partial<StaticContainer> = {}): StaticContainer {
  return { id: `${name}-id`.padEnd(64, '0'), name, ...extra };
}

describe('filter registry', () => {
  it('keeps classic order', () => {
    expect(filterNames).toEqual(['health', 'port', 'containerslots', 'dependency', 'volume', 'network', 'affinity', 'constraint', 'whitelist']);
    expect(filtersByName(['constraint', 'health'])).toEqual([allFilters[7], allFilters[0]]);
  });

  it('rejects an unknown filter naming its index', () => {
    expect(() => filtersByName(['health', 'nope'])).toThrow(InvalidArgumentError);
    expect(() => filtersByName(['health', 'nope'], 'cluster.filters')).toThrow(/^cluster\.filters\[1\] "nope": unknown filter; expected one of health, port/);
  });
});

describe('health filter', () => {
  it('rejects health 0 only', () => {
    const e = engine();
    for (const [health, ok] of [
      [100, true],
      [1, true],
      [0.5, true],
      [0, false],
    ] as const) {
      e.health = health;
      expect(healthFilter.reject(e, request(), hard)).toBe(ok ? null : 'engine is not healthy');
    }
    expect(healthFilter.applies(request())).toBe(true);
  });

  it('says the engine\'s health in its own words when it has them', () => {
    const e = Object.assign(engine(), { healthText: () => 'pending: connection refused' });
    e.health = 0;
    expect(healthFilter.reject(e, request(), hard)).toBe('engine is pending: connection refused');
  });
});

describe('port filter', () => {
  const bound = (ports: StaticContainer['ports']) => engine({}, [container('holder', { ports })]);
  const want = (hostPort: number, hostIp = '', protocol = 'tcp') => request({ ports: [{ hostPort, protocol, hostIp }] });

  it('does not apply without ports', () => {
    expect(portFilter.applies(request())).toBe(false);
    expect(portFilter.applies(want(80))).toBe(true);
  });

  it('the same port and protocol clash', () => {
    const reason = portFilter.reject(bound([{ hostPort: 80 }]), want(80), hard);
    expect(reason).toBe('host port 80/tcp is already bound (by 0.0.0.0)');
    expect(portFilter.reject(bound([{ hostPort: 80 }]), want(81), hard)).toBeNull();
  });

  it('udp and tcp on the same port do not clash', () => {
    expect(portFilter.reject(bound([{ hostPort: 53, protocol: 'udp' }]), want(53, '', 'tcp'), hard)).toBeNull();
    expect(portFilter.reject(bound([{ hostPort: 53, protocol: 'tcp' }]), want(53, '', 'udp'), hard)).toBeNull();
    expect(portFilter.reject(bound([{ hostPort: 53, protocol: 'udp' }]), want(53, '', 'udp'), hard)).toMatch(/53\/udp is already bound/);
    // An empty protocol means tcp on both sides.
    expect(portFilter.reject(bound([{ hostPort: 53 }]), want(53, '', ''), hard)).toMatch(/53\/tcp/);
  });

  it('binding all interfaces clashes with any IP, either way round', () => {
    for (const any of ['', '0.0.0.0', '::']) {
      expect(portFilter.reject(bound([{ hostPort: 80, hostIp: '10.0.0.1' }]), want(80, any), hard)).not.toBeNull();
      expect(portFilter.reject(bound([{ hostPort: 80, hostIp: any }]), want(80, '10.0.0.1'), hard)).not.toBeNull();
      expect(portFilter.reject(bound([{ hostPort: 80, hostIp: any }]), want(80, any), hard)).not.toBeNull();
    }
  });

  it('different specific IPs do not clash; the same one does', () => {
    expect(portFilter.reject(bound([{ hostPort: 80, hostIp: '10.0.0.1' }]), want(80, '10.0.0.2'), hard)).toBeNull();
    expect(portFilter.reject(bound([{ hostPort: 80, hostIp: '10.0.0.1' }]), want(80, '10.0.0.1'), hard)).toBe('host port 10.0.0.1:80/tcp is already bound (by 10.0.0.1)');
    const two = bound([
      { hostPort: 80, hostIp: '10.0.0.1' },
      { hostPort: 80, hostIp: '10.0.0.2' },
    ]);
    expect(portFilter.reject(two, want(80, '10.0.0.3'), hard)).toBeNull();
    expect(portFilter.reject(two, want(80, '10.0.0.2'), hard)).toMatch(/by 10\.0\.0\.1, 10\.0\.0\.2/);
  });

  it('host port 0 never clashes (placementRequestFrom drops it)', () => {
    const e = bound([{ hostPort: 8080 }]);
    const spec = {
      name: 'x',
      image: 'i',
      env: [],
      labels: {},
      nanoCpus: 0,
      memoryBytes: 0,
      networkMode: '',
      constraints: [],
      affinities: [],
      strategy: '',
      portBindings: [
        { hostPort: 0, protocol: 'tcp', hostIp: '' },
        { hostPort: 0, protocol: 'udp', hostIp: '' },
      ],
    };
    const r = placementRequestFrom(spec).request;
    expect(portFilter.applies(r)).toBe(false);
    expect(portFilter.reject(e, r, hard)).toBeNull();
  });

  it('any clashing port of several rejects', () => {
    const e = bound([{ hostPort: 443 }]);
    const r = request({
      ports: [
        { hostPort: 80, protocol: 'tcp', hostIp: '' },
        { hostPort: 443, protocol: 'tcp', hostIp: '' },
      ],
    });
    expect(portFilter.reject(e, r, hard)).toMatch(/443\/tcp/);
  });

  it('property: agrees with a brute-force scan of the containers', () => {
    const ip = fc.constantFrom('', '0.0.0.0', '::', '10.0.0.1', '10.0.0.2');
    const port = fc.record({ hostPort: fc.constantFrom(80, 443, 53), protocol: fc.constantFrom('tcp', 'udp'), hostIp: ip });
    const isAny = (x: string) => x === '' || x === '0.0.0.0' || x === '::';
    fc.assert(
      fc.property(fc.array(fc.array(port, { maxLength: 2 }), { maxLength: 4 }), fc.array(port, { minLength: 1, maxLength: 3 }), (held, wanted) => {
        const e = engine(
          {},
          held.map((ports, i) => container(`c${i}`, { ports })),
        );
        const clash = wanted.some((w) =>
          held.some((ps) => ps.some((p) => p.hostPort === w.hostPort && p.protocol === w.protocol && (isAny(p.hostIp) || isAny(w.hostIp) || p.hostIp === w.hostIp))),
        );
        const reason = portFilter.reject(e, request({ ports: wanted.map((w) => ({ ...w })) }), hard);
        expect(reason !== null).toBe(clash);
      }),
      { numRuns: 300 },
    );
  });
});

describe('containerslots filter', () => {
  const withCount = (label: string | undefined, n: number) =>
    engine(
      label === undefined ? {} : { containerslots: label },
      Array.from({ length: n }, (_, i) => container(`c${i}`)),
    );

  it('caps the container count at N', () => {
    expect(containerSlotsFilter.reject(withCount('3', 2), request(), hard)).toBeNull();
    expect(containerSlotsFilter.reject(withCount('3', 3), request(), hard)).toBe('all 3 container slots are taken');
    expect(containerSlotsFilter.reject(withCount('3', 5), request(), hard)).toBe('all 3 container slots are taken');
    expect(containerSlotsFilter.reject(withCount('0', 0), request(), hard)).toBe('all 0 container slots are taken');
  });

  it('no label means no cap', () => {
    expect(containerSlotsFilter.reject(withCount(undefined, 500), request(), hard)).toBeNull();
  });

  it.each(['', ' ', 'many', '-1', '2.5', 'NaN', 'Infinity'])('ignores the invalid label %j', (label) => {
    expect(containerSlotsFilter.reject(withCount(label, 10), request(), hard)).toBeNull();
  });

  it('property: rejects exactly when a whole-number label is reached', () => {
    fc.assert(
      fc.property(fc.nat({ max: 8 }), fc.nat({ max: 10 }), (slots, count) => {
        expect(containerSlotsFilter.reject(withCount(String(slots), count), request(), hard) !== null).toBe(count >= slots);
      }),
      { numRuns: 100 },
    );
  });
});

describe('dependency filter', () => {
  const e = engine({}, [container('db', { id: 'abcdef0123456789'.padEnd(64, '0') }), container('cache')]);

  it('does not apply without dependencies', () => {
    expect(dependencyFilter.applies(request())).toBe(false);
    expect(dependencyFilter.applies(request({ dependencies: ['db'] }))).toBe(true);
  });

  it('needs every dependency, by name, ID or 12+ character ID prefix', () => {
    expect(dependencyFilter.reject(e, request({ dependencies: ['db', 'cache'] }), hard)).toBeNull();
    expect(dependencyFilter.reject(e, request({ dependencies: ['abcdef012345'] }), hard)).toBeNull();
    expect(dependencyFilter.reject(e, request({ dependencies: ['abcdef0123456789'.padEnd(64, '0')] }), hard)).toBeNull();
    expect(dependencyFilter.reject(e, request({ dependencies: ['abcdef'] }), hard)).toBe('does not hold "abcdef", which the container depends on');
    expect(dependencyFilter.reject(e, request({ dependencies: ['db', 'vpn', 'logs'] }), hard)).toBe('does not hold "vpn", "logs", which the container depends on');
  });
});

describe('whitelist filter', () => {
  const a = engine({}, [], 'A');
  const b = engine({}, [], 'B');

  it('applies only with a whitelist or exclusions', () => {
    expect(whitelistFilter.applies(request())).toBe(false);
    expect(whitelistFilter.applies(request({ excluded: new Map() }))).toBe(false);
    expect(whitelistFilter.applies(request({ excluded: new Map([['A', 'x']]) }))).toBe(true);
    expect(whitelistFilter.applies(request({ whitelist: new Set() }))).toBe(true);
  });

  it('keeps only whitelisted engines', () => {
    const r = request({ whitelist: new Set(['A']) });
    expect(whitelistFilter.reject(a, r, hard)).toBeNull();
    expect(whitelistFilter.reject(b, r, hard)).toBe('not in the whitelist');
  });

  it('rejects engines already tried, with why they failed', () => {
    const r = request({ excluded: new Map([['A', 'image pull failed']]), whitelist: new Set(['A', 'B']) });
    expect(whitelistFilter.reject(a, r, hard)).toBe('already tried: image pull failed');
    expect(whitelistFilter.reject(b, r, hard)).toBeNull();
  });
});

describe('volume filter', () => {
  const withVolumes = (volumes: string[]) => {
    const e = engine();
    volumes.forEach((v) => e.volumes.add(v));
    return e;
  };

  it('applies only when the request mounts a volume some engine holds', () => {
    expect(volumeFilter.applies(request())).toBe(false);
    expect(volumeFilter.applies(request({ volumes: [] }))).toBe(false);
    expect(volumeFilter.applies(request({ volumes: ['data'] }))).toBe(true);
  });

  it('keeps engines that hold every such volume and names what the others lack', () => {
    expect(volumeFilter.reject(withVolumes(['data', 'logs']), request({ volumes: ['data', 'logs'] }), hard)).toBeNull();
    expect(volumeFilter.reject(withVolumes(['data']), request({ volumes: ['data', 'logs'] }), hard)).toBe('does not hold volume "logs", which the container mounts and another engine holds');
  });
});

describe('network filter', () => {
  const withNetworks = (networks: string[]) => {
    const e = engine();
    networks.forEach((n) => e.networks.add(n));
    return e;
  };

  it('applies only when the request joins a network some engine holds', () => {
    expect(networkFilter.applies(request())).toBe(false);
    expect(networkFilter.applies(request({ networks: [] }))).toBe(false);
    expect(networkFilter.applies(request({ networks: ['backend'] }))).toBe(true);
  });

  it('keeps engines that hold the network and names what the others lack', () => {
    expect(networkFilter.reject(withNetworks(['backend']), request({ networks: ['backend'] }), hard)).toBeNull();
    expect(networkFilter.reject(withNetworks(['frontend']), request({ networks: ['backend'] }), hard)).toBe('does not hold network "backend", which the container joins and another engine holds');
  });
});
