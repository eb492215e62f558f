import { firstEvent } from './first-event';

/** What `sendAll` needs of a client call whose caller streams (client or two-way). */
export interface RequestWriter<Req> {
  write(message: Req): boolean;
  end(): void;
  cancel(): void;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Writes a message for each item of `items` to the call, only as fast as the call takes them
 * (grpc-js's buffer drained), then half-closes it. Stops when the call ends or `signal` aborts. A
 * failure of `items` (a bad message from whoever feeds them) cancels the call and is kept in
 * `failure`: the call's own error is then only its consequence.
 */
export function sendAll<T, Req>(call: RequestWriter<Req>, items: AsyncIterable<T>, message: (item: T) => Req, signal?: AbortSignal): { readonly failure: unknown } {
  const outcome: { failure: unknown } = { failure: undefined };
  void (async () => {
    for await (const item of items) {
      if (signal?.aborted || call.writableEnded || call.destroyed) return;
      if (!call.write(message(item))) await firstEvent(call, ['drain', 'close', 'error'], signal);
    }
    if (!signal?.aborted && !call.writableEnded) call.end();
  })().catch((err: unknown) => {
    outcome.failure = err;
    call.cancel();
  });
  return outcome;
}
