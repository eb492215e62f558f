import { InvalidArgumentError } from '@flotilla/errors';
import { ContainerSpec } from '@flotilla/proto/cluster';
import { checkContainerSpec, clusterRequestChecks } from './request-validation';
import { requestLimits as L } from './request-limits';

const KiB = 1024;

function spec(o: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    ...ContainerSpec.fromPartial({}),
    name: '',
    image: 'busybox:latest',
    command: [],
    entrypoint: [],
    env: [],
    labels: {},
    nanoCpus: '0',
    memoryBytes: '0',
    portBindings: [],
    networkMode: '',
    restartPolicy: undefined,
    constraints: [],
    affinities: [],
    strategy: '',
    privileged: false,
    pidMode: '',
    ipcMode: '',
    utsMode: '',
    capAdd: [],
    devices: [],
    binds: [],
    ...o,
  };
}

function refusal(work: () => unknown): InvalidArgumentError {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('container spec limits', () => {
  it('refuses a 512 KiB label with INVALID_ARGUMENT naming the field, a clipped value and the limit', () => {
    const err = refusal(() => checkContainerSpec(spec({ labels: { x: 'v'.repeat(512 * KiB) } })));
    expect(err.message).toBe(`spec.labels["x"] "${'v'.repeat(40)}…": value is 524288 bytes; at most 65536`);
  });

  it('a real-life spec passes, and so does one at every limit', () => {
    expect(() =>
      checkContainerSpec(
        spec({
          name: 'web-1',
          image: 'registry.example.com:5000/team/web@sha256:' + 'a'.repeat(64),
          command: ['nginx', '-g', 'daemon off;'],
          env: ['A=1', 'constraint:zone==eu', 'affinity:image==web'],
          labels: { 'com.docker.swarm.constraints': '["disk==ssd"]', team: 'web' },
          portBindings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp', hostIp: '' }],
          restartPolicy: { name: 'on-failure', maximumRetryCount: 3 },
          constraints: ['node==n1'],
          capAdd: ['NET_ADMIN'],
          binds: ['/data:/data:ro'],
        }),
      ),
    ).not.toThrow();
    expect(() =>
      checkContainerSpec(
        spec({
          name: 'n'.repeat(L.nameBytes),
          image: 'i'.repeat(L.imageBytes),
          env: Array.from({ length: L.envEntries }, (_, i) => `V${i}=${'x'.repeat(1000)}`),
          labels: Object.fromEntries(Array.from({ length: L.labelEntries }, (_, i) => [`k${i}`, 'v'.repeat(200)])),
          constraints: Array.from({ length: L.constraints }, (_, i) => `zone==z${i}`),
        }),
      ),
    ).not.toThrow();
  });

  it.each<[string, Partial<ContainerSpec>, RegExp]>([
    ['name too long', { name: 'n'.repeat(256) }, /^spec\.name "n{40}…": value is 256 bytes; at most 255$/],
    ['name outside Docker\'s grammar', { name: 'a b' }, /^spec\.name "a b": only \[a-zA-Z0-9\]/],
    ['image', { image: 'i'.repeat(513) }, /^spec\.image "i{40}…": value is 513 bytes; at most 512$/],
    ['env entries', { env: Array.from({ length: 1001 }, () => 'A=1') }, /^spec\.env \["A=1","A=1","A=1",…\]: 1001 entries; at most 1000$/],
    ['env entry', { env: ['A=1', `B=${'b'.repeat(32 * KiB)}`] }, /^spec\.env\[1\] "B=b{38}…": value is 32770 bytes; at most 32768$/],
    ['env in all', { env: Array.from({ length: 40 }, () => `A=${'a'.repeat(30 * KiB)}`) }, /^spec\.env \[.*\]: 1228880 bytes in all; at most 1048576$/],
    ['command entries', { command: Array.from({ length: 4097 }, () => 'x') }, /^spec\.command .*: 4097 entries; at most 4096$/],
    ['entrypoint entry', { entrypoint: ['e'.repeat(128 * KiB + 1)] }, /^spec\.entrypoint\[0\] "e{40}…": value is 131073 bytes; at most 131072$/],
    ['label entries', { labels: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, ''])) }, /^spec\.labels \{"k0":"",.*\}: 1001 entries; at most 1000$/],
    ['label key', { labels: { ['k'.repeat(1025)]: 'v' } }, /^spec\.labels key "k{40}…": key is 1025 bytes; at most 1024$/],
    ['labels in all', { labels: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'v'.repeat(60 * KiB)])) }, /^spec\.labels .*: 307210 bytes of keys and values in all; at most 262144$/],
    ['port bindings', { portBindings: Array.from({ length: 1025 }, () => ({ containerPort: 80, hostPort: 0, protocol: '', hostIp: '' })) }, /^spec\.port_bindings .*: 1025 entries; at most 1024$/],
    ['host port', { portBindings: [{ containerPort: 80, hostPort: 70000, protocol: '', hostIp: '' }] }, /^spec\.port_bindings\[0\]\.host_port 70000: must be 0 to 65535$/],
    ['host ip', { portBindings: [{ containerPort: 80, hostPort: 0, protocol: '', hostIp: '1'.repeat(65) }] }, /^spec\.port_bindings\[0\]\.host_ip .*at most 64$/],
    ['network mode', { networkMode: `container:${'c'.repeat(600)}` }, /^spec\.network_mode "container:c{30}…": value is 610 bytes; at most 512$/],
    ['restart policy', { restartPolicy: { name: 'r'.repeat(65), maximumRetryCount: 0 } }, /^spec\.restart_policy\.name .*at most 64$/],
    ['constraint', { constraints: [`zone==${'z'.repeat(1024)}`] }, /^spec\.constraints\[0\] "zone==z{34}…": value is 1030 bytes; at most 1024$/],
    ['constraints from every source', { constraints: Array.from({ length: 30 }, () => 'a==b'), env: Array.from({ length: 30 }, () => 'constraint:a==b'), labels: { 'com.docker.swarm.constraints': JSON.stringify(Array.from({ length: 5 }, () => 'a==b')) } }, /^spec\.constraints "65 expressions": 65 constraints from the field, env entries "constraint:" and the label com\.docker\.swarm\.constraints together; at most 64$/],
    ['affinities', { affinities: Array.from({ length: 65 }, () => 'image==x') }, /^spec\.affinities .*: 65 entries; at most 64$/],
    ['affinity in env', { env: [`affinity:image==${'i'.repeat(1100)}`] }, /^spec\.env\[0\] "affinity:.*at most 1033$/],
    ['strategy', { strategy: 's'.repeat(65) }, /^spec\.strategy .*at most 64$/],
    ['pid mode', { pidMode: 'p'.repeat(513) }, /^spec\.pid_mode .*at most 512$/],
    ['capabilities', { capAdd: Array.from({ length: 65 }, () => 'NET_ADMIN') }, /^spec\.cap_add .*: 65 entries; at most 64$/],
    ['device', { devices: ['/dev/' + 'd'.repeat(8192)] }, /^spec\.devices\[0\] .*at most 8192$/],
    ['binds', { binds: Array.from({ length: 1001 }, () => 'v:/v') }, /^spec\.binds .*: 1001 entries; at most 1000$/],
    ['mounts', { mounts: Array.from({ length: 1001 }, () => ({ type: 'tmpfs', source: '', target: '/t', readOnly: false, options: {} })) }, /^spec\.mounts .*: 1001 entries; at most 1000$/],
    ['mount target', { mounts: [{ type: 'volume', source: 'v', target: '/' + 't'.repeat(4096), readOnly: false, options: {} }] }, /^spec\.mounts\[0\]\.target .*at most 4096$/],
    ['mount options', { mounts: [{ type: 'tmpfs', source: '', target: '/t', readOnly: false, options: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`o${i}`, ''])) }] }, /^spec\.mounts\[0\]\.options .*: 17 entries; at most 16$/],
    ['tmpfs', { tmpfs: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`/t${i}`, ''])) }, /^spec\.tmpfs .*: 1001 entries; at most 1000$/],
    ['user', { user: 'u'.repeat(257) }, /^spec\.user .*at most 256$/],
    ['working dir', { workingDir: '/' + 'w'.repeat(4096) }, /^spec\.working_dir .*at most 4096$/],
    ['hostname', { hostname: 'h'.repeat(64) }, /^spec\.hostname .*at most 63$/],
    ['dns', { dns: Array.from({ length: 17 }, () => '1.1.1.1') }, /^spec\.dns .*: 17 entries; at most 16$/],
    ['extra hosts', { extraHosts: Array.from({ length: 1001 }, () => 'a:1.1.1.1') }, /^spec\.extra_hosts .*: 1001 entries; at most 1000$/],
    ['health test', { healthCheck: { test: ['CMD', 'x'.repeat(128 * KiB + 1)], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 } }, /^spec\.health_check\.test\[1\] .*at most 131072$/],
    ['log options', { logConfig: { driver: 'json-file', options: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`o${i}`, ''])) } }, /^spec\.log_config\.options .*: 65 entries; at most 64$/],
    ['ulimits', { ulimits: Array.from({ length: 33 }, () => ({ name: 'nofile', soft: '1', hard: '1' })) }, /^spec\.ulimits .*: 33 entries; at most 32$/],
    ['stop signal', { stopSignal: 'S'.repeat(33) }, /^spec\.stop_signal .*at most 32$/],
    ['cpuset', { cpusetCpus: '1,'.repeat(200) }, /^spec\.cpuset_cpus .*at most 256$/],
    ['the whole spec', { command: Array.from({ length: 3 }, () => 'c'.repeat(120 * KiB)), entrypoint: Array.from({ length: 8 }, () => 'e'.repeat(120 * KiB)), env: Array.from({ length: 30 }, () => `A=${'a'.repeat(30 * KiB)}`) }, /^spec "busybox:latest \(\d+ bytes\)": the spec is \d+ bytes encoded; at most 2097152$/],
  ])('refuses %s, naming the field', (_what, fields, message) => {
    expect(refusal(() => checkContainerSpec(spec(fields))).message).toMatch(message);
  });

  it('keeps messages short whatever the value', () => {
    const err = refusal(() => checkContainerSpec(spec({ env: [`X=${'é'.repeat(3 * 1024 * 1024)}`] })));
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toMatch(/value is 6291458 bytes/);
  });

  it('counts bytes, not characters', () => {
    expect(refusal(() => checkContainerSpec(spec({ image: 'é'.repeat(257) }))).message).toMatch(/value is 514 bytes; at most 512/);
  });
});

