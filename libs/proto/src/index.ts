// The types every service shares (flotilla.engine.v1). Each service's own messages, client and
// service definition are in their own module, as in proto/: @flotilla/proto/cluster
// (flotilla.cluster.v1), @flotilla/proto/agent (flotilla.agent.v1), @flotilla/proto/discovery
// (flotilla.discovery.v1).
export * from './gen/flotilla/engine/v1/engine';
export { Timestamp } from './gen/google/protobuf/timestamp';
// The writer every generated encode takes, for code that writes a message from cached parts, and
// the reader every decode takes, for code that reads one field without decoding the message.
export { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
export * from './labels';
