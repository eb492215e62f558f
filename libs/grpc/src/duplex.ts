import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '@flotilla/errors';
import { firstEvent } from './first-event';
import { UndecodableRequest } from './undecodable-request';

/**
 * The caller's messages of a client- or bidirectional-streaming call, one at a time: grpc-js
 * reads the next message off the connection only when this asks for it, so a caller that sends
 * faster than the handler takes is held back by HTTP/2 flow control, not buffered. Ends when the
 * caller half-closes or `signal` aborts; a message that does not decode throws INVALID_ARGUMENT.
 * Leaving the loop early leaves the call open (unlike a Readable's own iterator, which destroys it).
 */
export async function* requestsOf<Req>(call: Readable, signal: AbortSignal): AsyncGenerator<Req> {
  for (;;) {
    if (signal.aborted) return;
    const message = call.read() as Req | UndecodableRequest | null;
    if (message instanceof UndecodableRequest) {
      throw InvalidArgumentError.fields([{ field: 'request', description: `a message of the stream is not its request message (${message.why})` }]);
    }
    if (message !== null) {
      yield message;
      continue;
    }
    if (call.readableEnded || call.destroyed) return;
    await firstEvent(call, ['readable', 'end', 'close'], signal);
  }
}

/**
 * The first message of a two-way call whose protocol opens with a `start` (ExecContainer,
 * AttachContainer): what `pick` finds in it, else INVALID_ARGUMENT naming `start`. Undefined when
 * the caller closed its side without sending anything.
 */
export async function firstStart<T extends { request?: { $case: string; value: unknown } }, S>(requests: AsyncIterator<T>, pick: (request: T['request']) => S | undefined): Promise<S | undefined> {
  const first = await requests.next();
  if (first.done) return undefined;
  const start = pick(first.value.request);
  if (start === undefined) throw InvalidArgumentError.field('start', first.value.request?.$case ?? 'empty', 'the first message must carry start');
  return start;
}
