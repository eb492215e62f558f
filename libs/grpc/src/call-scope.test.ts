import { EventEmitter, getEventListeners } from 'node:events';
import {
  ChannelCredentials,
  credentials,
  makeClientConstructor,
  status,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { waitFor, jsonMethod } from '@flotilla/testing';
import { CallEndedError, drained, whenAborted, type CallEnd } from './call-scope';
import { createLogger } from './logger';
import { insecureWarning } from './security';
import { serverStream, startServer, unary, type RunningServer } from './server';

// ---- a tiny JSON service, as in server.test.ts ------------------------------------------------

type Msg = Record<string, unknown>;

const method = (name: string, responseStream: boolean) => jsonMethod('test.v1.Scoped', name, responseStream);

const definition: ServiceDefinition = { Ask: method('Ask', false), Count: method('Count', true) };
type UnaryCallback = (err: ServiceError | null, response?: Msg) => void;
interface ScopedClient extends Client {
  Ask(request: Msg, callback: UnaryCallback): ClientUnaryCall;
  Count(request: Msg): ClientReadableStream<Msg>;
}
const ScopedClient = makeClientConstructor(definition, 'Scoped') as unknown as new (address: string, creds: ChannelCredentials) => ScopedClient;

const servers: RunningServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const running of servers.splice(0)) {
    await running.shutdown(1_000);
    running.server.forceShutdown();
  }
});

/** Each handler's signal, by the request's `id`. */
type Seen = Map<string, AbortSignal>;

/** What the flooding stream's handler went through. */
interface Flood {
  blocked: boolean;
  returned: boolean;
}

/**
 * `Ask` answers at once unless asked to `hold`, then it waits for its signal (a client cancel).
 * `Count` writes `to` messages; with `hold` it writes one and waits for its signal; with `flood`
 * it writes until its signal aborts, waiting on `drained` whenever the client is behind.
 */
async function startScoped(seen: Seen, flood: Flood = { blocked: false, returned: false }, logger = createLogger({ level: 'error', write: () => undefined })) {
  const pad = 'x'.repeat(16 * 1024);
  const implementation = {
    Ask: unary<Msg, Msg>(async (request, _call, signal) => {
      seen.set(String(request.id), signal);
      if (request.hold) await whenAborted(signal);
      return { id: request.id };
    }),
    Count: serverStream<Msg, Msg>(async (request, call, signal) => {
      seen.set(String(request.id), signal);
      if (request.hold) {
        call.write({ n: 1 });
        await whenAborted(signal);
      } else if (request.flood) {
        for (let n = 1; !signal.aborted; n++) {
          if (call.write({ n, pad })) continue;
          flood.blocked = true;
          await drained(call, signal);
        }
        flood.returned = true;
      } else {
        for (let n = 1; n <= Number(request.to); n++) if (!call.write({ n })) await drained(call, signal);
      }
    }),
  };
  const running = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    services: [{ name: 'test.v1.Scoped', definition, implementation, access: { Ask: [], Count: [] } }],
    logger,
  });
  servers.push(running);
  const client = new ScopedClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
  clients.push(client);
  return { running, client };
}

const closingListeners = (running: RunningServer): number => getEventListeners(running.closing, 'abort').length;

/** How a stream ended, after its last message landed. */
function ended<T>(stream: ClientReadableStream<T>): Promise<{ messages: T[]; status: StatusObject }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    stream.on('data', (message: T) => messages.push(message));
    stream.on('error', () => undefined);
    stream.on('status', (s: StatusObject) => setImmediate(() => resolve({ messages, status: s })));
  });
}

function firstMessage<T>(stream: ClientReadableStream<T>): Promise<void> {
  return new Promise((resolve) => stream.once('data', () => resolve()));
}

const whyOf = (signal: AbortSignal | undefined): CallEnd | undefined => (signal?.reason instanceof CallEndedError ? signal.reason.why : undefined);

