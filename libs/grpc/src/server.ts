import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  Server,
  status,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { FileDescriptorProto, FileDescriptorSet } from 'protobufjs/ext/descriptor';
import { toServiceError } from './errors';
import { InvalidArgumentError, PermissionDeniedError } from '@flotilla/errors';
import { silentLogger, type Logger } from './logger';
import { serverCredentials } from './tls';
import { identify, mayCall, rememberCaller, type MethodAccess } from './access';
import { CallerLimits, defaultCallerLimits, type CallerLimitsOptions } from './caller-limits';
import { insecureWarning, type Security } from './security';
import { serverKeepaliveOptions, type Keepalive } from './keepalive';
import { bindCallIdentity, bindServerClosing, openCallScope } from './call-scope';
import { observingInterceptor, type CallObserver } from './call-observer';
import { callLogInterceptor } from './call-log';
import { requestIdFrom, runAsCall, type CallContext } from './request-id';
import { UndecodableRequest } from './undecodable-request';

export interface ServiceRegistration {
  /** Fully qualified name, as the health service reports it, e.g. `flotilla.agent.v1.EngineAgentService`. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /** Who may call each method; a method missing here answers PERMISSION_DENIED to everyone. */
  access: MethodAccess;
  /** Methods that change state: each call takes from the caller's rate budget. */
  mutating?: readonly string[];
  /**
   * Unary methods that may stay open without end (a wait for a container to stop): each open call
   * counts against the caller's stream limit, as a stream does.
   */
  longLived?: readonly string[];
}

export interface ServerOptions {
  /** `host:port`; port 0 picks a free one. */
  address: string;
  services: ServiceRegistration[];
  /** Mutual TLS with roles from client certificates, or plaintext on loopback (see security.ts). */
  security: Security;
  /** Per-caller stream and rate limits. */
  callerLimits?: CallerLimitsOptions;
  /** A `buf build` descriptor set of the services, served through reflection. */
  descriptorSetPath?: string;
  keepalive?: Partial<Keepalive>;
  logger?: Logger;
  /** The largest request message accepted; larger ones are answered RESOURCE_EXHAUSTED. */
  maxReceiveMessageBytes?: number;
  /** Closes connections idle (no call) for this long; see defaultMaxConnectionIdleMs. */
  maxConnectionIdleMs?: number;
  /** Sees every call of the server start and end, with its method and final status (metrics). */
  observeCall?: CallObserver;
}

/** grpc-js's own default, made explicit so a service's limit is a decision, not an accident. */
export const defaultMaxReceiveMessageBytes = 4 * 1024 * 1024;

