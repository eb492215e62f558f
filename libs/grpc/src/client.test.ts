import { jsonMethod } from '@flotilla/testing';
import { EventEmitter, once } from 'node:events';
import {
  makeClientConstructor,
  Metadata,
  status,
  type CallOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { call, defaultDeadlineMs, dial, streamOf, type ClientConstructor, type DialOptions } from './client';
import { CancelledError, DeadlineExceededError, FlotillaError, InternalError, InvalidArgumentError, NotFoundError, UnavailableError } from '@flotilla/errors';
import { serverStream, startServer, unary, type RunningServer } from './server';

// ---- a tiny JSON service defined by hand -------------------------------------------------------

type Msg = Record<string, unknown>;

const method = (name: string, responseStream: boolean) => jsonMethod('test.v1.Echo', name, responseStream);

const echoDefinition: ServiceDefinition = {
  Echo: method('Echo', false),
  Fail: method('Fail', false),
  Hang: method('Hang', false),
  Deadline: method('Deadline', false),
  Count: method('Count', true),
  StreamDeadline: method('StreamDeadline', true),
};

type UnaryFn = (request: Msg, metadata: Metadata, options: Partial<CallOptions>, callback: (err: ServiceError | null, response: Msg) => void) => ClientUnaryCall;
interface EchoClient extends Client {
  Echo: UnaryFn;
  Fail: UnaryFn;
  Hang: UnaryFn;
  Deadline: UnaryFn;
  Count(request: Msg): ClientReadableStream<Msg>;
  StreamDeadline(request: Msg): ClientReadableStream<Msg>;
}
const EchoClient = makeClientConstructor(echoDefinition, 'Echo') as unknown as ClientConstructor<EchoClient>;

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

/** What a promise rejected with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await within(promise, what);
  } catch (err) {
    return err;
  }
  throw new Error(`${what} resolved, expected it to fail`);
}

/** Server calls still hanging, released in afterEach so no handler outlives its test. */
let releaseCurrent = new AbortController();
const hung = () => releaseCurrent.signal;

/** What the server saw of each call, for assertions. */
const seen: { deadlines: number[]; userAgents: string[] } = { deadlines: [], userAgents: [] };
/** Emits 'stream-cancelled' when the server sees a client cancel a stream. */
const serverEvents = new EventEmitter();

const implementation = {
  Echo: unary<Msg, Msg>(async (request, serverCall) => {
    seen.userAgents.push(String(serverCall.metadata.get('user-agent')[0] ?? ''));
    return { echo: request };
  }),
  Fail: unary<Msg, Msg>(async (request) => {
    if (request.kind === 'not-found') throw new NotFoundError(`engine ${String(request.id)} not found`);
    if (request.kind === 'invalid') throw InvalidArgumentError.field('address', request.id, 'expected host:port');
    throw new Error('disk on fire');
  }),
  Hang: (_call: unknown, callback: (err: null, res: Msg) => void): void => {
    // Never answers on its own; answers (too late) when the test is over.
    hung().addEventListener('abort', () => callback(null, { late: true }), { once: true });
  },
  Deadline: unary<Msg, Msg>(async (_request, serverCall) => {
    const deadline = serverCall.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    seen.deadlines.push(ms);
    return { deadline: Number.isFinite(ms) ? ms : 'none' };
  }),
  Count: serverStream<Msg, Msg>(async (request, serverCall) => {
    serverCall.on('cancelled', () => serverEvents.emit('stream-cancelled'));
    for (let n = 1; n <= Number(request.to); n++) serverCall.write({ n });
    if (request.fail) throw new NotFoundError(`log of ${String(request.fail)} not found`);
    if (request.forever) {
      if (!serverCall.cancelled) await once(serverCall, 'cancelled');
    }
  }),
  StreamDeadline: serverStream<Msg, Msg>(async (_request, serverCall) => {
    const deadline = serverCall.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    serverCall.write({ deadline: Number.isFinite(ms) ? ms : 'none' });
  }),
};

let running: RunningServer;
let address: string;
const clients: Client[] = [];

function client(options: DialOptions = {}): EchoClient {
  const c = dial(EchoClient, address, options);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  // A server of its own for every test, on a free port.
  running = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    services: [{ name: 'test.v1.Echo', definition: echoDefinition, implementation, access: Object.fromEntries(Object.keys(implementation).map((m) => [m, []])) }],
  });
  address = `127.0.0.1:${running.port}`;
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  releaseCurrent.abort();
  releaseCurrent = new AbortController();
  seen.deadlines = [];
  seen.userAgents = [];
  await running.shutdown(1_000);
  running.server.forceShutdown();
});

// ---- tests -------------------------------------------------------------------------------------

