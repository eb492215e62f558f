import { credentials, makeClientConstructor, type ChannelCredentials, type Client, type ClientReadableStream, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { NotFoundError } from '@flotilla/errors';
import { serverStream, startServer, unary, whenAborted, type RunningServer } from '@flotilla/grpc';
import { grpcCallMetrics } from './grpc-call-metrics';
import { MetricsRegistry } from './metrics-registry';
import { jsonMethod, type JsonMessage } from '@flotilla/testing';

// A tiny JSON service, served by the real startServer with the observer installed.
type Msg = JsonMessage;
const method = (name: string, responseStream: boolean) => jsonMethod('test.v1.Probe', name, responseStream);
const definition: ServiceDefinition = { Echo: method('Echo', false), Missing: method('Missing', false), Denied: method('Denied', false), Hold: method('Hold', true) };
interface ProbeClient extends Client {
  Echo(request: Msg, callback: (err: ServiceError | null, response?: Msg) => void): unknown;
  Missing(request: Msg, callback: (err: ServiceError | null, response?: Msg) => void): unknown;
  Denied(request: Msg, callback: (err: ServiceError | null, response?: Msg) => void): unknown;
  Hold(request: Msg): ClientReadableStream<Msg>;
}
const ProbeClient = makeClientConstructor(definition, 'Probe') as unknown as new (address: string, creds: ChannelCredentials) => ProbeClient;

let server: RunningServer;
let client: ProbeClient;
let metrics: MetricsRegistry;

beforeEach(async () => {
  metrics = new MetricsRegistry({ defaultMetrics: false });
  const implementation = {
    Echo: unary<Msg, Msg>(async (request) => request),
    Missing: unary<Msg, Msg>(async () => {
      throw new NotFoundError('no such thing');
    }),
    Denied: unary<Msg, Msg>(async (request) => request),
    Hold: serverStream<Msg, Msg>(async (_request, call, signal) => {
      call.write({ held: true });
      await whenAborted(signal);
    }),
  };
  server = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    // Denied changes something, and a caller may change one thing: the gate refuses a second call before the handler runs.
    services: [{ name: 'test.v1.Probe', definition, implementation, access: { Echo: [], Missing: [], Denied: [], Hold: [] }, mutating: ['Denied'] }],
    callerLimits: { maxStreams: 10, mutatingPerSecond: 0.001, mutatingBurst: 1 },
    observeCall: grpcCallMetrics(metrics),
  });
  client = new ProbeClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterEach(async () => {
  client.close();
  await server.shutdown(1000);
});

const unaryCall = (fn: (request: Msg, callback: (err: ServiceError | null) => void) => unknown) => new Promise<number>((resolve) => fn({}, (err) => resolve(err?.code ?? 0)));

async function value(text: string): Promise<number | undefined> {
  const scraped = await metrics.scrape();
  const line = scraped.split('\n').find((l) => l.startsWith(`${text} `));
  return line === undefined ? undefined : Number(line.slice(text.length + 1));
}

/** Polls until the scrape shows `want` for the series, or fails with what it showed. */
async function expectSeries(series: string, want: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let got: number | undefined;
  while (Date.now() < deadline) {
    got = await value(series);
    if (got === want) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${series} is ${got}, expected ${want}`);
}

it('counts calls by method and final status code, and times them', async () => {
  expect(await unaryCall(client.Echo.bind(client))).toBe(0);
  expect(await unaryCall(client.Echo.bind(client))).toBe(0);
  expect(await unaryCall(client.Missing.bind(client))).toBe(5);
  await expectSeries('flotilla_grpc_calls_total{method="/test.v1.Probe/Echo",code="OK"}', 2);
  await expectSeries('flotilla_grpc_calls_total{method="/test.v1.Probe/Missing",code="NOT_FOUND"}', 1);
  await expectSeries('flotilla_grpc_call_duration_seconds_count{method="/test.v1.Probe/Echo"}', 2);
  await expectSeries('flotilla_grpc_active_calls{method="/test.v1.Probe/Echo"}', 0);
});

it('counts calls the gate refuses with their status', async () => {
  expect(await unaryCall(client.Denied.bind(client))).toBe(0);
  expect(await unaryCall(client.Denied.bind(client))).toBe(8);
  await expectSeries('flotilla_grpc_calls_total{method="/test.v1.Probe/Denied",code="OK"}', 1);
  await expectSeries('flotilla_grpc_calls_total{method="/test.v1.Probe/Denied",code="RESOURCE_EXHAUSTED"}', 1);
});

it('shows an open stream as active until the client cancels it', async () => {
  const stream = client.Hold({});
  stream.on('error', () => undefined);
  await new Promise((resolve) => stream.once('data', resolve));
  await expectSeries('flotilla_grpc_active_calls{method="/test.v1.Probe/Hold"}', 1);
  stream.cancel();
  await expectSeries('flotilla_grpc_active_calls{method="/test.v1.Probe/Hold"}', 0);
  await expectSeries('flotilla_grpc_calls_total{method="/test.v1.Probe/Hold",code="CANCELLED"}', 1);
});

it('keeps each registry to itself', async () => {
  const other = new MetricsRegistry({ defaultMetrics: false });
  grpcCallMetrics(other);
  await unaryCall(client.Echo.bind(client));
  await expectSeries('flotilla_grpc_calls_total{method="/test.v1.Probe/Echo",code="OK"}', 1);
  expect(await other.scrape()).not.toContain('/test.v1.Probe/Echo');
});
