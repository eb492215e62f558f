import { jsonMethod } from '@flotilla/testing';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  ChannelCredentials,
  credentials,
  loadPackageDefinition,
  makeClientConstructor,
  Metadata,
  status,
  type Client,
  type ClientReadableStream,
  type ServiceDefinition,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { createLogger, type Logger } from './logger';
import { serverStream, startServer, unary, type RunningServer, type ServerOptions } from './server';
import { insecureWarning } from './security';

// ---- a tiny JSON service defined by hand -------------------------------------------------------

type Msg = Record<string, unknown>;

const method = (name: string, responseStream: boolean) => jsonMethod('test.v1.Echo', name, responseStream);

const echoName = 'test.v1.Echo';
const echoDefinition: ServiceDefinition = { Echo: method('Echo', false), Count: method('Count', true) };

type UnaryCallback = (err: ServiceError | null, response?: Msg) => void;
interface EchoClient extends Client {
  Echo(request: Msg, callback: UnaryCallback): unknown;
  Count(request: Msg): ClientReadableStream<Msg>;
}
const EchoClient = makeClientConstructor(echoDefinition, 'Echo') as unknown as new (address: string, creds: ChannelCredentials) => EchoClient;

// ---- the standard health service, loaded from its proto as any client would --------------------

interface HealthClient extends Client {
  Check(request: { service: string }, callback: (err: ServiceError | null, response?: { status: string }) => void): unknown;
  Watch(request: { service: string }): ClientReadableStream<{ status: string }>;
}
const healthPackage = loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true })) as unknown as {
  grpc: { health: { v1: { Health: new (address: string, creds: ChannelCredentials) => HealthClient } } };
};
const HealthClient = healthPackage.grpc.health.v1.Health;

// ---- helpers -----------------------------------------------------------------------------------

/** Resolves with the promise, or fails naming what was awaited once `ms` passes. */
async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The next message of a stream, or its error. */
function nextMessage<T>(stream: ClientReadableStream<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onData = (message: T): void => {
      stream.off('error', onError);
      resolve(message);
    };
    const onError = (err: Error): void => {
      stream.off('data', onData);
      reject(err);
    };
    stream.once('data', onData);
    stream.once('error', onError);
  });
}

/** Every message of a stream and how it ended. */
function drain<T>(stream: ClientReadableStream<T>): Promise<{ messages: T[]; error?: ServiceError; status: StatusObject }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let error: ServiceError | undefined;
    stream.on('data', (message: T) => messages.push(message));
    stream.on('error', (err: ServiceError) => (error = err));
    stream.on('status', (s: StatusObject) => {
      // 'status' can come before the last 'data'/'error' events; let them land first.
      setImmediate(() => resolve({ messages, error, status: s }));
    });
  });
}

function unaryCall<Req, Res>(fn: (request: Req, callback: (err: ServiceError | null, response?: Res) => void) => unknown, request: Req) {
  return new Promise<{ err: ServiceError | null; response?: Res }>((resolve) => fn(request, (err, response) => resolve({ err, response })));
}

function captureLogger(): { logger: Logger; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }), entries: () => lines.map((l) => JSON.parse(l)) };
}

/** Every method open: in insecure mode the access rules let every caller through anyway. */
const openTo = (implementation: object) => Object.fromEntries(Object.keys(implementation).map((m) => [m, []]));

const servers: RunningServer[] = [];
const clients: Client[] = [];

async function start(implementation: ServerOptions['services'][number]['implementation'], options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const running = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    services: [{ name: echoName, definition: echoDefinition, implementation, access: openTo(implementation) }],
    ...options,
  });
  servers.push(running);
  return running;
}

function echoClient(port: number): EchoClient {
  const client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure());
  clients.push(client);
  return client;
}

function healthClient(port: number): HealthClient {
  const client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  clients.push(client);
  return client;
}

const check = (client: HealthClient, service: string) => unaryCall(client.Check.bind(client), { service });

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const running of servers.splice(0)) {
    await running.shutdown(1_000);
    running.server.forceShutdown();
  }
});