describe('call', () => {
  it('resolves with the response', async () => {
    const c = client();
    await expect(within(call(c, c.Echo, { hello: 'world' }), 'Echo')).resolves.toEqual({ echo: { hello: 'world' } });
  });

  it('rejects with a NotFoundError carrying the server message', async () => {
    const c = client();
    const err = await rejection(call(c, c.Fail, { kind: 'not-found', id: 'e1' }), 'Fail');
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(FlotillaError);
    expect((err as NotFoundError).code).toBe(status.NOT_FOUND);
    expect((err as NotFoundError).message).toBe('engine e1 not found');
    expect(((err as NotFoundError).cause as ServiceError).code).toBe(status.NOT_FOUND);
  });

  it('rejects with an InvalidArgumentError naming the field', async () => {
    const c = client();
    const err = await rejection(call(c, c.Fail, { kind: 'invalid', id: 'x' }), 'Fail');
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe('address "x": expected host:port');
  });

  it('rejects with an InternalError when the handler threw a plain Error', async () => {
    const c = client();
    const err = await rejection(call(c, c.Fail, { kind: 'plain' }), 'Fail');
    expect(err).toBeInstanceOf(InternalError);
    expect((err as Error).message).toContain('disk on fire');
  });

  it('rejects with a DeadlineExceededError when its own deadline passes', async () => {
    const c = client();
    const err = await rejection(call(c, c.Hang, {}, { deadlineMs: 200 }), 'Hang');
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as DeadlineExceededError).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('rejects with a CancelledError when its signal aborts', async () => {
    const c = client();
    const controller = new AbortController();
    const pending = call(c, c.Hang, {}, { signal: controller.signal });
    controller.abort();
    const err = await rejection(pending, 'Hang');
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).code).toBe(status.CANCELLED);
  });

  it('rejects with a CancelledError when its signal was aborted before the call', async () => {
    const c = client();
    const err = await rejection(call(c, c.Hang, {}, { signal: AbortSignal.abort() }), 'Hang');
    expect(err).toBeInstanceOf(CancelledError);
  });

  it('stops listening to the signal once the call is done', async () => {
    const c = client();
    const controller = new AbortController();
    await within(call(c, c.Echo, { a: 1 }, { signal: controller.signal }), 'Echo');
    controller.abort(); // nothing left to cancel; must not throw
    await within(call(c, c.Echo, { a: 2 }, { signal: controller.signal }).catch((err: unknown) => err), 'second Echo');
  });

  it('rejects with an UnavailableError when nobody listens', async () => {
    const gone = await startServer({ address: '127.0.0.1:0', services: [], security: { kind: 'insecure' } });
    await gone.shutdown();
    const c = dial(EchoClient, `127.0.0.1:${gone.port}`);
    clients.push(c);
    const err = await rejection(call(c, c.Echo, {}), 'Echo to a closed port');
    expect(err).toBeInstanceOf(UnavailableError);
  });
});

describe('dial', () => {
  it('fails a unary call that is never answered with DEADLINE_EXCEEDED after defaultDeadlineMs', async () => {
    const c = client({ defaultDeadlineMs: 200 });
    const err = await rejection(call(c, c.Hang, {}), 'Hang');
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as DeadlineExceededError).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('fails a raw callback call the same way, as the interceptor sets the deadline', async () => {
    const c = client({ defaultDeadlineMs: 200 });
    const err = await within(
      new Promise<ServiceError | null>((resolve) => c.Hang({}, new Metadata(), {}, (e) => resolve(e))),
      'raw Hang',
    );
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('gives unary calls without a deadline the default one', async () => {
    const c = client({ defaultDeadlineMs: 5_000 });
    const before = Date.now();
    await within(call(c, c.Deadline, {}), 'Deadline');
    const after = Date.now();
    expect(seen.deadlines).toHaveLength(1);
    expect(seen.deadlines[0]).toBeGreaterThan(before);
    expect(seen.deadlines[0]).toBeLessThanOrEqual(after + 5_000);
  });

  it(`uses ${defaultDeadlineMs} ms when no default is given`, async () => {
    const c = client();
    const before = Date.now();
    await within(call(c, c.Deadline, {}), 'Deadline');
    const after = Date.now();
    expect(seen.deadlines[0]).toBeGreaterThan(before + defaultDeadlineMs - 5_000);
    expect(seen.deadlines[0]).toBeLessThanOrEqual(after + defaultDeadlineMs);
  });

  it('keeps a deadline the call set itself', async () => {
    const c = client({ defaultDeadlineMs: 200 });
    const before = Date.now();
    await within(call(c, c.Deadline, {}, { deadlineMs: 60_000 }), 'Deadline');
    expect(seen.deadlines[0]).toBeGreaterThan(before + 30_000);
  });

  it('gives server streams no deadline', async () => {
    const c = client({ defaultDeadlineMs: 200 });
    const messages: Msg[] = [];
    for await (const message of streamOf(c.StreamDeadline({}))) messages.push(message);
    expect(messages).toEqual([{ deadline: 'none' }]);
  });

  it('applies extra channel options', async () => {
    const c = client({ channelOptions: { 'grpc.primary_user_agent': 'flotilla-test/1.0' }, keepalive: { timeMs: 5_000, timeoutMs: 1_000 } });
    await within(call(c, c.Echo, {}), 'Echo');
    expect(seen.userAgents[0]).toMatch(/^flotilla-test\/1\.0 /);
  });
});

describe('streamOf', () => {
  it('yields every message of a stream that ends', async () => {
    const c = client();
    const messages: Msg[] = [];
    for await (const message of streamOf(c.Count({ to: 3 }))) messages.push(message);
    expect(messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('throws the typed error after the messages sent before it', async () => {
    const c = client();
    const messages: Msg[] = [];
    let thrown: unknown;
    try {
      for await (const message of streamOf(c.Count({ to: 2, fail: 'c1' }))) messages.push(message);
    } catch (err) {
      thrown = err;
    }
    expect(messages).toEqual([{ n: 1 }, { n: 2 }]);
    expect(thrown).toBeInstanceOf(NotFoundError);
    expect((thrown as NotFoundError).message).toBe('log of c1 not found');
  });

  it('cancels the call when the reader stops early', async () => {
    const c = client();
    const cancelled = once(serverEvents, 'stream-cancelled');
    const messages: Msg[] = [];
    for await (const message of streamOf(c.Count({ to: 5, forever: true }))) {
      messages.push(message);
      if (messages.length === 2) break;
    }
    expect(messages).toEqual([{ n: 1 }, { n: 2 }]);
    await within(cancelled, 'the server to see the stream cancelled');
  });
});