describe('call scope', () => {
  it('adds one listener to the server closing signal per open call and removes it when the call ends', async () => {
    const seen: Seen = new Map();
    const { running, client } = await startScoped(seen);
    const before = closingListeners(running);
    const streams = Array.from({ length: 10 }, (_, i) => client.Count({ id: `held-${i}`, hold: true }));
    const endings = streams.map(ended);
    await Promise.all(streams.map(firstMessage));
    // The closing signal reaches every open call, through its scope: one listener each.
    expect(closingListeners(running)).toBe(before + 10);
    for (const stream of streams) stream.cancel();
    await Promise.all(endings);
    await waitFor(() => [...seen.values()].every((s) => s.aborted), { what: 'every held stream to see its cancel' });
    expect([...seen.values()].map(whyOf)).toEqual(Array(10).fill('cancelled'));
    expect(closingListeners(running)).toBe(before);
  });

  it('leaves no listener on the server closing signal after 1,000 streams and 1,000 unary calls, some cancelled; every handler signal aborts when its call ends', async () => {
    const seen: Seen = new Map();
    const { running, client } = await startScoped(seen);
    const before = closingListeners(running);
    const cancelled = new Set<string>();
    const batch = 100;

    for (let from = 0; from < 1_000; from += batch) {
      const calls: Array<Promise<unknown>> = [];
      for (let i = from; i < from + batch; i++) {
        const streamId = `stream-${i}`;
        const askId = `ask-${i}`;
        if (i % 10 === 0) {
          // Cancelled by the client once the handler runs.
          cancelled.add(streamId).add(askId);
          const stream = client.Count({ id: streamId, hold: true });
          const end = ended(stream);
          calls.push(firstMessage(stream).then(() => stream.cancel()), end);
          calls.push(
            new Promise<void>((resolve) => {
              const pending = client.Ask({ id: askId, hold: true }, () => resolve());
              void waitFor(() => seen.has(askId), { what: `${askId} to reach its handler` }).then(() => pending.cancel());
            }),
          );
        } else {
          calls.push(
            ended(client.Count({ id: streamId, to: 3 })).then(({ messages, status: s }) => {
              expect(s.code).toBe(status.OK);
              expect(messages).toHaveLength(3);
            }),
          );
          calls.push(
            new Promise<void>((resolve, reject) => client.Ask({ id: askId }, (err, response) => (err ? reject(err) : resolve(expect(response).toEqual({ id: askId }))))),
          );
        }
      }
      await Promise.all(calls);
    }

    expect(seen.size).toBe(2_000);
    // A finished call's signal is aborted before its answer leaves; a cancelled one as soon as the server hears of it.
    await waitFor(() => [...seen.values()].every((s) => s.aborted), { what: 'every handler signal to be aborted' });
    for (const [id, signal] of seen) expect([id, whyOf(signal)]).toEqual([id, cancelled.has(id) ? 'cancelled' : 'finished']);
    expect(cancelled.size).toBe(200);
    expect(closingListeners(running)).toBe(before);
  });

  it('aborts the signal of every open call when shutdown starts, and ends a wait on drained, so shutdown needs no force', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const seen: Seen = new Map();
    const flood: Flood = { blocked: false, returned: false };
    const { running, client } = await startScoped(seen, flood, logger);
    // A client that reads nothing: the flooding handler ends up waiting on drained.
    const stuck = client.Count({ id: 'stuck', flood: true });
    stuck.pause();
    const held = client.Count({ id: 'held', hold: true });
    const heldEnd = ended(held);
    await firstMessage(held);
    await waitFor(() => flood.blocked, { what: 'the flooding handler to wait on drained' });
    expect(flood.returned).toBe(false);

    const stopped = running.shutdown(60_000);
    expect(whyOf(seen.get('held'))).toBe('server closing');
    expect(whyOf(seen.get('stuck'))).toBe('server closing');
    // Its client still reads nothing, yet the handler is out of drained and done.
    await waitFor(() => flood.returned, { what: 'the flooding handler to leave drained on shutdown' });
    expect((await heldEnd).status.code).toBe(status.OK);
    // What it wrote before goes out once its client reads again; then the server can stop.
    const stuckEnd = ended(stuck);
    stuck.resume();
    expect((await stuckEnd).status.code).toBe(status.OK);
    await stopped;
    const warnings = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((e) => e.level === 'warn' && e.msg !== insecureWarning);
    expect(warnings).toEqual([]);
  });

  it('gives a handler called without a server a signal that aborts when the handler settles', async () => {
    const signals: AbortSignal[] = [];
    const handler = unary<Msg, Msg>(async (_request, _call, signal) => {
      signals.push(signal);
      return {};
    });
    const call = Object.assign(new EventEmitter(), { request: {}, cancelled: false });
    const answered = new Promise<void>((resolve) => handler(call as unknown as Parameters<typeof handler>[0], () => resolve()));
    expect(signals[0].aborted).toBe(false);
    await answered;
    expect(whyOf(signals[0])).toBe('finished');
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