export interface RunningServer {
  server: Server;
  /** The bound port, resolved when `address` asked for port 0. */
  port: number;
  health: HealthImplementation;
  /**
   * Aborted when shutdown starts. Handlers need not listen to it: the signal `unary` and
   * `serverStream` give each call aborts with it (see call-scope.ts).
   */
  closing: AbortSignal;
  /** Stops accepting calls, lets open calls finish, forces the rest after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** The standard health service's descriptor set, built by `buf build` (see tools/proto-gen.sh). */
export const healthDescriptorSetPath = path.join(__dirname, '..', 'descriptor', 'health.binpb');

/**
 * What reflection serves: the files of each descriptor set as `buf build` wrote them. proto-loader
 * would merge a package's files and drop their imports, and it misnames map entries of the health
 * proto, both of which reflection clients cannot resolve. The reflection service reads only
 * `fileDescriptorProtos`.
 */
const reflectionServices = new Map<string, ReflectionService>();

/** One reflection service per set of descriptors, shared by every server of the process (hollow engines run thousands). */
function reflectionService(descriptorSetPaths: string[]): ReflectionService {
  const key = descriptorSetPaths.join('\0');
  let service = reflectionServices.get(key);
  if (!service) reflectionServices.set(key, (service = new ReflectionService(reflectionPackage(descriptorSetPaths))));
  return service;
}

function reflectionPackage(descriptorSetPaths: string[]): protoLoader.PackageDefinition {
  const pkg: protoLoader.PackageDefinition = {};
  for (const file of descriptorSetPaths) {
    const set = FileDescriptorSet.decode(readFileSync(file)) as unknown as { file: object[] };
    const fileDescriptorProtos = set.file.map((f) => Buffer.from(FileDescriptorProto.encode(f).finish()));
    pkg[file] = { fileDescriptorProtos } as unknown as protoLoader.PackageDefinition[string];
  }
  return pkg;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? silentLogger;
  const server = new Server({
    ...serverKeepaliveOptions(options.keepalive, options.maxConnectionIdleMs),
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? defaultMaxReceiveMessageBytes,
    // Nothing serves channelz: its bookkeeping would only cost on every call.
    'grpc.enable_channelz': 0,
    // The call log first: it settles the call's request ID in its metadata before anything reads it.
    interceptors: [callLogInterceptor(logger), ...(options.observeCall ? [observingInterceptor(options.observeCall)] : [])],
  });
  const health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  reflectionService([healthDescriptorSetPath, ...(options.descriptorSetPath ? [options.descriptorSetPath] : [])]).addToServer(server);
  const limits = new CallerLimits(options.callerLimits ?? defaultCallerLimits);
  const insecure = options.security.kind === 'insecure';
  const closing = new AbortController();
  for (const service of options.services) {
    const guarded = guardService(service, insecure, limits, logger, closing.signal);
    server.addService(guarded.definition, guarded.implementation);
    health.setStatus(service.name, 'SERVING');
  }
  if (insecure) logger.warn(insecureWarning, { address: options.address });
  const credentials = options.security.kind === 'mtls' ? serverCredentials(options.security.tls) : serverCredentials(undefined);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  let stopped: Promise<void> | undefined;
  const shutdown = (graceMs = 5000): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      logger.info('shutting down', { graceMs });
      for (const service of options.services) health.setStatus(service.name, 'NOT_SERVING');
      health.setStatus('', 'NOT_SERVING');
      closing.abort();
      const force = setTimeout(() => {
        logger.warn('calls still open after the grace period; closing them', { graceMs });
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    return stopped;
  };
  logger.info('listening', { address: options.address, port, tls: !insecure });
  return { server, port, health, closing: closing.signal, shutdown };
}

type AnyHandler = (call: ServerUnaryCall<unknown, unknown>, callback?: sendUnaryData<unknown>) => void;

/**
 * Every method of a service behind the same gate: the caller's role must be allowed, a mutating
 * call must fit the caller's rate, a stream must fit the caller's stream limit. Refusals are
 * answered before the handler runs, and logged with the caller's identity.
 */

/**
 * Decoding never throws: grpc-js would answer undecodable bytes with INTERNAL, blaming the
 * server; they are the caller's bad request, answered INVALID_ARGUMENT by the gate.
 */
function tolerantDefinition(definition: ServiceDefinition): ServiceDefinition {
  const tolerant: Record<string, ServiceDefinition[string]> = {};
  for (const [method, m] of Object.entries(definition)) {
    tolerant[method] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (err) {
          return new UndecodableRequest(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return tolerant;
}

function guardService(
  service: ServiceRegistration,
  insecure: boolean,
  limits: CallerLimits,
  logger: Logger,
  closing: AbortSignal,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const mutating = new Set(service.mutating ?? []);
  const longLived = new Set(service.longLived ?? []);
  const guarded: UntypedServiceImplementation = {};
  for (const [method, definition] of Object.entries(service.definition)) {
    const handler = service.implementation[method] as AnyHandler | undefined;
    if (!handler) continue;
    const allowed = service.access[method];
    const wrapped: AnyHandler = (call, callback) => {
      // The call log's interceptor has put a usable request ID in the metadata (or made one).
      const { requestId } = requestIdFrom(call.metadata);
      const identity = { requestId, method: definition.path, logger: logger.child({ requestId, method: definition.path }) };
      const log = identity.logger;
      const caller = identify(call, insecure);
      const key = `${caller.role ?? '-'}/${caller.name}`;
      const refuse = (err: unknown) => {
        if (callback) callback(toServiceError(err));
        else (call as unknown as NodeJS.EventEmitter).emit('error', toServiceError(err));
      };
      if (!mayCall(caller, allowed)) {
        log.warn('permission denied', { caller: caller.name, role: caller.role ?? null, peer: caller.peer });
        refuse(
          new PermissionDeniedError(
            `${definition.path}: ${caller.role ? `role "${caller.role}"` : 'a certificate with no Flotilla role (OU)'} of "${caller.name}" may not call it; allowed: ${allowed?.length ? allowed.join(', ') : 'no one'}`,
          ),
        );
        return;
      }
      const request = (call as { request?: unknown }).request;
      if (request instanceof UndecodableRequest) {
        refuse(InvalidArgumentError.fields([{ field: 'request', description: `the bytes sent to ${definition.path} are not its request message (${request.why})` }]));
        return;
      }
      let release: (() => void) | undefined;
      try {
        if (mutating.has(method)) limits.takeMutating(key, definition.path);
        if (definition.responseStream || definition.requestStream || longLived.has(method)) release = limits.openStream(key, definition.path);
      } catch (err) {
        log.warn('caller limit reached', { caller: caller.name, peer: caller.peer, error: (err as Error).message });
        refuse(err);
        return;
      }
      if (release) {
        const emitter = call as unknown as NodeJS.EventEmitter;
        const done = release;
        emitter.once('cancelled', done);
        emitter.once('finish', done);
        emitter.once('close', done);
        emitter.once('error', done);
        // A unary call ends with its answer.
        if (callback) {
          const answer = callback;
          callback = ((...args: Parameters<typeof answer>) => {
            done();
            answer(...args);
          }) as typeof callback;
        }
      }
      rememberCaller(call, caller);
      // Read by the call's scope, which `unary` and `serverStream` open.
      bindServerClosing(call, closing);
      bindCallIdentity(call, identity);
      // The calls the handler makes while this call is open carry its request ID (see client.ts).
      runAsCall(identity, () => handler(call, callback));
    };
    guarded[method] = wrapped as UntypedServiceImplementation[string];
  }
  return { definition: tolerantDefinition(service.definition), implementation: guarded };
}

/** Shuts the server down gracefully on SIGTERM or SIGINT, then exits. */
export function shutdownOnSignals(running: Pick<RunningServer, 'shutdown'>, logger: Logger, graceMs = 5000, beforeExit?: () => Promise<void> | void): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info('signal received', { signal });
    void (async () => {
      await running.shutdown(graceMs);
      await beforeExit?.();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * A unary handler written as an async function; thrown typed errors become their status. `signal`
 * aborts when the call ends (answered, cancelled, past its deadline) or the server starts closing;
 * `context` holds the same signal with the call's request ID and a logger that puts it, and the
 * method, on every line.
 */
export function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>, signal: AbortSignal, context: CallContext) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const scope = openCallScope(call);
    handler(call.request, call, scope.signal, scope.context).then(
      (response) => {
        scope.end('finished');
        callback(null, response);
      },
      (err: unknown) => {
        scope.end('errored');
        callback(toServiceError(err));
      },
    );
  };
}

/**
 * A server-streaming handler written as an async function that resolves when the stream is done.
 * `signal` aborts when the call ends (handler done, cancelled, closed) or the server starts
 * closing; a handler waits on it instead of on the call's events or the server's closing signal.
 * `context` is as for `unary`.
 */
export function serverStream<Req, Res>(handler: (request: Req, call: ServerWritableStream<Req, Res>, signal: AbortSignal, context: CallContext) => Promise<void>) {
  return (call: ServerWritableStream<Req, Res>): void => {
    const scope = openCallScope(call);
    handler(call.request, call, scope.signal, scope.context).then(
      () => {
        scope.end('finished');
        if (!call.cancelled && !call.writableEnded) call.end();
      },
      (err: unknown) => {
        scope.end('errored');
        if (call.cancelled || call.writableEnded) return;
        // grpc-js turns an 'error' event into the call's final status.
        call.emit('error', toServiceError(err));
      },
    );
  };
}

/**
 * A client-streaming handler written as an async function, as `unary`: it reads the caller's
 * messages with `requestsOf(call, signal)` and resolves with the one answer.
 */
export function clientStream<Req, Res>(handler: (call: ServerReadableStream<Req, Res>, signal: AbortSignal, context: CallContext) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>): void => {
    const scope = openCallScope(call);
    handler(call, scope.signal, scope.context).then(
      (response) => {
        scope.end('finished');
        callback(null, response);
      },
      (err: unknown) => {
        scope.end('errored');
        callback(toServiceError(err));
      },
    );
  };
}

/**
 * A bidirectional-streaming handler written as an async function, as `serverStream`: it reads the
 * caller's messages with `requestsOf(call, signal)` and writes its own; resolving ends the call OK.
 */
export function duplexStream<Req, Res>(handler: (call: ServerDuplexStream<Req, Res>, signal: AbortSignal, context: CallContext) => Promise<void>) {
  return (call: ServerDuplexStream<Req, Res>): void => {
    const scope = openCallScope(call);
    handler(call, scope.signal, scope.context).then(
      () => {
        scope.end('finished');
        if (!call.cancelled && !call.writableEnded) call.end();
      },
      (err: unknown) => {
        scope.end('errored');
        if (call.cancelled || call.writableEnded) return;
        call.emit('error', toServiceError(err));
      },
    );
  };
}

export { status };
