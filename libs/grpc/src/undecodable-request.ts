/**
 * The bytes of a request that did not decode as its method's message. Decoding never throws
 * (see server.ts): grpc-js would answer such bytes with INTERNAL, blaming the server, when they
 * are the caller's bad request, answered INVALID_ARGUMENT.
 */
export class UndecodableRequest {
  constructor(readonly why: string) {}
}
