import { requestLimits as L } from '@flotilla/cluster';
import { call } from '@flotilla/grpc';
import { type FlotillaError } from '@flotilla/errors';
import type { PortBinding } from '@flotilla/proto';
import { ClusterServiceService, ContainerSpec } from '@flotilla/proto/cluster';
import { waitFor } from '@flotilla/testing';
import { Client, credentials, Metadata, status, type ClientReadableStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import fc from 'fast-check';
import { clusterState, startInProcessCluster, type InProcessCluster } from './in-process';

// Every ClusterService RPC fed random, oversized and malformed requests, typed and as raw bytes,
// against an in-process manager over one hollow engine. Whatever comes in: the server stays up,
// every call ends with a status that blames the request (never INTERNAL or UNKNOWN), and a
// refused call leaves the engines and containers of the cluster as they were.

const typedRuns = 150;
const rawRuns = 100;

/** Statuses a bad request may get. */
const refusals = new Set<number>([status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION, status.PERMISSION_DENIED, status.RESOURCE_EXHAUSTED, status.ALREADY_EXISTS]);

let c: InProcessCluster;
let raw: Client;
let engineRefs: string[];
let containerRefs: string[];

beforeAll(async () => {
  // Small engine limits, so the fuzz meets them too.
  c = await startInProcessCluster(['--max-engines', '60', '--max-pending-engines', '30']);
  raw = new Client(c.address, credentials.createInsecure());
  const engine = c.manager.cluster.getEngine(c.engineAddress);
  engineRefs = [c.engineAddress, engine.id, engine.name];
});

/** Containers for the operations to find: keep-1 running, keep-2 created (earlier cases may have removed them). */
beforeEach(async () => {
  const engine = c.manager.cluster.getEngine(c.engineAddress);
  for (const name of ['keep-1', 'keep-2']) {
    const found = engine.findContainer(name);
    if (found && (name === 'keep-2' || found.state === 'running')) continue;
    if (found) await c.backend.removeContainer(found.id, true);
    await waitFor(() => !engine.findContainer(name), { what: `${name} to be gone` });
    const { id } = await c.backend.createContainer({ name, Image: 'busybox:local', HostConfig: {} });
    if (name === 'keep-1') await c.backend.startContainer(id);
    await waitFor(() => engine.findContainer(name)?.state === (name === 'keep-1' ? 'running' : 'created'), { what: `the manager to see ${name}` });
  }
  const ids = ['keep-1', 'keep-2'].map((name) => engine.findContainer(name)?.id ?? '');
  containerRefs = ['keep-1', 'keep-2', '/keep-1', ...ids, ...ids.map((id) => id.slice(0, 12)), 'f'];
});

afterAll(async () => {
  raw?.close();
  await c?.stop();
});

interface Outcome {
  code: number;
  details: string;
}

/** A typed unary call's status. */
function unaryOutcome(run: () => Promise<unknown>): Promise<Outcome> {
  return run().then(
    () => ({ code: status.OK, details: '' }),
    (err: FlotillaError) => ({ code: err.code, details: err.message }),
  );
}

/**
 * A wait on a running container lasts as long as its caller lets it: each fuzzed wait gets a short
 * deadline, and one that ends on it was taken (the manager waited), not refused.
 */
const waitDeadlineMs = 300;

async function waitOutcome(outcome: Promise<Outcome>): Promise<Outcome> {
  const o = await outcome;
  return o.code === status.DEADLINE_EXCEEDED ? { code: status.OK, details: '' } : o;
}

/**
 * A server stream's status. WatchEvents never ends by itself: once it has subscribed (its
 * headers come with the subscription) it counts as taken and is cancelled here.
 */
function streamOutcome(open: () => ClientReadableStream<unknown>): Promise<Outcome> {
  const subscribers = c.manager.cluster.subscriberCount;
  return new Promise<Outcome>((resolve) => {
    const stream = open();
    let taken = false;
    stream.on('metadata', () => {
      if (c.manager.cluster.subscriberCount > subscribers) {
        taken = true;
        stream.cancel();
      }
    });
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('status', (s: StatusObject) => resolve(taken ? { code: status.OK, details: '' } : { code: s.code, details: s.details }));
  }).then(async (outcome) => {
    await waitFor(() => c.manager.cluster.subscriberCount === subscribers, { what: 'the cancelled subscription to be closed' });
    return outcome;
  });
}

/**
 * A call whose caller streams (ExecContainer, AttachContainer: two-way; CopyToContainer: client
 * stream): its messages, the half-close, then its status. Against the hollow engine a well-formed
 * exec, attach or copy ends FAILED_PRECONDITION (it runs no programs and holds no files).
 */
function callerStreamOutcome(open: (done: (s: StatusObject) => void) => { write(message: unknown): boolean; end(): void; on(event: string, listener: (...args: never[]) => void): unknown }, messages: unknown[]): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const call = open((s) => resolve({ code: s.code, details: s.details }));
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    for (const message of messages) call.write(message);
    call.end();
  });
}

