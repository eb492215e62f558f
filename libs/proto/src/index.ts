import * as path from 'node:path';

export * from './gen/flotilla/v1/engine';
export * from './gen/flotilla/v1/engine_agent';
export * from './gen/flotilla/v1/cluster';
export * from './gen/flotilla/v1/discovery';
export { Timestamp } from './gen/google/protobuf/timestamp';
export * from './labels';

/** The descriptor set of every service in proto/, for server reflection. */
export const descriptorSetPath = path.join(__dirname, '..', 'descriptor', 'flotilla.binpb');
