import { call } from '@flotilla/grpc';
import { BadRequest, ErrorInfo } from 'nice-grpc-error-details';
import { Status } from 'nice-grpc-error-details/lib/proto/google/rpc/status';
import { type FlotillaError } from '@flotilla/errors';
import { Timestamp } from '@flotilla/proto';
import { ContainerLogsRequest, ClusterServiceService, ContainerSpec } from '@flotilla/proto/cluster';
import { waitFor } from '@flotilla/testing';
import { Client, credentials, Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { clusterState, startInProcessCluster, type InProcessCluster } from './in-process';

// The findings of the outside review, over gRPC against an in-process manager: an absurd
// SyncEngines generation, a flood of bogus AddEngine calls, an oversized label, and bytes that
// are no message at all.

let c: InProcessCluster;
let raw: Client;

beforeAll(async () => {
  c = await startInProcessCluster(['--max-pending-engines', '20']);
  raw = new Client(c.address, credentials.createInsecure());
});

afterAll(async () => {
  raw?.close();
  await c?.stop();
});

const failure = (p: Promise<unknown>): Promise<FlotillaError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: FlotillaError) => err,
  );

const spec = (o: Partial<ContainerSpec>): ContainerSpec => ({ ...ContainerSpec.fromPartial({ image: 'busybox:local' }), ...o });

it('refuses a SyncEngines generation of 2^64-1; a later normal push still applies; another source is unaffected', async () => {
  const m = c.client;
  const now = Date.now();
  await call(m, m.syncEngines, { source: 'file:///other', generation: String(now), addresses: ['192.0.2.9:4250'] });
  await call(m, m.syncEngines, { source: 'file:///engines', generation: String(now), addresses: ['192.0.2.1:4250'] });
  const before = clusterState(c.manager);
  const err = await failure(call(m, m.syncEngines, { source: 'file:///engines', generation: '18446744073709551615', addresses: ['192.0.2.66:4250'] }));
  expect(err.code).toBe(status.INVALID_ARGUMENT);
  expect(err.message).toMatch(/^generation "18446744073709551615": more than 24 h ahead of the manager's clock/);
  expect(clusterState(c.manager)).toEqual(before);
  expect(await call(m, m.syncEngines, { source: 'file:///engines', generation: String(now + 1), addresses: ['192.0.2.2:4250'] })).toEqual({
    added: ['192.0.2.2:4250'],
    removed: ['192.0.2.1:4250'],
    generation: String(now + 1),
    unchanged: false,
  });
  expect((await call(m, m.syncEngines, { source: 'file:///other', generation: String(now), addresses: [] })).unchanged).toBe(true);
  expect(clusterState(c.manager).engines).toEqual([c.engineAddress, '192.0.2.2:4250', '192.0.2.9:4250'].sort());
  await call(m, m.syncEngines, { source: 'file:///engines', generation: String(now + 2), addresses: [] });
  await call(m, m.syncEngines, { source: 'file:///other', generation: String(now + 1), addresses: [] });
});

it('names the bad field in a google.rpc.BadRequest detail that a client in any language can read, beside a stable ErrorInfo reason', async () => {
  const m = c.client;
  const err = await failure(call(m, m.addEngine, { address: 'no-port-here' }));
  expect(err.code).toBe(status.INVALID_ARGUMENT);
  // What our client decoded...
  expect(err.reason).toBe('INVALID_FIELD');
  expect(err.violations.map((v) => v.field)).toEqual(['address']);
  // ...and what is on the wire: the standard trailer, decoded with nothing but the google.rpc messages.
  const trailer = (err.cause as ServiceError).metadata.get('grpc-status-details-bin')[0] as Buffer;
  const wire = Status.decode(trailer);
  expect(wire.code).toBe(status.INVALID_ARGUMENT);
  const badRequest = wire.details.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.BadRequest');
  const info = wire.details.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo');
  expect(BadRequest.decode(badRequest!.value).fieldViolations).toEqual([expect.objectContaining({ field: 'address', description: expect.stringContaining('"no-port-here"') })]);
  expect(ErrorInfo.decode(info!.value)).toMatchObject({ reason: 'INVALID_FIELD', domain: 'flotilla' });
});

it('stops bogus AddEngine calls at --max-pending-engines with RESOURCE_EXHAUSTED naming the flag; nothing already there is lost', async () => {
  const m = c.client;
  const before = clusterState(c.manager);
  const codes = new Map<number, number>();
  let message = '';
  for (let i = 0; i < 200; i++) {
    try {
      await call(m, m.addEngine, { address: `bogus-${i}.invalid:4250` });
      codes.set(status.OK, (codes.get(status.OK) ?? 0) + 1);
    } catch (err) {
      const e = err as FlotillaError;
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      message = e.message;
    }
  }
  // The hollow engine was added by hand too, but it is healthy, not pending.
  expect(Object.fromEntries(codes)).toEqual({ [status.OK]: 20, [status.RESOURCE_EXHAUSTED]: 180 });
  expect(message).toMatch(/--max-pending-engines 20/);
  const after = clusterState(c.manager);
  expect(after.engines).toEqual(expect.arrayContaining(before.engines));
  expect(after.engines).toHaveLength(before.engines.length + 20);
  for (let i = 0; i < 20; i++) await call(m, m.removeEngine, { engine: `bogus-${i}.invalid:4250` });
  expect(clusterState(c.manager)).toEqual(before);
});

it('refuses a 512 KiB label with INVALID_ARGUMENT naming the field, before any work', async () => {
  const m = c.client;
  const before = clusterState(c.manager);
  const big = spec({ name: 'big-label', labels: { x: 'v'.repeat(512 * 1024) } });
  for (const err of [await failure(call(m, m.createContainer, { spec: big, start: true, requestId: '' })), await failure(call(m, m.explainPlacement, { spec: big }))]) {
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe(`spec.labels["x"] "${'v'.repeat(40)}…": value is 524288 bytes; at most 65536`);
  }
  expect(clusterState(c.manager)).toEqual(before);
});

it('answers bytes that are no request message with INVALID_ARGUMENT, not INTERNAL', async () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  const code = await new Promise<number>((resolve) => {
    raw.makeUnaryRequest(ClusterServiceService.addEngine.path, (b: Buffer) => b, (b: Buffer) => b, garbage, new Metadata(), {}, (err: ServiceError | null) => resolve(err?.code ?? status.OK));
  });
  expect(code).toBe(status.INVALID_ARGUMENT);
});