const echoImplementation = {
  Echo: unary<Msg, Msg>(async (request) => ({ echo: request })),
  Count: serverStream<Msg, Msg>(async (request, call) => {
    for (let n = 1; n <= Number(request.to); n++) call.write({ n });
  }),
};

// ---- tests -------------------------------------------------------------------------------------

describe('startServer', () => {
  it('binds a free port when asked for port 0 and serves the registered service', async () => {
    const running = await start(echoImplementation);
    expect(running.port).toBeGreaterThan(0);
    expect(running.closing.aborted).toBe(false);
    const client = echoClient(running.port);
    const { err, response } = await within(unaryCall(client.Echo.bind(client), { hello: 'world' }), 'Echo');
    expect(err).toBeNull();
    expect(response).toEqual({ echo: { hello: 'world' } });
  });

  it('logs where it listens', async () => {
    const { logger, entries } = captureLogger();
    const running = await start(echoImplementation, { logger });
    expect(entries()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'listening', address: '127.0.0.1:0', port: running.port, tls: false }));
  });

  it('rejects when the port is taken', async () => {
    const first = await start(echoImplementation);
    const grpcLog = jest.spyOn(console, 'error').mockImplementation(() => undefined); // grpc-js logs the failed bind
    try {
      await expect(start(echoImplementation, { address: `127.0.0.1:${first.port}` })).rejects.toThrow();
    } finally {
      grpcLog.mockRestore();
    }
  });
});

describe('health service', () => {
  it('answers SERVING for the server as a whole and for each registered service', async () => {
    const running = await start(echoImplementation);
    const client = healthClient(running.port);
    const whole = await within(check(client, ''), 'Check("")');
    expect(whole.err).toBeNull();
    expect(whole.response?.status).toBe('SERVING');
    const echo = await within(check(client, echoName), `Check(${echoName})`);
    expect(echo.err).toBeNull();
    expect(echo.response?.status).toBe('SERVING');
  });

  it('answers NOT_FOUND for a service it does not know', async () => {
    const running = await start(echoImplementation);
    const { err } = await within(check(healthClient(running.port), 'no.such.Service'), 'Check(unknown)');
    expect(err?.code).toBe(status.NOT_FOUND);
  });

  it('reports NOT_SERVING to watchers once shutdown starts, then stops the server', async () => {
    const { logger, entries } = captureLogger();
    const running = await start(echoImplementation, { logger });
    const client = healthClient(running.port);
    const watchWhole = client.Watch({ service: '' });
    const watchEcho = client.Watch({ service: echoName });
    watchWhole.on('error', () => undefined);
    watchEcho.on('error', () => undefined);
    expect((await within(nextMessage(watchWhole), 'first Watch("") status')).status).toBe('SERVING');
    expect((await within(nextMessage(watchEcho), 'first Watch(echo) status')).status).toBe('SERVING');

    const nextWhole = nextMessage(watchWhole);
    const nextEcho = nextMessage(watchEcho);
    const stopped = running.shutdown(60_000);
    expect(running.closing.aborted).toBe(true);
    expect((await within(nextWhole, 'Watch("") NOT_SERVING')).status).toBe('NOT_SERVING');
    expect((await within(nextEcho, 'Watch(echo) NOT_SERVING')).status).toBe('NOT_SERVING');

    // The watches are the only open calls: once they end, shutdown completes without forcing.
    watchWhole.cancel();
    watchEcho.cancel();
    await within(stopped, 'graceful shutdown');
    expect(entries().map((e) => e.msg)).toContain('shutting down');
    expect(entries().filter((e) => e.level === 'warn' && e.msg !== insecureWarning)).toEqual([]);

    const after = await within(check(healthClient(running.port), ''), 'Check after shutdown');
    expect(after.err?.code).toBe(status.UNAVAILABLE);
  });

  it('answers no new calls after shutdown', async () => {
    const running = await start(echoImplementation);
    const client = echoClient(running.port);
    expect((await within(unaryCall(client.Echo.bind(client), { a: 1 }), 'Echo before')).err).toBeNull();
    await within(running.shutdown(), 'shutdown');
    const { err } = await within(unaryCall(client.Echo.bind(client), { a: 2 }), 'Echo after');
    expect(err?.code).toBe(status.UNAVAILABLE);
  });
});

