import { makeClientConstructor, type Client, type ClientReadableStream, type ClientUnaryCall, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@flotilla/errors';
import { jsonMethod, type JsonMessage } from '@flotilla/testing';
import { call, dial, streamOf } from './client';
import { callLogLevel } from './call-log';
import { createLogger, type Logger } from './logger';
import { currentRequestId, maxRequestIdLength, newRequestId, requestIdKey, validRequestId, type CallContext } from './request-id';
import { serverStream, startServer, unary, type RunningServer } from './server';
import { status } from '@grpc/grpc-js';

// The request ID: read (or made) by every server, on each log line of the call, handed to the
// handler, and sent on by the calls the handler makes (a manager's to its agents).

const service = 'test.v1.Traced';
const definition: ServiceDefinition = {
  Ask: jsonMethod(service, 'Ask'),
  Fail: jsonMethod(service, 'Fail'),
  Relay: jsonMethod(service, 'Relay'),
  Count: jsonMethod(service, 'Count', true),
};
type UnaryMethod = (request: JsonMessage, metadata: import('@grpc/grpc-js').Metadata, options: object, callback: (err: ServiceError | null, response: JsonMessage) => void) => ClientUnaryCall;
interface TracedClient extends Client {
  Ask: UnaryMethod;
  Fail: UnaryMethod;
  Relay: UnaryMethod;
  Count(request: JsonMessage): ClientReadableStream<JsonMessage>;
}
const TracedClient = makeClientConstructor(definition, service) as unknown as new (...args: ConstructorParameters<typeof Client>) => TracedClient;

const servers: RunningServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const running of servers.splice(0)) await running.shutdown(1_000);
});

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}

/** A server whose handlers report the context they got; Relay calls `next` (another server) on the call's behalf. */
async function traced(logger: Logger, next?: () => TracedClient) {
  const seen: CallContext[] = [];
  const running = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    logger,
    services: [
      {
        name: service,
        definition,
        access: { Ask: [], Fail: [], Relay: [], Count: [] },
        implementation: {
          Ask: unary<JsonMessage, JsonMessage>(async (_request, _call, _signal, context) => {
            seen.push(context);
            context.logger.info('handled');
            return { requestId: context.requestId };
          }),
          Fail: unary<JsonMessage, JsonMessage>(async () => {
            throw InvalidArgumentError.field('x', 'y', 'is wrong');
          }),
          Relay: unary<JsonMessage, JsonMessage>(async (_request, _call, _signal, context) => {
            seen.push(context);
            // A hop of async work in between, as the cluster domain has.
            await new Promise((resolve) => setTimeout(resolve, 5));
            const client = next!();
            return call(client, client.Ask, {});
          }),
          Count: serverStream<JsonMessage, JsonMessage>(async (_request, stream, _signal, context) => {
            seen.push(context);
            stream.write({ requestId: context.requestId });
          }),
        },
      },
    ],
  });
  servers.push(running);
  const client = dial(TracedClient, `127.0.0.1:${running.port}`);
  clients.push(client);
  return { client, seen, running };
}

describe('request IDs', () => {
  it('a usable ID is kept; the handler gets it with a logger that puts it and the method on each line', async () => {
    const { logger, lines } = capture();
    const { client, seen } = await traced(logger);
    expect(await call(client, client.Ask, {}, { requestId: 'cli.Abc-123_x' })).toEqual({ requestId: 'cli.Abc-123_x' });
    expect(seen[0]).toMatchObject({ requestId: 'cli.Abc-123_x', method: `/${service}/Ask` });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'handled', requestId: 'cli.Abc-123_x', method: `/${service}/Ask` }));
    // One line per call, at debug, with the status and duration.
    const logged = lines.filter((l) => l.msg === 'call' && l.method === `/${service}/Ask`);
    expect(logged).toEqual([expect.objectContaining({ level: 'debug', code: 'OK', requestId: 'cli.Abc-123_x', durationMs: expect.any(Number) })]);
  });

  it('a missing ID is made; one too long or with other characters is replaced, never logged', async () => {
    const { logger, lines } = capture();
    const { client } = await traced(logger);
    const made = (await call<JsonMessage, JsonMessage>(client, client.Ask, {})).requestId as string;
    expect(made).toMatch(/^[0-9a-f]{16}$/);
    for (const bad of ['x'.repeat(maxRequestIdLength + 1), 'a b', 'id;{"level":"error"}', 'a/b']) {
      const got = (await call<JsonMessage, JsonMessage>(client, client.Ask, {}, { metadata: { [requestIdKey]: bad } })).requestId as string;
      expect(got).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(lines)).not.toContain(JSON.stringify(bad).slice(1, -1));
    }
    expect(lines.filter((l) => l.msg === 'call' && l.requestIdReplaced === true)).toHaveLength(4);
    expect(validRequestId('x'.repeat(maxRequestIdLength))).toBeDefined();
    expect(validRequestId(newRequestId())).toBeDefined();
  });

  it('a failed call is logged at info (the caller\'s mistake) with its code and details; server faults at warn', async () => {
    const { logger, lines } = capture();
    const { client } = await traced(logger);
    await expect(call(client, client.Fail, {}, { requestId: 'failing-1' })).rejects.toThrow(/is wrong/);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'call', level: 'info', code: 'INVALID_ARGUMENT', requestId: 'failing-1', method: `/${service}/Fail`, details: expect.stringContaining('is wrong') }));
    expect(callLogLevel(status.INTERNAL)).toBe('warn');
    expect(callLogLevel(status.UNAVAILABLE)).toBe('warn');
    expect(callLogLevel(status.NOT_FOUND)).toBe('info');
    expect(callLogLevel(status.CANCELLED)).toBe('debug');
  });

  it('streams carry it too, and a client dialled with one sends it on every call', async () => {
    const { logger } = capture();
    const { running } = await traced(logger);
    const client = dial(TracedClient, `127.0.0.1:${running.port}`, { requestId: 'command-7' });
    clients.push(client);
    const messages: JsonMessage[] = [];
    for await (const m of streamOf(client.Count({}))) messages.push(m);
    expect(messages).toEqual([{ requestId: 'command-7' }]);
    expect(await call(client, client.Ask, {})).toEqual({ requestId: 'command-7' });
    // A call's own wins over the client's.
    expect(await call(client, client.Ask, {}, { requestId: 'retry-2' })).toEqual({ requestId: 'retry-2' });
  });

  it('calls a handler makes while its call is open carry its ID on to the next server', async () => {
    const downstream = capture();
    const agent = await traced(downstream.logger);
    const upstream = capture();
    const manager = await traced(upstream.logger, () => agent.client);
    expect(await call(manager.client, manager.client.Relay, {}, { requestId: 'run-42' })).toEqual({ requestId: 'run-42' });
    expect(upstream.lines).toContainEqual(expect.objectContaining({ msg: 'call', method: `/${service}/Relay`, requestId: 'run-42' }));
    expect(downstream.lines).toContainEqual(expect.objectContaining({ msg: 'call', method: `/${service}/Ask`, requestId: 'run-42' }));
    // Outside a call (or after it ended) nothing is carried on.
    expect(currentRequestId()).toBeUndefined();
    const other = (await call<JsonMessage, JsonMessage>(agent.client, agent.client.Ask, {})).requestId;
    expect(other).not.toBe('run-42');
  });
});