describe('every ClusterService request', () => {
  const big = 'x'.repeat(L.referenceBytes + 1);
  it.each<[string, () => void, RegExp]>([
    ['AddEngine', () => clusterRequestChecks.addEngine({ address: big }), /^address /],
    ['RemoveEngine', () => clusterRequestChecks.removeEngine({ engine: big }), /^engine "x{40}…": value is 513 bytes; at most 512$/],
    ['GetEngine', () => clusterRequestChecks.getEngine({ engine: big }), /^engine /],
    ['ListEngines statuses', () => clusterRequestChecks.listEngines({ statuses: Array.from({ length: 1001 }, () => 1), labels: {}, pageSize: 0, pageToken: '' }), /^statuses .*1001 entries; at most 1000$/],
    ['ListEngines labels', () => clusterRequestChecks.listEngines({ statuses: [], labels: { zone: 'z'.repeat(65 * KiB) }, pageSize: 0, pageToken: '' }), /^labels\["zone"\] /],
    ['ListEngines page token', () => clusterRequestChecks.listEngines({ statuses: [], labels: {}, pageSize: 0, pageToken: 't'.repeat(4097) }), /^page_token /],
    ['WatchEvents types', () => clusterRequestChecks.watchEvents({ types: ['t'.repeat(257)], engines: [], containers: [] }), /^types\[0\] /],
    ['WatchEvents engines', () => clusterRequestChecks.watchEvents({ types: [], engines: Array.from({ length: 1001 }, () => 'e'), containers: [] }), /^engines .*1001 entries/],
    ['WatchEvents containers', () => clusterRequestChecks.watchEvents({ types: [], engines: [], containers: [big] }), /^containers\[0\] /],
    ['SyncEngines source', () => clusterRequestChecks.syncEngines({ source: 's'.repeat(2049), generation: '1', addresses: [] }), /^source /],
    ['CreateContainer', () => clusterRequestChecks.createContainer({ spec: spec({ image: big }), start: false, requestId: '' }), /^spec\.image /],
    ['ExplainPlacement', () => clusterRequestChecks.explainPlacement({ spec: spec({ name: big }) }), /^spec\.name /],
    ['StartContainer', () => clusterRequestChecks.startContainer({ container: big }), /^container /],
    ['StopContainer', () => clusterRequestChecks.stopContainer({ container: 'c', timeoutSeconds: 86_401 }), /^timeout_seconds 86401: must be 0 to 86400$/],
    ['KillContainer', () => clusterRequestChecks.killContainer({ container: 'c', signal: 'S'.repeat(33) }), /^signal /],
    ['RemoveContainer', () => clusterRequestChecks.removeContainer({ container: big, force: false, volumes: false }), /^container /],
    ['InspectContainer', () => clusterRequestChecks.inspectContainer({ container: big }), /^container /],
    ['ContainerLogs', () => clusterRequestChecks.containerLogs({ container: 'c', follow: false, stdout: true, stderr: true, tail: 0, timestamps: false, since: new Date(NaN) }), /^since "Invalid Date": /],
    ['ListContainers names', () => clusterRequestChecks.listContainers({ all: true, engines: [], states: [], labels: {}, names: [big], pageSize: 0, pageToken: '' }), /^names\[0\] /],
    ['ListContainers states', () => clusterRequestChecks.listContainers({ all: true, engines: [], states: Array.from({ length: 1001 }, () => 'running'), labels: {}, names: [], pageSize: 0, pageToken: '' }), /^states /],
    ['PullImage', () => clusterRequestChecks.pullImage({ image: 'i'.repeat(513), engines: [] }), /^image /],
  ])('%s: over a limit is INVALID_ARGUMENT naming the field', (_what, work, message) => {
    expect(refusal(work).message).toMatch(message);
  });

  it('ordinary requests pass', () => {
    expect(() => clusterRequestChecks.addEngine({ address: '10.0.0.1:4250' })).not.toThrow();
    expect(() => clusterRequestChecks.getInfo({})).not.toThrow();
    expect(() => clusterRequestChecks.syncEngines({ source: 'file:///etc/flotilla/engines', generation: '1700000000000', addresses: ['a:1', 'b:1'] })).not.toThrow();
    expect(() => clusterRequestChecks.containerLogs({ container: 'web', follow: true, stdout: true, stderr: true, tail: 100, timestamps: true, since: new Date(0) })).not.toThrow();
    expect(() => clusterRequestChecks.stopContainer({ container: 'web', timeoutSeconds: undefined })).not.toThrow();
  });
});
