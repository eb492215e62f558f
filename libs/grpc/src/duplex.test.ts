import { jsonMethod, waitFor } from '@flotilla/testing';
import { Client, credentials, makeClientConstructor, Metadata, status, type ClientDuplexStream, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { firstStart, requestsOf } from './duplex';
import { duplexStream, startServer, type RunningServer } from './server';

// Two-way calls on a real server on 127.0.0.1:0: the handler helper, the pull-based reader of the
// caller's messages, and the start-first protocol of ExecContainer and AttachContainer.

type Msg = Record<string, unknown>;
const definition: ServiceDefinition = { Talk: jsonMethod('test.v1.Talk', 'Talk', true, true) };
interface TalkClient extends Client {
  Talk(): ClientDuplexStream<Msg, Msg>;
}
const TalkClient = makeClientConstructor(definition, 'Talk') as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => TalkClient;

let running: RunningServer;
let client: TalkClient;
/** What the handler saw, per call, and whether its handler has returned. */
const seen: Array<{ messages: Msg[]; ended: boolean }> = [];

beforeAll(async () => {
  running = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'insecure' },
    services: [
      {
        name: 'test.v1.Talk',
        definition,
        access: { Talk: ['operator'] },
        implementation: {
          Talk: duplexStream<Msg, Msg>(async (call, signal) => {
            const requests = requestsOf<{ request?: { $case: string; value: unknown } }>(call, signal);
            const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
            if (start === undefined) return;
            const mine = { messages: [] as Msg[], ended: false };
            seen.push(mine);
            call.write({ started: start });
            try {
              for await (const message of requests) {
                mine.messages.push(message);
                if ((message.request as { value?: string } | undefined)?.value === 'stop') break;
                call.write({ echo: message.request });
              }
              // Leaving the loop early leaves the call open: this answer still goes out.
              call.write({ done: mine.messages.length });
            } finally {
              mine.ended = true;
            }
          }),
        },
      },
    ],
  });
  client = new TalkClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await running?.shutdown(1000);
});

/** Sends the messages, half-closes, and reads every answer; rejects with the call's error. */
function talk(messages: Msg[]): Promise<Msg[]> {
  const call = client.Talk();
  for (const message of messages) call.write(message);
  call.end();
  const answers: Msg[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (m: Msg) => answers.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(answers));
  });
}

it('reads the start, then each message in order until the caller half-closes', async () => {
  const answers = await talk([{ request: { $case: 'start', value: 'go' } }, { request: { $case: 'stdin', value: 'a' } }, { request: { $case: 'stdin', value: 'b' } }]);
  expect(answers).toEqual([{ started: 'go' }, { echo: { $case: 'stdin', value: 'a' } }, { echo: { $case: 'stdin', value: 'b' } }, { done: 2 }]);
});

it('leaving the loop early leaves the call open for the answer', async () => {
  const answers = await talk([{ request: { $case: 'start', value: 'go' } }, { request: { $case: 'stdin', value: 'stop' } }, { request: { $case: 'stdin', value: 'never read' } }]);
  expect(answers).toEqual([{ started: 'go' }, { done: 1 }]);
});

it('answers a first message without start INVALID_ARGUMENT naming start', async () => {
  const err = (await talk([{ request: { $case: 'stdin', value: 'a' } }]).catch((e: ServiceError) => e)) as ServiceError;
  expect(err.code).toBe(status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/^start "stdin": the first message must carry start/);
});

it('answers bytes that are not a message INVALID_ARGUMENT naming the request, and goes on serving', async () => {
  const raw = new Client(`127.0.0.1:${running.port}`, credentials.createInsecure());
  try {
    const call = raw.makeBidiStreamRequest('/test.v1.Talk/Talk', (b: Buffer) => b, (b: Buffer) => b, new Metadata());
    call.write(Buffer.from('{"request": {"$case": "start", "value": 1}}'));
    call.write(Buffer.from('not json'));
    call.end();
    const err = await new Promise<ServiceError>((resolve) => {
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^request a message of the stream is not its request message/);
  } finally {
    raw.close();
  }
  expect(await talk([{ request: { $case: 'start', value: 'again' } }])).toEqual([{ started: 'again' }, { done: 0 }]);
});

it('ends the handler when the caller cancels: the loop over the caller\'s messages ends', async () => {
  const call = client.Talk();
  call.on('error', () => undefined);
  call.write({ request: { $case: 'start', value: 'cancel me' } });
  const before = seen.length;
  const handler = await waitFor(() => seen[before], { what: 'the handler to have the start' });
  expect(handler.ended).toBe(false);
  call.cancel();
  await waitFor(() => handler.ended || undefined, { what: 'the handler to return after the cancel' });
  // A next call is served as usual.
  expect(await talk([{ request: { $case: 'start', value: 'after' } }])).toEqual([{ started: 'after' }, { done: 0 }]);
});
