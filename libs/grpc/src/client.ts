import {
  InterceptingCall,
  Metadata,
  type CallOptions,
  ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { fromServiceError, isServiceError } from './errors';
import { clientKeepaliveOptions, type Keepalive } from './keepalive';
import { channelCredentials, clientSecureContext, hasTls, type TlsFiles } from './tls';
import { currentRequestId, requestIdKey } from './request-id';
import { isIP } from 'node:net';
import { checkServerIdentity, type SecureContext } from 'node:tls';

export interface DialOptions {
  tls?: TlsFiles;
  keepalive?: Partial<Keepalive>;
  /** Deadline for every unary call that sets none of its own. */
  defaultDeadlineMs?: number;
  /** Extra channel options, e.g. back-off limits. */
  channelOptions?: ChannelOptions;
  /**
   * The request ID every call of this client sends (a CLI command's). Without it, a call sends the
   * request ID of the server call it is made for, if any (see request-id.ts).
   */
  requestId?: string;
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

/**
 * Sends `flotilla-request-id` with every call, unary or streaming, that does not set it: the
 * client's own, else that of the server call the caller is answering while it is open. Read when
 * the call starts, in the caller's async context.
 */
export function requestIdInterceptor(fixed?: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        const requestId = fixed ?? currentRequestId();
        if (requestId !== undefined && metadata.get(requestIdKey).length === 0) metadata.set(requestIdKey, requestId);
        next(metadata, listener);
      },
    });
}

export type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ChannelOptions> & { interceptors?: Interceptor[] },
) => C;

/**
 * grpc-js sends the target host as the TLS server name, and Node deprecates (DEP0123) an IP
 * address there. For an IP target, send a placeholder name instead and check the certificate
 * against the IP itself, so the check is as strict and nothing is printed.
 */
const ipTargetServerName = 'ip-address.flotilla.invalid';

function ipHostOf(address: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  const host = bracketed ? bracketed[1] : address.replace(/:\d+$/, '');
  return isIP(host) ? host : undefined;
}

/**
 * One TLS context per identity: a manager dialling 10,000 agents reads and parses its key once,
 * not 10,000 times, whatever their addresses (each IP target gets its own light credentials object
 * over the shared context). Files are read when first used; a new certificate takes a restart (as
 * documented).
 */
const contextCache = new Map<string, SecureContext>();
const maxCachedContexts = 64;

function sharedCredentials(tls: TlsFiles | undefined, ip: string | undefined): ChannelCredentials {
  if (!hasTls(tls)) return channelCredentials(undefined);
  const key = JSON.stringify([tls.ca ?? '', tls.cert ?? '', tls.key ?? '']);
  let context = contextCache.get(key);
  if (!context) {
    context = clientSecureContext(tls);
    if (contextCache.size >= maxCachedContexts) contextCache.clear();
    contextCache.set(key, context);
  }
  return ChannelCredentials.createFromSecureContext(context, ip ? { checkServerIdentity: (_name, cert) => checkServerIdentity(ip, cert) } : {});
}

/** A generated client on its own channel, with TLS, keepalive and default deadlines. */
export function dial<C extends Client>(Ctor: ClientConstructor<C>, address: string, options: DialOptions = {}): C {
  const ip = hasTls(options.tls) && !options.channelOptions?.['grpc.ssl_target_name_override'] ? ipHostOf(address) : undefined;
  const credentials = sharedCredentials(options.tls, ip);
  return new Ctor(address, credentials, {
    ...(ip ? { 'grpc.ssl_target_name_override': ipTargetServerName } : {}),
    ...clientKeepaliveOptions(options.keepalive),
    // Nothing serves channelz: its bookkeeping would only cost on every call.
    'grpc.enable_channelz': 0,
    ...options.channelOptions,
    interceptors: [deadlineInterceptor(options.defaultDeadlineMs ?? defaultDeadlineMs), requestIdInterceptor(options.requestId)],
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
  /** Sent with the call, e.g. `flotilla-acting-role` on a manager's create. */
  metadata?: Readonly<Record<string, string>>;
  /** This call's request ID, over the client's own and the current server call's (see dial). */
  requestId?: string;
}

/** Calls a generated callback-style unary method as a promise; a failed call rejects with its typed error. */
export function call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req, settings: CallSettings = {}): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const options: Partial<CallOptions> = settings.deadlineMs ? { deadline: Date.now() + settings.deadlineMs } : {};
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(settings.metadata ?? {})) metadata.set(key, value);
    if (settings.requestId !== undefined) metadata.set(requestIdKey, settings.requestId);
    const pending = method.call(client, request, metadata, options, (err, response) => {
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