describe('shutdown', () => {
  it('returns the same promise when called again', async () => {
    const running = await start(echoImplementation);
    const first = running.shutdown();
    expect(running.shutdown()).toBe(first);
    await within(first, 'shutdown');
  });

  it('aborts `closing` so open streams can end themselves cleanly', async () => {
    const { logger, entries } = captureLogger();
    const ready: { closing?: AbortSignal } = {};
    const running = await start(
      {
        ...echoImplementation,
        Count: serverStream<Msg, Msg>(async (_request, call) => {
          call.write({ n: 1 });
          const closing = ready.closing!;
          if (!closing.aborted) await once(closing, 'abort');
          call.write({ n: 'bye' });
        }),
      },
      { logger },
    );
    ready.closing = running.closing;
    const stream = echoClient(running.port).Count({});
    const first = nextMessage(stream);
    const done = drain(stream);
    expect(await within(first, 'first message')).toEqual({ n: 1 });

    await within(running.shutdown(60_000), 'shutdown');
    const { messages, error, status: end } = await within(done, 'end of stream');
    expect(messages).toEqual([{ n: 1 }, { n: 'bye' }]);
    expect(error).toBeUndefined();
    expect(end.code).toBe(status.OK);
    expect(entries().filter((e) => e.level === 'warn' && e.msg !== insecureWarning)).toEqual([]);
  });

  it('forces streams that never end closed after the grace period', async () => {
    const { logger, entries } = captureLogger();
    const cancelled = deferred();
    const running = await start(
      {
        ...echoImplementation,
        Count: serverStream<Msg, Msg>(async (_request, call) => {
          call.on('cancelled', () => cancelled.resolve());
          call.write({ n: 1 });
          await new Promise<void>(() => undefined); // never ends, ignores `closing`
        }),
      },
      { logger },
    );
    const stream = echoClient(running.port).Count({});
    const first = nextMessage(stream);
    const done = drain(stream);
    expect(await within(first, 'first message')).toEqual({ n: 1 });

    await within(running.shutdown(200), 'forced shutdown');
    expect(entries()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'calls still open after the grace period; closing them', graceMs: 200 }));
    const { error, status: end } = await within(done, 'end of the forced stream');
    expect(end.code).not.toBe(status.OK);
    expect(error?.code).toBe(end.code);
    await within(cancelled.promise, 'server call cancelled');
  });
});

describe('unary', () => {
  async function failWith(thrown: unknown) {
    const running = await start({ ...echoImplementation, Echo: unary<Msg, Msg>(async () => Promise.reject(thrown)) });
    const client = echoClient(running.port);
    return within(unaryCall(client.Echo.bind(client), {}), 'failing Echo');
  }

  it('answers a thrown NotFoundError with NOT_FOUND and its message', async () => {
    const { err, response } = await failWith(new NotFoundError('engine e1 not found'));
    expect(response).toBeUndefined();
    expect(err?.code).toBe(status.NOT_FOUND);
    expect(err?.details).toBe('engine e1 not found');
  });

  it('answers a thrown InvalidArgumentError with INVALID_ARGUMENT naming the field', async () => {
    const { err } = await failWith(InvalidArgumentError.field('address', 'x', 'expected host:port'));
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toBe('address "x": expected host:port');
  });

  it('answers a plain Error with INTERNAL', async () => {
    const { err } = await failWith(new Error('disk on fire'));
    expect(err?.code).toBe(status.INTERNAL);
    expect(err?.details).toContain('disk on fire');
  });

  it('answers an error too big for the trailers, and the connection serves the next call', async () => {
    // A message quoting 80,000 characters of a request, and a detail of a megabyte (a placement
    // explanation at 10,000 engines): sent whole, the trailers would pass the 64 KiB Node's HTTP/2
    // accepts, and the client would drop the connection with every call on it.
    const thrown = new FailedPreconditionError(`no engine fits: ${'字\u0000'.repeat(40_000)}`, { details: [{ type: 'flotilla.cluster.v1.PlacementExplanation', value: Buffer.alloc(1_000_000, 7) }] });
    let calls = 0;
    const running = await start({ ...echoImplementation, Echo: unary<Msg, Msg>(async (request) => (calls++ === 0 ? Promise.reject(thrown) : { echo: request })) });
    const client = echoClient(running.port);
    const failed = await within(unaryCall(client.Echo.bind(client), {}), 'the failing Echo');
    expect(failed.err?.code).toBe(status.FAILED_PRECONDITION);
    expect(failed.err?.details).toMatch(/^no engine fits: 字/);
    const next = await within(unaryCall(client.Echo.bind(client), { n: 2 }), 'the next Echo');
    expect(next.err).toBeNull();
    expect(next.response).toEqual({ echo: { n: 2 } });
  });

  it('passes the request and the call to the handler', async () => {
    const running = await start({
      ...echoImplementation,
      Echo: unary<Msg, Msg>(async (request, call) => ({ request, who: call.metadata.get('x-who') })),
    });
    const client = echoClient(running.port);
    const metadata = new Metadata();
    metadata.set('x-who', 'tester');
    const answer = await within(
      new Promise<Msg | undefined>((resolve, reject) =>
        (client as unknown as { Echo(r: Msg, m: Metadata, cb: UnaryCallback): void }).Echo({ a: 1 }, metadata, (err, res) => (err ? reject(err) : resolve(res))),
      ),
      'Echo with metadata',
    );
    expect(answer).toEqual({ request: { a: 1 }, who: ['tester'] });
  });
});

