// A gRPC service defined by hand with JSON messages, for tests of the gRPC plumbing itself
// (servers, gates, observers) that need no .proto file.
import type { MethodDefinition } from '@grpc/grpc-js';

export type JsonMessage = Record<string, unknown>;

const toJson = (value: JsonMessage): Buffer => Buffer.from(JSON.stringify(value));
const fromJson = (buffer: Buffer): JsonMessage => JSON.parse(buffer.toString('utf8')) as JsonMessage;

/** One method of the JSON service `service` (e.g. `test.v1.Probe`): unary, a server stream, or (with `requestStream`) a client or two-way stream. */
export function jsonMethod(service: string, name: string, responseStream = false, requestStream = false): MethodDefinition<JsonMessage, JsonMessage> {
  return {
    path: `/${service}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: toJson,
    requestDeserialize: fromJson,
    responseSerialize: toJson,
    responseDeserialize: fromJson,
    originalName: name,
  };
}
