import {
  InterceptingCall,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { fromServiceError, isServiceError } from './errors';
import { clientKeepaliveOptions, type Keepalive } from './keepalive';
import { channelCredentials, type TlsFiles } from './tls';

export interface DialOptions {
  tls?: TlsFiles;
  keepalive?: Partial<Keepalive>;
  /** Deadline for every unary call that sets none of its own. */
  defaultDeadlineMs?: number;
  /** Extra channel options, e.g. back-off limits. */
  channelOptions?: ChannelOptions;
}

export const defaultDeadlineMs = 30_000;

/**
 * Gives every unary call a deadline unless it set one. Streams are long-lived by design
 * (Watch, logs, events) and rely on keepalive and cancellation instead.
 */
export function deadlineInterceptor(deadlineMs: number): Interceptor {
  return (options, nextCall) => {
    const definition = options.method_definition;
    if (options.deadline === undefined && !definition.requestStream && !definition.responseStream) {
      return new InterceptingCall(nextCall({ ...options, deadline: Date.now() + deadlineMs }));
    }
    return new InterceptingCall(nextCall(options));
  };
}

export type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ChannelOptions> & { interceptors?: Interceptor[] },
) => C;

/** A generated client on its own channel, with TLS, keepalive and default deadlines. */
export function dial<C extends Client>(Ctor: ClientConstructor<C>, address: string, options: DialOptions = {}): C {
  return new Ctor(address, channelCredentials(options.tls), {
    ...clientKeepaliveOptions(options.keepalive),
    ...options.channelOptions,
    interceptors: [deadlineInterceptor(options.defaultDeadlineMs ?? defaultDeadlineMs)],
  });
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface CallSettings {
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** Calls a generated callback-style unary method as a promise; a failed call rejects with its typed error. */
export function call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req, settings: CallSettings = {}): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const options: Partial<CallOptions> = settings.deadlineMs ? { deadline: Date.now() + settings.deadlineMs } : {};
    const pending = method.call(client, request, new Metadata(), options, (err, response) => {
      settings.signal?.removeEventListener('abort', cancel);
      if (err) reject(fromServiceError(err));
      else resolve(response);
    });
    const cancel = (): void => pending.cancel();
    if (settings.signal?.aborted) cancel();
    else settings.signal?.addEventListener('abort', cancel, { once: true });
  });
}

/** Reads a server stream as an async iterable; a failed stream throws its typed error. */
export async function* streamOf<Res>(stream: ClientReadableStream<Res>): AsyncGenerator<Res> {
  try {
    for await (const message of stream) yield message as Res;
  } catch (err) {
    throw isServiceError(err) ? fromServiceError(err) : err;
  } finally {
    stream.cancel();
  }
}