it('refuses a request over 4 MiB with RESOURCE_EXHAUSTED before decoding it', async () => {
  const huge = Buffer.alloc(5 * 1024 * 1024, 0x41);
  const err = await new Promise<ServiceError | null>((resolve) => {
    raw.makeUnaryRequest(ClusterServiceService.getInfo.path, (b: Buffer) => b, (b: Buffer) => b, huge, new Metadata(), {}, (e: ServiceError | null) => resolve(e));
  });
  expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
});

it('refuses ContainerLogs since a time no Date holds with INVALID_ARGUMENT naming the field', async () => {
  await c.backend.createContainer({ name: 'logs-target', Image: 'busybox:local', HostConfig: {} });
  await waitFor(() => c.manager.cluster.getEngine(c.engineAddress).findContainer('logs-target'), { what: 'the manager to see the container' });
  // Field 7 (since) as a Timestamp in the year 285,000,000: valid protobuf, beyond JavaScript's dates.
  const since = Timestamp.encode({ seconds: '9000000000000000', nanos: 0 }).finish();
  const request = Buffer.concat([
    Buffer.from(ContainerLogsRequest.encode({ container: 'logs-target', follow: false, stdout: true, stderr: true, tail: 0, timestamps: false, since: undefined }).finish()),
    Buffer.from([(7 << 3) | 2, since.length]),
    Buffer.from(since),
  ]);
  const outcome = await new Promise<StatusObject>((resolve) => {
    const stream = raw.makeServerStreamRequest(ClusterServiceService.containerLogs.path, (b: Buffer) => b, (b: Buffer) => b, request, new Metadata(), {});
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('status', resolve);
  });
  expect(outcome.code).toBe(status.INVALID_ARGUMENT);
  expect(outcome.details).toMatch(/^since "Invalid Date": /);
});