/** Statuses seen by the current property, for its summary line. */
let seen = new Map<string, number>();

/** One case: the call ends with an acceptable status, and a refusal changes nothing. */
async function checkCase(rpc: string, run: () => Promise<Outcome>, describeRequest: () => string): Promise<void> {
  const before = clusterState(c.manager);
  const outcome = await run();
  seen.set(status[outcome.code], (seen.get(status[outcome.code]) ?? 0) + 1);
  if (outcome.code === status.OK) return;
  if (!refusals.has(outcome.code)) throw new Error(`${rpc} answered ${status[outcome.code]}: ${outcome.details.slice(0, 300)} (request ${describeRequest().slice(0, 300)})`);
  expect({ rpc, refusal: status[outcome.code], state: clusterState(c.manager) }).toEqual({ rpc, refusal: status[outcome.code], state: before });
}

/**
 * Engines earlier cases added never validate, and while one is pending a create with a name or
 * request ID is refused (UNAVAILABLE): they go before the create cases, so creates reach placement.
 */
function dropPendingEnginesBefore(method: Method): void {
  if (method !== 'createContainer') return;
  for (const engine of c.manager.cluster.listEngines({ statuses: ['pending'] })) c.manager.cluster.removeEngine(engine.address);
}

function brief(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' && v.length > 50 ? `${v.slice(0, 50)}…(${v.length})` : Array.isArray(v) && v.length > 5 ? [...v.slice(0, 5), `…(${v.length})`] : v));
}