describe('serverStream', () => {
  it('ends the stream with OK when the handler resolves', async () => {
    const running = await start(echoImplementation);
    const { messages, error, status: end } = await within(drain(echoClient(running.port).Count({ to: 3 })), 'Count');
    expect(messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(error).toBeUndefined();
    expect(end.code).toBe(status.OK);
  });

  it('accepts a handler that ends the stream itself', async () => {
    const running = await start({
      ...echoImplementation,
      Count: serverStream<Msg, Msg>(async (_request, call) => {
        call.write({ n: 1 });
        call.end();
      }),
    });
    const { messages, status: end } = await within(drain(echoClient(running.port).Count({})), 'Count');
    expect(messages).toEqual([{ n: 1 }]);
    expect(end.code).toBe(status.OK);
  });

  it('ends the stream with NOT_FOUND and the message after the messages written when the handler throws NotFoundError', async () => {
    const running = await start({
      ...echoImplementation,
      Count: serverStream<Msg, Msg>(async (_request, call) => {
        call.write({ n: 1 });
        call.write({ n: 2 });
        throw new NotFoundError('container c1 not found');
      }),
    });
    const { messages, error, status: end } = await within(drain(echoClient(running.port).Count({})), 'Count');
    expect(messages).toEqual([{ n: 1 }, { n: 2 }]);
    expect(end.code).toBe(status.NOT_FOUND);
    expect(end.details).toBe('container c1 not found');
    expect(error?.code).toBe(status.NOT_FOUND);
    expect(error?.details).toBe('container c1 not found');
  });

  it('ends the stream with INTERNAL when the handler throws a plain Error', async () => {
    const running = await start({
      ...echoImplementation,
      Count: serverStream<Msg, Msg>(async () => {
        throw new Error('socket closed');
      }),
    });
    const { messages, status: end } = await within(drain(echoClient(running.port).Count({})), 'Count');
    expect(messages).toEqual([]);
    expect(end.code).toBe(status.INTERNAL);
    expect(end.details).toContain('socket closed');
  });

  it('ignores a handler failing after the client cancelled, and keeps serving', async () => {
    const failed = deferred();
    const running = await start({
      ...echoImplementation,
      Count: serverStream<Msg, Msg>(async (_request, call) => {
        call.write({ n: 1 });
        if (!call.cancelled) await once(call, 'cancelled');
        setImmediate(() => failed.resolve());
        throw new Error('too late');
      }),
    });
    const client = echoClient(running.port);
    const stream = client.Count({});
    stream.on('error', () => undefined);
    await within(nextMessage(stream), 'first message');
    stream.cancel();
    await within(failed.promise, 'handler failure after cancel');
    const { err } = await within(unaryCall(client.Echo.bind(client), { still: 'up' }), 'Echo after cancel');
    expect(err).toBeNull();
  });
});

describe('reflection', () => {
  const descriptorSetPath = resolve(__dirname, '../../proto/descriptor/agent.binpb');
  const buf = resolve(__dirname, '../../../node_modules/.bin/buf');
  let cacheDir: string;

  beforeAll(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'flotilla-grpc-reflection-'));
  });
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  /** Lists what the server offers through reflection with `buf curl`, an independent client. Async: the server runs in this process. */
  async function bufCurl(port: number, flag: '--list-services'): Promise<string[]> {
    const { stdout } = await promisify(execFile)(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', flag, `http://127.0.0.1:${port}`], {
      timeout: 60_000,
      env: { ...process.env, BUF_CACHE_DIR: cacheDir, HOME: cacheDir },
    });
    return stdout.split('\n').map((line) => line.trim()).filter(Boolean);
  }

  it('lists the services of the descriptor set and the health service', async () => {
    const running = await start(echoImplementation, { descriptorSetPath });
    const services = await within(bufCurl(running.port, '--list-services'), 'buf curl --list-services', 60_000);
    expect(services).toEqual(expect.arrayContaining(['flotilla.agent.v1.EngineAgentService', 'grpc.health.v1.Health']));
  });

  it('describes the services of the descriptor set well enough for a client to call them', async () => {
    // InspectContainer answered on raw protobuf bytes: `string id = 1` in, `string raw_json = 2` out.
    const field = (number: number, text: string): Buffer => {
      const bytes = Buffer.from(text);
      return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
    };
    const raw = (buffer: Buffer): Buffer => buffer;
    const inspect: ServiceDefinition = {
      InspectContainer: {
        path: '/flotilla.agent.v1.EngineAgentService/InspectContainer',
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    };
    const received: Buffer[] = [];
    const running = await startServer({
      address: '127.0.0.1:0',
      security: { kind: 'insecure' },
      descriptorSetPath,
      services: [
        {
          name: 'flotilla.agent.v1.EngineAgentService',
          definition: inspect,
          access: { InspectContainer: [] },
          implementation: {
            InspectContainer: unary<Buffer, Buffer>(async (request) => {
              received.push(request);
              return field(2, '{"Id":"c1"}');
            }),
          },
        },
      ],
    });
    servers.push(running);
    // buf resolves the request and response types, and their imports, through reflection alone.
    const url = `http://127.0.0.1:${running.port}/flotilla.agent.v1.EngineAgentService/InspectContainer`;
    const { stdout } = await within(
      promisify(execFile)(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--data', '{"id":"c1"}', url], {
        timeout: 60_000,
        env: { ...process.env, BUF_CACHE_DIR: cacheDir, HOME: cacheDir },
      }),
      'buf curl InspectContainer',
      60_000,
    );
    expect(received).toEqual([field(1, 'c1')]);
    expect(JSON.parse(stdout)).toEqual({ rawJson: '{"Id":"c1"}' });
  });

  it('lists only the health service without a descriptor set', async () => {
    const running = await start(echoImplementation);
    const services = await within(bufCurl(running.port, '--list-services'), 'buf curl --list-services', 60_000);
    expect(services).toContain('grpc.health.v1.Health');
    expect(services.some((s) => s.startsWith('flotilla.'))).toBe(false);
  });
});

describe('abandoned connections', () => {
  it('closes a connection that has carried no call for maxConnectionIdleMs', async () => {
    const running = await start(echoImplementation, { maxConnectionIdleMs: 300 });
    const http2 = await import('node:http2');
    // A raw HTTP/2 connection with no call, as grpc-js leaves behind when it finishes a connect
    // after its channel was closed.
    const idle = http2.connect(`http://127.0.0.1:${running.port}`);
    idle.on('error', () => undefined);
    await within(once(idle, 'close'), 'the idle connection to be closed by the server');
    expect(idle.closed).toBe(true);
  });
});
