import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  Server,
  status,
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
import { silentLogger, type Logger } from './logger';
import { serverCredentials, type TlsFiles } from './tls';
import { serverKeepaliveOptions, type Keepalive } from './keepalive';

export interface ServiceRegistration {
  /** Fully qualified name, as the health service reports it, e.g. `flotilla.v1.EngineAgentService`. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface ServerOptions {
  /** `host:port`; port 0 picks a free one. */
  address: string;
  services: ServiceRegistration[];
  tls?: TlsFiles;
  /** A `buf build` descriptor set of the services, served through reflection. */
  descriptorSetPath?: string;
  keepalive?: Partial<Keepalive>;
  logger?: Logger;
}

export interface RunningServer {
  server: Server;
  /** The bound port, resolved when `address` asked for port 0. */
  port: number;
  health: HealthImplementation;
  /** Aborted when shutdown starts, so long streams can end themselves cleanly. */
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
  const server = new Server(serverKeepaliveOptions(options.keepalive));
  const health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  reflectionService([healthDescriptorSetPath, ...(options.descriptorSetPath ? [options.descriptorSetPath] : [])]).addToServer(server);
  for (const service of options.services) {
    server.addService(service.definition, service.implementation);
    health.setStatus(service.name, 'SERVING');
  }
  const credentials = serverCredentials(options.tls);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const closing = new AbortController();
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
  logger.info('listening', { address: options.address, port, tls: Boolean(options.tls?.cert) });
  return { server, port, health, closing: closing.signal, shutdown };
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

/** A unary handler written as an async function; thrown typed errors become their status. */
export function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/** A server-streaming handler written as an async function that resolves when the stream is done. */
export function serverStream<Req, Res>(handler: (request: Req, call: ServerWritableStream<Req, Res>) => Promise<void>) {
  return (call: ServerWritableStream<Req, Res>): void => {
    handler(call.request, call).then(
      () => {
        if (!call.cancelled && !call.writableEnded) call.end();
      },
      (err: unknown) => {
        if (call.cancelled || call.writableEnded) return;
        // grpc-js turns an 'error' event into the call's final status.
        call.emit('error', toServiceError(err));
      },
    );
  };
}

/** Resolves when a server stream's client has read enough for writes to go on, or the call is over. */
export function drained(call: ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
    call.once('close', done);
  });
}

export { status };