async function afterProperty(name: string, cases: number): Promise<void> {
  const statuses = [...seen].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`);
  console.log(`fuzz ClusterService.${name}: ${cases} cases (${statuses.join(', ')})`);
  seen = new Map();
  // Still serving.
  expect((await call(c.client, c.client.getInfo, {})).engineCounts).toBeDefined();
}

// ---- arbitraries ----

const chars = ['x', 'é', '字', '\u0000', '😀'];
/** A string of about `limit` bytes, a little under to a few times over. */
const sized = (limit: number) =>
  fc
    .tuple(fc.integer({ min: Math.max(1, limit - 4), max: Math.min(limit * 3, 3 * 1024 * 1024) }), fc.constantFrom(...chars))
    .map(([bytes, ch]) => ch.repeat(Math.max(1, Math.ceil(bytes / Buffer.byteLength(ch)))));
const junk = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('', ' ', '\t', '*', '..', ':', '[::1]', '/', 'a:0', 'http://x:1'));
/** Junk, something plausible, or something over the limit. */
const text = (limit: number, ...plausible: string[]) =>
  fc.oneof(
    { arbitrary: junk, weight: 2 },
    { arbitrary: sized(limit), weight: 1 },
    ...(plausible.length ? [{ arbitrary: fc.constantFrom(...plausible), weight: 3 }] : []),
  );
/** A few entries, or one more than the limit allows. */
const list = <T>(item: fc.Arbitrary<T>, limit: number, filler: T) =>
  fc.oneof({ arbitrary: fc.array(item, { maxLength: 4 }), weight: 10 }, { arbitrary: fc.constant(Array.from({ length: limit + 1 }, () => filler)), weight: 1 });
const labels = () =>
  fc.oneof(
    { arbitrary: fc.dictionary(text(L.labelKeyBytes, 'zone', 'team', 'com.docker.swarm.constraints', 'com.docker.swarm.affinities'), text(L.labelValueBytes, '*', 'eu', '["zone==eu"]', '[1,2]', '['), { maxKeys: 3 }), weight: 10 },
    { arbitrary: fc.constant(Object.fromEntries(Array.from({ length: L.labelEntries + 1 }, (_, i) => [`k${i}`, 'v']))), weight: 1 },
    { arbitrary: fc.constant(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'v'.repeat(60 * 1024)]))), weight: 1 },
  );
const uint32 = fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const int64 = fc.oneof(fc.constantFrom('0', '1000000000', '-1', '9223372036854775807'), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String));
const testNet = fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `192.0.2.${h}:${p}`);
const address = fc.oneof({ arbitrary: testNet, weight: 3 }, { arbitrary: text(L.addressBytes, 'bogus.invalid:4250', '[2001:db8::1]:4250'), weight: 2 });
const engineRef = () => text(L.referenceBytes, ...engineRefs, '192.0.2.1:4250');
const containerRef = () => text(L.referenceBytes, ...containerRefs);
const filterValue = text(L.filterValueBytes, 'container', 'engine', 'image', 'running', 'exited');
const pageToken = fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: text(L.pageTokenBytes, 'x'), weight: 1 });
const pageSize = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1000 }), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 2 ** 32 - 1 }), weight: 1 });

const portBinding: fc.Arbitrary<PortBinding> = fc.record({
  containerPort: uint32,
  hostPort: uint32,
  protocol: text(L.protocolBytes, '', 'tcp', 'udp', 'sctp'),
  hostIp: text(L.hostIpBytes, '', '0.0.0.0', '127.0.0.1', '::'),
});

function specArbitrary(): fc.Arbitrary<ContainerSpec> {
  // The fields of the first contract; the later ones start at their defaults and are mutated below.
  type FirstFields = Pick<ContainerSpec, 'name' | 'image' | 'command' | 'entrypoint' | 'env' | 'labels' | 'nanoCpus' | 'memoryBytes' | 'portBindings' | 'networkMode' | 'restartPolicy' | 'constraints' | 'affinities' | 'strategy' | 'privileged' | 'pidMode' | 'ipcMode' | 'utsMode' | 'capAdd' | 'devices' | 'binds'>;
  const base: fc.Arbitrary<ContainerSpec> = fc.record<FirstFields>({
    name: fc.oneof(fc.constant(''), fc.stringMatching(/^[a-z][a-z0-9_.-]{1,12}$/)),
    image: fc.constantFrom('busybox:local', 'alpine:3.19'),
    command: fc.constant(['sh']),
    entrypoint: fc.constant([]),
    env: fc.constant(['A=1']),
    labels: fc.constant({}),
    nanoCpus: fc.constantFrom('0', '100000000'),
    memoryBytes: fc.constantFrom('0', '1048576'),
    portBindings: fc.constant([]),
    networkMode: fc.constant(''),
    restartPolicy: fc.constant(undefined),
    constraints: fc.constant([]),
    affinities: fc.constant([]),
    strategy: fc.constant(''),
    privileged: fc.constant(false),
    pidMode: fc.constant(''),
    ipcMode: fc.constant(''),
    utsMode: fc.constant(''),
    capAdd: fc.constant([]),
    devices: fc.constant([]),
    binds: fc.constant([]),
  }).map((fields): ContainerSpec => ({ ...ContainerSpec.fromPartial({}), ...fields }));
  const expression = (...plausible: string[]) => text(L.expressionBytes, ...plausible);
  const mutation: fc.Arbitrary<Partial<ContainerSpec>> = fc.oneof(
    text(L.nameBytes, 'keep-1', 'a', 'ok-name').map((name) => ({ name })),
    text(L.imageBytes, 'busybox:local').map((image) => ({ image })),
    list(text(L.argBytes, 'sh', '-c'), L.argvEntries, 'a').map((command) => ({ command })),
    list(text(L.argBytes, '/bin/sh'), L.argvEntries, 'a').map((entrypoint) => ({ entrypoint })),
    list(text(L.envEntryBytes, 'A=1', 'constraint:zone==eu', 'affinity:image==busybox:local', 'constraint:node==/(a+)+$/', 'constraint:'), L.envEntries, 'A=1').map((env) => ({ env })),
    labels().map((l) => ({ labels: l })),
    list(portBinding, L.portBindings, { containerPort: 80, hostPort: 0, protocol: '', hostIp: '' }).map((portBindings) => ({ portBindings })),
    int64.map((nanoCpus) => ({ nanoCpus })),
    int64.map((memoryBytes) => ({ memoryBytes })),
    text(L.modeBytes, 'host', 'bridge', 'none', 'container:keep-1').map((networkMode) => ({ networkMode })),
    fc.record({ name: text(L.wordBytes, 'no', 'always', 'on-failure'), maximumRetryCount: uint32 }).map((restartPolicy) => ({ restartPolicy })),
    list(expression('zone==eu', 'node!=x', '~zone==/e.*/', 'node==hollow-1', 'node==/(a+)+$/', '=='), L.constraints, 'a==b').map((constraints) => ({ constraints })),
    list(expression('image==busybox:local', 'container==keep-1', '~container!=x'), L.affinities, 'a==b').map((affinities) => ({ affinities })),
    text(L.wordBytes, 'spread', 'binpack', 'random').map((strategy) => ({ strategy })),
    fc.boolean().map((privileged) => ({ privileged })),
    text(L.modeBytes, 'host', 'container:keep-1').map((pidMode) => ({ pidMode })),
    text(L.modeBytes, 'host', 'private').map((ipcMode) => ({ ipcMode })),
    text(L.modeBytes, 'host').map((utsMode) => ({ utsMode })),
    list(text(L.capabilityBytes, 'NET_ADMIN', 'CAP_SYS_ADMIN'), L.capabilities, 'NET_ADMIN').map((capAdd) => ({ capAdd })),
    list(text(L.deviceBytes, '/dev/null', '/dev/fuse:/dev/fuse:rwm'), L.devices, '/dev/null').map((devices) => ({ devices })),
    list(text(L.bindBytes, '/data:/data', 'vol:/v', '/etc:/etc:ro'), L.binds, 'v:/v').map((binds) => ({ binds })),
    list(
      fc.record({ type: text(L.wordBytes, 'volume', 'bind', 'tmpfs', ''), source: text(L.mountPathBytes, 'vol', '/etc', '/srv/../etc', ''), target: text(L.mountPathBytes, '/data', 'rel', '/'), readOnly: fc.boolean(), options: fc.constant({}) }),
      L.mounts,
      { type: 'tmpfs', source: '', target: '/t', readOnly: false, options: {} },
    ).map((mounts) => ({ mounts })),
    list(text(L.dnsBytes, '1.1.1.1', '::1', 'dns.example'), L.dnsEntries, '1.1.1.1').map((dns) => ({ dns })),
    list(fc.record({ name: text(L.wordBytes, 'nofile', 'nproc'), soft: int64, hard: int64 }), L.ulimits, { name: 'core', soft: '0', hard: '0' }).map((ulimits) => ({ ulimits })),
    text(L.hostnameBytes, 'web', 'a.b', '-x').map((hostname) => ({ hostname })),
    int64.map((memorySwapBytes) => ({ memorySwapBytes })),
  );
  return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([spec, changes]) => Object.assign({}, spec, ...changes) as ContainerSpec);
}

// ---- the typed requests, one property per RPC ----

type Method = keyof typeof ClusterServiceService;

interface TypedCase<T> {
  method: Method;
  request: () => fc.Arbitrary<T>;
  run: (request: T) => Promise<Outcome>;
}

const cases: Array<TypedCase<never>> = [];
function rpc<T>(method: Method, request: () => fc.Arbitrary<T>, run: (request: T) => Promise<Outcome>): void {
  cases.push({ method, request, run } as unknown as TypedCase<never>);
}

rpc('addEngine', () => fc.record({ address }), (r) => unaryOutcome(() => call(c.client, c.client.addEngine, r)));
// The hollow engine is never a target: removing it would leave the rest of the fuzz nothing to act on.
rpc('removeEngine', () => fc.record({ engine: fc.oneof(testNet, text(L.referenceBytes, '192.0.2.1:4250')) }), (r) => unaryOutcome(() => call(c.client, c.client.removeEngine, r)));
rpc(
  'listEngines',
  () => fc.record({ statuses: list(fc.oneof({ arbitrary: fc.integer({ min: 1, max: 4 }), weight: 4 }, { arbitrary: fc.integer({ min: -3, max: 10 }), weight: 1 }), L.filterEntries, 1), labels: labels(), pageSize, pageToken }),
  (r) => unaryOutcome(() => call(c.client, c.client.listEngines, r)),
);
rpc('getEngine', () => fc.record({ engine: engineRef() }), (r) => unaryOutcome(() => call(c.client, c.client.getEngine, r)));
rpc('getInfo', () => fc.constant({}), (r) => unaryOutcome(() => call(c.client, c.client.getInfo, r)));
rpc(
  'watchEvents',
  () => fc.record({ types: list(filterValue, L.filterEntries, 'x'), engines: list(engineRef(), L.filterEntries, 'x'), containers: list(containerRef(), L.filterEntries, 'x') }),
  (r) => streamOutcome(() => c.client.watchEvents(r)),
);
rpc(
  'syncEngines',
  () =>
    fc.record({
      source: text(L.sourceBytes, 'file:///fuzz-a', 'file:///fuzz-b', 'etcd://127.0.0.1:2379/f'),
      generation: fc.oneof(
        fc.constantFrom('0', '1', '18446744073709551615', '18446744073709551614'),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
        fc.integer({ min: -86_400_000, max: 2 * 86_400_000 }).map((d) => String(Date.now() + d)),
      ),
      addresses: list(address, L.syncAddresses, '192.0.2.1:1'),
    }),
  (r) => unaryOutcome(() => call(c.client, c.client.syncEngines, r)),
);
rpc('createContainer', () => fc.record({ spec: fc.option(specArbitrary(), { nil: undefined }), start: fc.boolean(), requestId: text(L.requestIdBytes, '', 'fuzz-request-1') }), (r) => unaryOutcome(() => call(c.client, c.client.createContainer, r)));
rpc('explainPlacement', () => fc.record({ spec: fc.option(specArbitrary(), { nil: undefined }) }), (r) => unaryOutcome(() => call(c.client, c.client.explainPlacement, r)));
rpc('startContainer', () => fc.record({ container: containerRef() }), (r) => unaryOutcome(() => call(c.client, c.client.startContainer, r)));
rpc(
  'stopContainer',
  () => fc.record({ container: containerRef(), timeoutSeconds: fc.option(uint32, { nil: undefined }) }),
  (r) => unaryOutcome(() => call(c.client, c.client.stopContainer, r)),
);
rpc(
  'killContainer',
  () => fc.record({ container: containerRef(), signal: text(L.signalBytes, '', 'SIGTERM', '9', 'SIGHUP', 'NOPE') }),
  (r) => unaryOutcome(() => call(c.client, c.client.killContainer, r)),
);
rpc(
  'removeContainer',
  () => fc.record({ container: containerRef(), force: fc.boolean(), volumes: fc.boolean() }),
  (r) => unaryOutcome(() => call(c.client, c.client.removeContainer, r)),
);
rpc('pauseContainer', () => fc.record({ container: containerRef() }), (r) => unaryOutcome(() => call(c.client, c.client.pauseContainer, r)));
rpc('unpauseContainer', () => fc.record({ container: containerRef() }), (r) => unaryOutcome(() => call(c.client, c.client.unpauseContainer, r)));
rpc(
  'renameContainer',
  () => fc.record({ container: containerRef(), newName: text(L.nameBytes, 'keep-1', 'keep-2', 'renamed-1', '/renamed-2', 'a', '-bad') }),
  (r) => unaryOutcome(() => call(c.client, c.client.renameContainer, r)),
);
const int64Text = () => fc.oneof(int64, fc.constantFrom('-2', String(6 * 1024 * 1024), String(64 * 1024 * 1024)));
rpc(
  'updateContainer',
  () =>
    fc.record({
      container: containerRef(),
      resources: fc.option(
        fc.record(
          {
            nanoCpus: int64Text(),
            memoryBytes: int64Text(),
            cpuShares: int64Text(),
            cpuQuota: int64Text(),
            cpuPeriod: int64Text(),
            cpusetCpus: text(L.cpusetBytes, '0', '0-1', '0,2', 'x'),
            memoryReservationBytes: int64Text(),
            memorySwapBytes: int64Text(),
            pidsLimit: int64Text(),
            restartPolicy: fc.record({ name: text(L.wordBytes, 'no', 'always', 'on-failure', 'sometimes'), maximumRetryCount: uint32 }),
          },
          { requiredKeys: [] },
        ),
        { nil: undefined },
      ),
    }),
  (r) => unaryOutcome(() => call(c.client, c.client.updateContainer, r)),
);
rpc(
  'waitContainer',
  () => fc.record({ container: containerRef(), condition: text(L.waitConditionBytes, '', 'not-running', 'next-exit', 'removed', 'exited') }),
  (r) => waitOutcome(unaryOutcome(() => call(c.client, c.client.waitContainer, r, { deadlineMs: waitDeadlineMs }))),
);
rpc(
  'topContainer',
  () => fc.record({ container: containerRef(), psArgs: text(L.psArgsBytes, '', 'aux', '-o pid,comm', '-ef; rm -rf /', '$(id)') }),
  (r) => unaryOutcome(() => call(c.client, c.client.topContainer, r)),
);
rpc('inspectContainer', () => fc.record({ container: containerRef() }), (r) => unaryOutcome(() => call(c.client, c.client.inspectContainer, r)));
rpc(
  'containerLogs',
  () =>
    fc.record({
      container: containerRef(),
      follow: fc.boolean(),
      stdout: fc.boolean(),
      stderr: fc.boolean(),
      tail: uint32,
      timestamps: fc.boolean(),
      since: fc.option(fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }), { nil: undefined }),
    }),
  (r) => streamOutcome(() => c.client.containerLogs(r)),
);
rpc('containerStats', () => fc.record({ container: containerRef(), stream: fc.constant(false) }), (r) => streamOutcome(() => c.client.containerStats(r)));
rpc(
  'listContainers',
  () =>
    fc.record({
      all: fc.boolean(),
      engines: list(engineRef(), L.filterEntries, 'x'),
      states: list(filterValue, L.filterEntries, 'running'),
      labels: labels(),
      names: list(containerRef(), L.filterEntries, 'x'),
      pageSize,
      pageToken,
    }),
  (r) => unaryOutcome(() => call(c.client, c.client.listContainers, r)),
);
rpc(
  'pullImage',
  () => fc.record({ image: text(L.imageBytes, 'busybox:local', 'alpine:3.19'), engines: list(engineRef(), L.filterEntries, 'x') }),
  (r) => streamOutcome(() => c.client.pullImage(r)),
);

const volumeName = () => text(L.nameBytes, 'fuzz-vol', 'fuzz.vol-2', '-bad', 'a', 'x/y');
rpc(
  'listVolumes',
  () => fc.record({ engines: list(engineRef(), L.filterEntries, 'x'), names: list(containerRef(), L.filterEntries, 'x'), labels: labels(), pageSize, pageToken }),
  (r) => unaryOutcome(() => call(c.client, c.client.listVolumes, r)),
);
rpc(
  'createVolume',
  () =>
    fc.record({
      name: volumeName(),
      engines: list(engineRef(), L.filterEntries, 'x'),
      allEngines: fc.boolean(),
      driver: text(L.filterValueBytes, '', 'local', 'nfs'),
      labels: labels(),
      driverOpts: fc.oneof({ arbitrary: fc.constant({}), weight: 4 }, { arbitrary: labels(), weight: 1 }),
    }),
  (r) => unaryOutcome(() => call(c.client, c.client.createVolume, r)),
);
rpc('inspectVolume', () => fc.record({ name: volumeName(), engine: fc.oneof(fc.constant(''), engineRef()) }), (r) => unaryOutcome(() => call(c.client, c.client.inspectVolume, r)));
rpc('removeVolume', () => fc.record({ name: volumeName(), engine: fc.oneof(fc.constant(''), engineRef()), force: fc.boolean() }), (r) => unaryOutcome(() => call(c.client, c.client.removeVolume, r)));

const networkName = () => text(L.nameBytes, 'fuzz-net', 'fuzz.net-2', 'bridge', 'host', '-bad', 'a', 'x/y');
rpc(
  'listNetworks',
  () => fc.record({ engines: list(engineRef(), L.filterEntries, 'x'), names: list(containerRef(), L.filterEntries, 'x'), labels: labels(), pageSize, pageToken }),
  (r) => unaryOutcome(() => call(c.client, c.client.listNetworks, r)),
);
rpc(
  'createNetwork',
  () =>
    fc.record({
      name: networkName(),
      engines: list(engineRef(), L.filterEntries, 'x'),
      allEngines: fc.boolean(),
      driver: text(L.filterValueBytes, '', 'bridge', 'macvlan', 'host'),
      labels: labels(),
      internal: fc.boolean(),
      subnet: text(L.hostIpBytes, '', '10.20.0.0/24', '10.20.0.0', 'fe80::/64', '10.0.0.0/33'),
      gateway: text(L.hostIpBytes, '', '10.20.0.1', 'fe80::1', 'x'),
    }),
  (r) => unaryOutcome(() => call(c.client, c.client.createNetwork, r)),
);
rpc('inspectNetwork', () => fc.record({ network: networkName(), engine: fc.oneof(fc.constant(''), engineRef()) }), (r) => unaryOutcome(() => call(c.client, c.client.inspectNetwork, r)));
rpc('removeNetwork', () => fc.record({ network: networkName(), engine: fc.oneof(fc.constant(''), engineRef()) }), (r) => unaryOutcome(() => call(c.client, c.client.removeNetwork, r)));

// ---- the calls whose caller streams: one fuzzed message (a start or not), then a stdin piece ----
const terminalSize = fc.option(fc.record({ rows: uint32, columns: uint32 }), { nil: undefined });
const stdinPiece = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), weight: 4 }, { arbitrary: fc.constant(Buffer.alloc(1024 * 1024 + 1)), weight: 1 });
const execStart = () =>
  fc.record({
    container: containerRef(),
    options: fc.option(
      fc.record({
        command: list(text(L.argBytes, 'true', 'sh', ''), L.argvEntries, 'x'),
        tty: fc.boolean(),
        stdin: fc.boolean(),
        env: list(text(L.envEntryBytes, 'A=1', 'NOEQUALS', '=x'), L.envEntries, 'A=1'),
        user: text(L.userBytes, '', 'root', '1000:1000', 'a b'),
        workingDir: text(L.pathBytes, '', '/', '/tmp', 'relative'),
        terminalSize,
      }),
      { nil: undefined },
    ),
  });
const firstMessage = <S>(start: fc.Arbitrary<S>) =>
  fc.oneof(
    { arbitrary: start.map((value) => ({ request: { $case: 'start' as const, value } })), weight: 6 },
    { arbitrary: stdinPiece.map((value) => ({ request: { $case: 'stdin' as const, value } })), weight: 1 },
    { arbitrary: fc.record({ rows: uint32, columns: uint32 }).map((value) => ({ request: { $case: 'resize' as const, value } })), weight: 1 },
    { arbitrary: fc.constant({ request: undefined }), weight: 1 },
  );
const thenStdin = { request: { $case: 'stdin' as const, value: Buffer.from('fuzz\n') } };
rpc('execContainer', () => firstMessage(execStart()), (r) => callerStreamOutcome((done) => c.client.execContainer().on('status', done) as never, [r, thenStdin]));
rpc(
  'attachContainer',
  () => firstMessage(fc.record({ container: containerRef(), options: fc.option(fc.record({ stdin: fc.boolean(), logs: fc.boolean(), terminalSize }), { nil: undefined }) })),
  (r) => callerStreamOutcome((done) => c.client.attachContainer().on('status', done) as never, [r, thenStdin]),
);
rpc(
  'inspectExec',
  () => fc.record({ container: containerRef(), execId: text(L.referenceBytes, '', 'exec-1', '0123456789abcdef'.repeat(4), '../x') }),
  (r) => unaryOutcome(() => call(c.client, c.client.inspectExec, r)),
);
const containerPath = () => text(L.pathBytes, '/', '/etc', '/tmp/x', '', 'relative', '/a\u0000b');
rpc('statContainerPath', () => fc.record({ container: containerRef(), path: containerPath() }), (r) => unaryOutcome(() => call(c.client, c.client.statContainerPath, r)));
rpc('copyFromContainer', () => fc.record({ container: containerRef(), path: containerPath() }), (r) => streamOutcome(() => c.client.copyFromContainer(r)));
rpc(
  'copyToContainer',
  () =>
    fc.oneof(
      { arbitrary: fc.record({ container: containerRef(), path: containerPath(), noOverwriteDirNonDir: fc.boolean() }).map((value) => ({ request: { $case: 'start' as const, value } })), weight: 6 },
      { arbitrary: stdinPiece.map((value) => ({ request: { $case: 'data' as const, value } })), weight: 1 },
      { arbitrary: fc.constant({ request: undefined }), weight: 1 },
    ),
  (r) =>
    callerStreamOutcome(
      (done) => {
        const upload = c.client.copyToContainer((err) => done(err ? { code: err.code, details: err.details, metadata: new Metadata() } : { code: status.OK, details: '', metadata: new Metadata() }));
        return upload as never;
      },
      [r, { request: { $case: 'data' as const, value: Buffer.alloc(512) } }],
    ),
);

// Never removes busybox:local itself: the other properties create containers from it.
const imageRef = () => text(L.imageBytes, 'busybox:local', 'busybox', 'sha256:', 'fuzz/tagged:1', 'a/../../containers/json', 'x?force=1');
const removableImage = () => text(L.imageBytes, 'fuzz/tagged:1', 'fuzz/none', 'a/../../containers/json', 'x?force=1').filter((ref) => !['busybox:local', 'busybox'].includes(ref) && !/^(sha256:)?[0-9a-f]+$/.test(ref));
rpc(
  'listImages',
  () => fc.record({ engines: list(engineRef(), L.filterEntries, 'x'), references: list(imageRef(), L.filterEntries, 'x'), labels: labels(), pageSize, pageToken }),
  (r) => unaryOutcome(() => call(c.client, c.client.listImages, r)),
);
rpc('inspectImage', () => fc.record({ image: imageRef(), engine: fc.oneof(fc.constant(''), engineRef()) }), (r) => unaryOutcome(() => call(c.client, c.client.inspectImage, r)));
rpc(
  'removeImage',
  () => fc.record({ image: removableImage(), engine: fc.oneof(fc.constant(''), engineRef()), force: fc.boolean(), noPrune: fc.boolean() }),
  (r) => unaryOutcome(() => call(c.client, c.client.removeImage, r)),
);
rpc(
  'tagImage',
  () => fc.record({ image: imageRef(), tag: text(L.imageBytes, 'fuzz/tagged:1', 'Bad/Name', 'x:-y', 'busybox:local'), engine: fc.oneof(fc.constant(''), engineRef()) }),
  (r) => unaryOutcome(() => call(c.client, c.client.tagImage, r)),
);

it('has a property for every ClusterService RPC', () => {
  expect(cases.map((k) => k.method).sort()).toEqual(Object.keys(ClusterServiceService).sort());
});

describe.each(cases.map((k) => [k.method, k] as const))('typed requests: %s', (method, k) => {
  it('ends every call with a status that blames the request, and a refusal changes nothing', async () => {
    dropPendingEnginesBefore(method);
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(k.request(), async (request) => {
        tried++;
        await checkCase(method, () => k.run(request), () => brief(request));
      }),
      { numRuns: method === 'getInfo' ? 20 : typedRuns },
    );
    await afterProperty(method, tried);
  });
});

// ---- raw bytes on the wire ----

const identity = (b: Buffer): Buffer => b;

/** Random bytes, or a valid request's encoding cut, flipped or spliced. */
function bytesFor(k: TypedCase<never>): fc.Arbitrary<Buffer> {
  const definition = ClusterServiceService[k.method];
  const valid = k.request().map((request) => definition.requestSerialize(request as never));
  const damaged = fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('cut', 'flip', 'splice')).map(([bytes, at, value, how]) => {
    if (bytes.length === 0) return Buffer.from([value]);
    const i = at % bytes.length;
    if (how === 'cut') return bytes.subarray(0, i);
    if (how === 'flip') return Buffer.concat([bytes.subarray(0, i), Buffer.from([bytes[i] ^ (value || 1)]), bytes.subarray(i + 1)]);
    return Buffer.concat([bytes.subarray(0, i), Buffer.from([value, 0xff, 0xff, 0xff, 0xff, 0x0f]), bytes.subarray(i)]);
  });
  return fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), damaged);
}

function rawOutcome(method: Method, bytes: Buffer): Promise<Outcome> {
  const definition = ClusterServiceService[method];
  if (definition.requestStream && definition.responseStream) return callerStreamOutcome((done) => raw.makeBidiStreamRequest(definition.path, identity, identity, new Metadata(), {}).on('status', done) as never, [bytes]);
  if (definition.requestStream) {
    return callerStreamOutcome((done) => raw.makeClientStreamRequest(definition.path, identity, identity, new Metadata(), {}, (err: ServiceError | null) => done(err ? { code: err.code, details: err.details, metadata: new Metadata() } : { code: status.OK, details: '', metadata: new Metadata() })) as never, [bytes]);
  }
  if (definition.responseStream) return streamOutcome(() => raw.makeServerStreamRequest(definition.path, identity, identity, bytes, new Metadata(), {}));
  const outcome = new Promise<Outcome>((resolve) => {
    raw.makeUnaryRequest(definition.path, identity, identity, bytes, new Metadata(), method === 'waitContainer' ? { deadline: Date.now() + waitDeadlineMs } : {}, (err: ServiceError | null) =>
      resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' }),
    );
  });
  return method === 'waitContainer' ? waitOutcome(outcome) : outcome;
}

describe.each(cases.map((k) => [k.method, k] as const))('raw bytes: %s', (method, k) => {
  it('answers any bytes with a status that blames the request, and a refusal changes nothing', async () => {
    dropPendingEnginesBefore(method);
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(bytesFor(k), async (bytes) => {
        tried++;
        await checkCase(`${method} (raw)`, () => rawOutcome(method, bytes), () => bytes.toString('hex'));
      }),
      { numRuns: rawRuns },
    );
    await afterProperty(`${method} (raw bytes)`, tried);
  });
});
