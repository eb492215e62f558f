import * as http2 from 'node:http2';
import { jsonMethod } from '@flotilla/testing';
import { credentials, makeClientConstructor, status, type ChannelCredentials, type Client, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import type { CallObserver } from './call-observer';
import { whenAborted } from './call-scope';
import { startServer, unary, type RunningServer } from './server';

type Msg = Record<string, unknown>;
const method = (name: string) => jsonMethod('test.v1.Observed', name);
const definition: ServiceDefinition = { Quick: method('Quick'), Slow: method('Slow') };
type Callback = (err: ServiceError | null, response?: Msg) => void;
interface ObservedClient extends Client {
  Quick(request: Msg, callback: Callback): unknown;
  Slow(request: Msg, options: { deadline: number }, callback: Callback): unknown;
}
const ObservedClient = makeClientConstructor(definition, 'Observed') as unknown as new (address: string, creds: ChannelCredentials) => ObservedClient;

let server: RunningServer;
let client: ObservedClient;
const seen: Array<{ method: string; code?: status }> = [];
const observer: CallObserver = {
  start(method) {
    const entry: { method: string; code?: status } = { method };
    seen.push(entry);
    return (code) => {
      if (entry.code !== undefined) throw new Error('ended twice');
      entry.code = code;
    };
  },
};

beforeAll(async () => {
  server = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    services: [
      {
        name: 'test.v1.Observed',
        definition,
        implementation: { Quick: unary<Msg, Msg>(async () => ({})), Slow: unary<Msg, Msg>(async (_r, _c, signal) => whenAborted(signal).then(() => ({}))) },
        access: { Quick: [], Slow: [] },
      },
    ],
    observeCall: observer,
  });
  client = new ObservedClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.shutdown(1000);
});

async function ended(method: string): Promise<status> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const entry = seen.find((e) => e.method === method && e.code !== undefined);
    if (entry) return entry.code!;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no end observed for ${method}`);
}

it('observes a call with its method and final status', async () => {
  await new Promise((resolve) => client.Quick({}, resolve));
  expect(await ended('/test.v1.Observed/Quick')).toBe(status.OK);
});

it('observes a call whose deadline passed as DEADLINE_EXCEEDED, once', async () => {
  // A raw HTTP/2 call with a 200 ms grpc-timeout that never cancels on its own: a grpc-js client
  // would cancel at its own deadline, which on a loaded machine can reach the server before the
  // server's deadline (taken from when it read the request), and that is a cancellation.
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  try {
    const body = Buffer.from('{}');
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    const stream = session.request({ ':method': 'POST', ':path': '/test.v1.Observed/Slow', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' });
    stream.end(frame);
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.on('trailers', resolve);
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) resolve(headers);
      });
      stream.on('error', reject);
      stream.resume();
    });
    expect(trailers['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
    expect(await ended('/test.v1.Observed/Slow')).toBe(status.DEADLINE_EXCEEDED);
    expect(seen.filter((e) => e.method === '/test.v1.Observed/Slow')).toHaveLength(1);
  } finally {
    session.destroy();
  }
});
